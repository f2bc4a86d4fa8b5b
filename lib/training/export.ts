/**
 * Exporting trained models to `results/models/<name>/`: the weights in tfjs format, the solver's
 * config, the training log (CSV + JSON), `train.json` (command, steps, wall time, engine, final
 * loss, weights SHA-256, the training config) and the training curve, with `SHA256SUMS`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../engine/tf';
import { projectPath } from '../io/paths';
import { decodeWeightFiles, loadLearnedSolver, saveLearnedSolver } from '../solvers/learned/io';
import { LearnedSolver } from '../solvers/learned/types';
import { FolderFiles, writeFolderAtomic } from '../util/atomic';
import { readSha256Sums, sha256, verifyChecksums } from '../util/checksums';
import { checkpointLog, CheckpointState, HorizonChange, TrainingSession } from './checkpoint';
import { TrainConfig } from './config';
import { InitRecord } from './provenance';
import { LogEntry, logToCsv, logToJson } from './log';

/** A path relative to the project root when inside it (records stay valid in another clone). */
function projectRelative(p: string): string {
  const rel = path.relative(projectPath(), path.resolve(p));
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

/** `train.json` of an exported model. */
export interface TrainRecord {
  name: string;
  kind: string;
  paramCount: number;
  command: string | null;
  steps: number;
  wallTimeSeconds: number;
  engine: string;
  tfjs: string;
  finalLoss: number;
  weightsSha256: string;
  runDir: string;
  date: string;
  trainConfig: TrainConfig;
  horizons?: HorizonChange[];
  snapshotOf?: string;
  /** What training began from (`trainConfig.init`), as it was then: its weights' SHA-256 and the patches along its chain. */
  initFrom?: InitRecord;
  /** The weights are the mean of these checkpoints' weights (stochastic weight averaging), in step order. */
  averagedFrom?: AveragedCheckpoint[];
  /** The command of each training session, in step order (`command` is that of the export: the last session's, or an export script's). */
  sessions?: TrainingSession[];
}

/** One checkpoint of a weight average: its step, folder and `weights.bin` SHA-256. */
export interface AveragedCheckpoint {
  step: number;
  checkpoint: string;
  weightsSha256: string;
}

/** What {@link exportTrainedModel} records besides the weights. */
export interface ExportInfo {
  /** The training configuration (model config with defaults filled in). */
  trainConfig: TrainConfig;
  /** Steps done. */
  step: number;
  /** Seconds of training (all sessions). */
  wallTime: number;
  engine: string;
  /** The command line that trained it (null when unknown). */
  command: string | null;
  /** The run folder of its checkpoints. */
  runDir: string;
  log: readonly LogEntry[];
  horizons?: HorizonChange[];
  /** The training curve as PNG, when the caller drew one (training itself draws nothing). */
  curvePng?: Uint8Array;
  /** For a snapshot of an unfinished run: the checkpoint it was taken from. */
  snapshotOf?: string;
  /** What training began from, as recorded in the checkpoint state. */
  initFrom?: InitRecord;
  /** The checkpoints whose mean the weights are, when they were averaged. */
  averagedFrom?: AveragedCheckpoint[];
  /** The training sessions' commands, as the checkpoint state recorded them. */
  sessions?: TrainingSession[];
}

/**
 * Writes a trained solver and its training record to `exportDir` (atomically, with SHA256SUMS).
 * @returns the folder
 * @example
 * await exportTrainedModel(solver, 'results/models/rim_gray', { trainConfig, step, wallTime, engine, command, runDir, log });
 */
export async function exportTrainedModel(solver: LearnedSolver, exportDir: string, info: ExportInfo): Promise<string> {
  const weights = solver.getWeights();
  const weightBytes = new Uint8Array((await tf.io.encodeWeights(weights)).data);
  tf.dispose(weights.map((w) => w.tensor));
  const last = info.log.slice(-Math.min(100, info.log.length));
  const record: TrainRecord = {
    name: info.trainConfig.name,
    kind: solver.kind,
    paramCount: solver.paramCount(),
    command: info.command,
    steps: info.step,
    wallTimeSeconds: info.wallTime,
    engine: info.engine,
    tfjs: tf.version.tfjs,
    finalLoss: last.reduce((a, e) => a + e.loss, 0) / last.length,
    weightsSha256: sha256(weightBytes),
    runDir: projectRelative(info.runDir),
    date: new Date().toISOString(),
    trainConfig: info.trainConfig,
    ...(info.horizons?.length ? { horizons: info.horizons } : {}),
    ...(info.snapshotOf ? { snapshotOf: info.snapshotOf } : {}),
    ...(info.initFrom ? { initFrom: info.initFrom } : {}),
    ...(info.averagedFrom?.length ? { averagedFrom: info.averagedFrom } : {}),
    ...(info.sessions?.length ? { sessions: info.sessions } : {}),
  };
  const files: FolderFiles = {
    'training_log.csv': logToCsv(info.log),
    'training_log.json': logToJson(info.log, { name: info.trainConfig.name }),
    'train.json': JSON.stringify(record, null, 2),
  };
  if (info.curvePng) files['training_curve.png'] = info.curvePng;
  await saveLearnedSolver(solver, exportDir, files);
  return exportDir;
}

/**
 * Draws a run's training curve from its log into `dir` (the report layer's `saveTrainingCurve`),
 * returning the PNG for an export, if one was made.
 */
export type CurveDrawer = (log: readonly LogEntry[], name: string, dir: string, iterates?: number, dataWeight?: number, horizons?: readonly HorizonChange[]) => Promise<Uint8Array | undefined>;

/** Runs a {@link CurveDrawer} in a temporary folder (removed afterwards) and returns its PNG, if it made one. */
async function drawInTemp(draw: CurveDrawer, log: readonly LogEntry[], name: string, iterates?: number, dataWeight?: number, horizons?: readonly HorizonChange[]): Promise<Uint8Array | undefined> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-curve-'));
  try {
    return await draw(log, name, tmp, iterates, dataWeight, horizons);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Exports a checkpoint of a run (e.g. an earlier step kept for an equal-steps comparison) as a
 * model folder, with the log and wall time up to that step. The training config is read from
 * `trainConfigFile` (default: the run folder's `config.json`, two levels above the checkpoint);
 * the log from the checkpoint (older format) or the run folder's `log.jsonl` up to its step.
 * @example
 * await exportCheckpoint('results/runs/rim_gray/checkpoints/step-004000', 'results/models/rim_gray_step4000', { name: 'rim_gray_step4000' });
 */
export async function exportCheckpoint(
  checkpointDir: string,
  exportDir: string,
  options: {
    name?: string;
    command?: string;
    trainConfigFile?: string;
    /** Draws the training curve of the log up to the checkpoint (as training's `drawCurve`, into a temporary folder): the PNG goes into the export. */
    drawCurve?: CurveDrawer;
    /**
     * Export the mean of the weights of every checkpoint of the run from this step up to the given
     * one (stochastic weight averaging over the kept checkpoints, e.g. of a constant-rate phase),
     * instead of the given checkpoint's weights; `train.json` lists them (`averagedFrom`).
     */
    averageFrom?: number;
  } = {},
): Promise<string> {
  const stateFile = path.join(checkpointDir, 'state.json');
  if (!fs.existsSync(stateFile)) throw new Error(`exportCheckpoint: ${checkpointDir} is not a training checkpoint (no state.json)`);
  const configFile = options.trainConfigFile ?? path.join(checkpointDir, '..', '..', 'config.json');
  if (!fs.existsSync(configFile)) throw new Error(`exportCheckpoint: no training config ${configFile} (give trainConfigFile)`);
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as CheckpointState;
  const trainConfig = JSON.parse(fs.readFileSync(configFile, 'utf8')) as TrainConfig;
  const log = checkpointLog(path.resolve(checkpointDir, '..', '..'), state);
  const solver = await loadLearnedSolver(checkpointDir);
  try {
    const averagedFrom = options.averageFrom === undefined ? undefined : averageCheckpointWeights(solver, checkpointDir, state.step, options.averageFrom);
    const curvePng =
      options.drawCurve && log.length > 0
        ? await drawInTemp(options.drawCurve, log, options.name ?? trainConfig.name, solver.config.steps, trainConfig.loss?.dataWeight, state.horizons)
        : undefined;
    return await exportTrainedModel(solver, exportDir, {
      curvePng,
      trainConfig: { ...trainConfig, name: options.name ?? trainConfig.name },
      step: state.step,
      wallTime: state.wallTime,
      engine: state.engine,
      command: options.command ?? null,
      runDir: options.trainConfigFile ? path.dirname(path.resolve(options.trainConfigFile)) : path.resolve(checkpointDir, '..', '..'),
      log,
      horizons: state.horizons,
      snapshotOf: `${path.resolve(checkpointDir)} (step ${state.step})`,
      initFrom: state.initFrom,
      averagedFrom,
      sessions: state.sessions,
    });
  } finally {
    solver.dispose();
  }
}

/**
 * The checkpoints of a run's `checkpoints/` folder (the parent of `checkpointDir`) with a step in
 * `[fromStep, step]`, in step order.
 * @throws naming the folder when fewer than two are there, or when one holds another solver config
 */
export function checkpointsToAverage(checkpointDir: string, step: number, fromStep: number): Array<{ step: number; dir: string }> {
  if (!Number.isInteger(fromStep) || fromStep < 0 || fromStep > step) throw new Error(`averageFrom must be a step in [0, ${step}] (the checkpoint's step), got ${fromStep}`);
  const parent = path.dirname(path.resolve(checkpointDir));
  const found = fs
    .readdirSync(parent)
    .map((n) => ({ n, m: /^step-(\d+)$/.exec(n) }))
    .filter((e) => e.m && Number(e.m[1]) >= fromStep && Number(e.m[1]) <= step)
    .map((e) => ({ step: Number(e.m![1]), dir: path.join(parent, e.n) }))
    .sort((a, b) => a.step - b.step);
  if (found.length < 2) {
    throw new Error(`averaging: ${parent} holds ${found.length} checkpoint(s) with a step in [${fromStep}, ${step}]; an average needs at least two (raise keepCheckpoints)`);
  }
  const config = fs.readFileSync(path.join(checkpointDir, 'config.json'), 'utf8');
  for (const c of found) {
    if (fs.readFileSync(path.join(c.dir, 'config.json'), 'utf8') !== config) throw new Error(`averaging: ${c.dir} holds another solver config than ${checkpointDir}`);
  }
  return found;
}

/**
 * Sets `solver`'s weights to the mean of those of the run's checkpoints from `fromStep` to `step`
 * ({@link checkpointsToAverage}; each folder's checksums verified), accumulated in float32.
 * @returns the checkpoints averaged, with their weights' SHA-256
 */
function averageCheckpointWeights(solver: LearnedSolver, checkpointDir: string, step: number, fromStep: number): AveragedCheckpoint[] {
  const found = checkpointsToAverage(checkpointDir, step, fromStep);
  const sums = new Map<string, tf.Tensor>();
  const counts = new Map<string, number>();
  const records: AveragedCheckpoint[] = [];
  try {
    for (const c of found) {
      verifyChecksums(c.dir);
      const weights = decodeWeightFiles(c.dir);
      try {
        for (const [name, t] of Object.entries(weights)) {
          const prev = sums.get(name);
          if (prev && !tf.util.arraysEqual(prev.shape, t.shape)) throw new Error(`averaging: ${name} is ${JSON.stringify(t.shape)} in ${c.dir} but ${JSON.stringify(prev.shape)} before`);
          sums.set(name, prev ? tf.tidy(() => tf.add(prev, t)) : tf.clone(t));
          prev?.dispose();
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      } finally {
        tf.dispose(Object.values(weights));
      }
      // verified above: its SHA256SUMS entry is the file's digest
      records.push({ step: c.step, checkpoint: projectRelative(c.dir), weightsSha256: readSha256Sums(path.join(c.dir, 'SHA256SUMS')).get('weights.bin')! });
    }
    const partial = [...counts].filter(([, n]) => n !== found.length).map(([name]) => name);
    if (partial.length) throw new Error(`averaging: not every checkpoint in ${path.dirname(found[0].dir)} holds ${partial.slice(0, 3).join(', ')}`);
    const mean: tf.NamedTensorMap = {};
    for (const [name, t] of sums) mean[name] = tf.div(t, found.length);
    try {
      solver.setWeights(mean);
    } finally {
      tf.dispose(Object.values(mean));
    }
    return records;
  } finally {
    tf.dispose([...sums.values()]);
  }
}

/**
 * Redraws the training curve of a saved model folder from its own `training_log.json` and
 * `train.json` (the solver's T from `config.json`, the loss's data weight and the horizon changes
 * of a run resumed with `--new-horizon`), e.g. after the figure gained a feature. Every other file
 * is kept byte for byte; the folder is rewritten atomically with a new `SHA256SUMS`, after its old
 * checksums were verified.
 * @returns the new PNG's SHA-256
 * @throws naming the folder when it is not a saved model, its log is empty, or the drawer made no PNG
 * @example
 * await redrawModelCurve('results/models/rim_sr48', saveTrainingCurve);
 */
export async function redrawModelCurve(modelDir: string, drawCurve: CurveDrawer): Promise<string> {
  verifyChecksums(modelDir);
  const listed = [...readSha256Sums(path.join(modelDir, 'SHA256SUMS')).keys()];
  const unlisted = fs.readdirSync(modelDir).filter((n) => n !== 'SHA256SUMS' && !listed.includes(n));
  if (unlisted.length) throw new Error(`redrawModelCurve: ${modelDir} holds files its SHA256SUMS does not list (${unlisted.join(', ')}); not rewriting it`);
  for (const f of ['train.json', 'training_log.json']) {
    if (!listed.includes(f)) throw new Error(`redrawModelCurve: ${modelDir} has no ${f} (not an exported trained model)`);
  }
  const record = JSON.parse(fs.readFileSync(path.join(modelDir, 'train.json'), 'utf8')) as TrainRecord;
  const entries = (JSON.parse(fs.readFileSync(path.join(modelDir, 'training_log.json'), 'utf8')) as { entries?: LogEntry[] }).entries ?? [];
  if (!entries.length) throw new Error(`redrawModelCurve: ${path.join(modelDir, 'training_log.json')} has no entries`);
  const solverConfig = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { steps?: number };
  const png = await drawInTemp(drawCurve, entries, record.name, solverConfig.steps, record.trainConfig?.loss?.dataWeight, record.horizons);
  if (!png) throw new Error(`redrawModelCurve: no PNG was drawn for ${modelDir} (is Chromium installed? .ci/run installs it)`);
  const files: FolderFiles = {};
  for (const n of listed) files[n] = n === 'training_curve.png' ? png : new Uint8Array(fs.readFileSync(path.join(modelDir, n)));
  if (!listed.includes('training_curve.png')) files['training_curve.png'] = png;
  writeFolderAtomic(modelDir, files);
  return sha256(png);
}
