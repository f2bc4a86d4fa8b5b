/**
 * Checkpoints of a training run, for exact resumption: the solver's weights, Adam's state
 * (`optimizer.getWeights()`: the step count and both moments, plus the running powers β₁ᵗ, β₂ᵗ,
 * which `setWeights` would otherwise recompute as `pow(β, t)` and so differ in the last bit), the
 * patch sampler's RNG state, the step and the noise seed. The log lives beside them in the run
 * folder's `log.jsonl`, appended before each checkpoint.
 *
 * Layout of a run folder:
 * ```
 * <run>/config.json                     the training configuration
 * <run>/log.jsonl                       one log entry a line, appended (flushed) before each checkpoint
 * <run>/checkpoints/step-000100/        model.json, weights.bin, config.json, optimizer.json,
 *                                       optimizer.bin, state.json, SHA256SUMS (written atomically)
 * <run>/latest.json                     { step, dir } of the newest checkpoint (written last)
 * <run>/log.csv, log.json               the whole log, written when a session ends
 * ```
 *
 * Faults: every file and folder is flushed to disk before its rename ({@link writeFolderAtomic});
 * {@link recoverRunFolder} removes what an interrupted write left; {@link latestCheckpoint} falls
 * back to the newest checkpoint that passes its SHA-256 check, with one line saying why, when
 * `latest.json` is missing, unparsable or points at a damaged checkpoint. Older checkpoints
 * (before `log.jsonl`) carry the log inside `state.json`; they still resume ({@link checkpointLog}).
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { decodeWeightFiles, encodeWeightFiles } from '../solvers/learned/io';
import { LearnedSolver } from '../solvers/learned/types';
import { pruneTemporaries, writeFileAtomic, writeFolderAtomic } from '../util/atomic';
import { verifyChecksums } from '../util/checksums';
import { LOG_JSONL, LogEntry, readLogJsonl } from './log';
import { InitRecord } from './provenance';

/** Everything besides tensors that a resumed run needs. */
export interface CheckpointState {
  /** Optimizer steps done. */
  step: number;
  /** The patch sampler's RNG state after the last batch. */
  samplerState: number;
  /** The run's seed (noise of step t comes from (seed, t)). */
  seed: number;
  /** Seconds of training so far. */
  wallTime: number;
  /** The canonical config of the numerics (see `numericsKey`). */
  configKey: string;
  /**
   * How many entries of `<run>/log.jsonl` belong to this checkpoint (those of steps 1..step).
   * Absent in checkpoints of the older format, which embed the log instead.
   */
  logEntries?: number;
  /** The log up to `step`, embedded: the older format only (new checkpoints keep it in `log.jsonl`). */
  log?: LogEntry[];
  engine: string;
  /** Changes of the cosine schedule's horizon on resumption (absent when there were none). */
  horizons?: HorizonChange[];
  /** The best validation so far (runs with validation): its step and PSNR; weights in `<run>/best/`. */
  best?: { step: number; psnr: number };
  /** What the run began from (`init.model`), as it was then; absent for runs from scratch and older runs. */
  initFrom?: InitRecord;
  /** The command of each training session (a start or a resumption with another command line), in step order; absent in older runs. */
  sessions?: TrainingSession[];
}

/** A training session: from step `fromStep` on, the run was trained by `command` (null when not given). */
export interface TrainingSession {
  fromStep: number;
  command: string | null;
}

/** From step `fromStep` on, the schedule ran towards `steps` total steps. */
export interface HorizonChange {
  fromStep: number;
  steps: number;
}

interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

/** The folder name of step `step`'s checkpoint. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** The files every checkpoint folder holds (besides SHA256SUMS). */
export const CHECKPOINT_FILES = ['model.json', 'weights.bin', 'config.json', 'optimizer.json', 'optimizer.bin', 'state.json'] as const;

/** A checkpoint of a run: its step and folder. */
export interface CheckpointRef {
  step: number;
  dir: string;
}

/** The `step-NNNNNN` folders of a run, newest first. */
export function listCheckpoints(runDir: string): CheckpointRef[] {
  const root = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((d) => /^step-\d+$/.test(d))
    .map((d) => ({ step: Number(d.slice(5)), dir: path.join(root, d) }))
    .sort((a, b) => b.step - a.step);
}

/**
 * Why the checkpoint folder `dir` cannot be resumed (a file missing or failing its SHA-256, an
 * unreadable state.json, another step than `step`), or undefined when it passes.
 */
export function checkpointProblem(dir: string, step?: number): string | undefined {
  try {
    verifyChecksums(dir, [...CHECKPOINT_FILES]);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
    if (step !== undefined && state.step !== step) return `holds step ${state.step}, not ${step}`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Reads latest.json: the checkpoint it names, or why it cannot be used. */
function readPointer(runDir: string, file: string): CheckpointRef | string {
  let latest: { step?: unknown; dir?: unknown };
  try {
    latest = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof latest;
  } catch (err) {
    return `${file} is unreadable (${(err as Error).message})`;
  }
  if (!Number.isInteger(latest?.step) || typeof latest.dir !== 'string' || !/^checkpoints[/\\]step-\d+$/.test(latest.dir)) {
    return `${file} does not name a checkpoint ({ step, dir: 'checkpoints/step-…' } expected)`;
  }
  return { step: latest.step as number, dir: path.join(runDir, latest.dir) };
}

/** Options of {@link latestCheckpoint}. */
export interface LatestCheckpointOptions {
  /** Where the one line about a fallback goes (default console.warn). */
  warn?: (line: string) => void;
}

/**
 * The checkpoint a run resumes from: the one `latest.json` names when it passes its SHA-256
 * check; otherwise (latest.json missing, unparsable, or naming a damaged checkpoint) the newest
 * `checkpoints/step-*` that passes, with one line through `warn` saying why. Undefined for a run
 * folder without checkpoints; an error naming every problem when none passes.
 * @example
 * const latest = latestCheckpoint('results/runs/rim_gray', { warn: console.log });
 * if (latest) console.log(`resume from step ${latest.step} (${latest.dir})`);
 */
export function latestCheckpoint(runDir: string, options: LatestCheckpointOptions = {}): CheckpointRef | undefined {
  const warn = options.warn ?? ((line: string) => console.warn(line));
  const file = path.join(runDir, 'latest.json');
  const folders = listCheckpoints(runDir);
  let problem: string;
  let skip: string | undefined;
  if (fs.existsSync(file)) {
    const pointer = readPointer(runDir, file);
    if (typeof pointer !== 'string') {
      const bad = checkpointProblem(pointer.dir, pointer.step);
      if (!bad) return pointer;
      problem = `the checkpoint latest.json names fails its check: ${bad}`;
      skip = path.resolve(pointer.dir);
    } else problem = pointer;
  } else if (folders.length === 0) {
    return undefined;
  } else {
    problem = `${file} is missing (a run stopped before its first pointer was written)`;
  }
  const rejected: string[] = [];
  for (const c of folders) {
    if (path.resolve(c.dir) === skip) continue;
    const bad = checkpointProblem(c.dir, c.step);
    if (!bad) {
      warn(`${runDir}: ${problem}; falling back to the newest valid checkpoint, step ${c.step} (${c.dir})`);
      return c;
    }
    rejected.push(`${path.basename(c.dir)}: ${bad}`);
  }
  throw new Error(
    `no valid checkpoint to resume in ${runDir}: ${problem}` +
      (rejected.length ? `; and no other checkpoint passes its check (${rejected.join('; ')})` : '; and checkpoints/ holds no other step-* folder') +
      '. Start afresh (--fresh, or delete the folder) or restore a checkpoint.',
  );
}

/**
 * Cleans a run folder after a crash: deletes the temporaries of interrupted atomic writes
 * (`latest.json.<pid>.<ms>.tmp`, `checkpoints/.step-….tmp-…`) and moves back a checkpoint that
 * was set aside for its replacement when the replacement never arrived. Says what it did in one
 * line through `say` (nothing when there was nothing to do).
 * @example
 * recoverRunFolder('results/runs/rim_gray', console.log);
 */
export function recoverRunFolder(runDir: string, say: (line: string) => void = (line) => console.warn(line)): void {
  const removed: string[] = [];
  const restored: string[] = [];
  for (const dir of [runDir, path.join(runDir, 'checkpoints')]) {
    const r = pruneTemporaries(dir);
    removed.push(...r.removed.map((n) => path.relative(runDir, path.join(dir, n))));
    restored.push(...r.restored.map((n) => path.relative(runDir, path.join(dir, n))));
  }
  if (removed.length || restored.length) {
    say(
      `${runDir}: cleaned up after an interrupted write:` +
        (removed.length ? ` removed ${removed.join(', ')}` : '') +
        (restored.length ? `${removed.length ? ';' : ''} restored ${restored.join(', ')}` : ''),
    );
  }
}

/**
 * The log of a checkpoint, steps 1..`state.step`: embedded in an older checkpoint's state.json,
 * else the first `state.logEntries` entries of `<runDir>/log.jsonl` (later entries belong to
 * steps a resumed run redoes). An error names the log file when it lacks the checkpoint's steps.
 * @example
 * const log = checkpointLog(runDir, await readCheckpoint(latest.dir, solver, optimizer));
 */
export function checkpointLog(runDir: string, state: CheckpointState): LogEntry[] {
  if (state.log) return state.log.filter((e) => e.step <= state.step);
  const file = path.join(runDir, LOG_JSONL);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: the checkpoint at step ${state.step} keeps its log there`);
  const log = readLogJsonl(file, state.step);
  const expected = state.logEntries ?? state.step;
  const last = log.length ? log[log.length - 1].step : 0;
  if (log.length !== expected || (expected > 0 && last !== state.step)) {
    throw new Error(`${file} holds ${log.length} entries up to step ${last}, but the checkpoint at step ${state.step} expects ${expected} ending at that step (the log was edited or cut short)`);
  }
  return log;
}

/**
 * Writes the checkpoint of `state.step` into `<runDir>/checkpoints/` (flushed, then renamed into
 * place), then points `latest.json` at it, and deletes all but the newest `keep` checkpoints up to
 * it (folders of later steps come from a timeline being redone after a fallback, and go too).
 * The caller appends the log up to `state.step` to `log.jsonl` first ({@link RunLog.append}), so
 * that every checkpoint finds its steps there.
 * @returns the checkpoint folder
 * @example
 * runLog.append(log);
 * await writeCheckpoint(runDir, solver, optimizer, { ...state, logEntries: log.length }, 2);
 */
export async function writeCheckpoint(
  runDir: string,
  solver: LearnedSolver,
  optimizer: tf.AdamOptimizer,
  state: CheckpointState,
  keep: number,
): Promise<string> {
  const name = checkpointName(state.step);
  const dir = path.join(runDir, 'checkpoints', name);
  const weights = solver.getWeights();
  const optWeights = await optimizer.getWeights(); // [iter, m_1..m_n, v_1..v_n]; iter is a new tensor
  try {
    const model = await encodeWeightFiles(weights, 'weights.bin');
    const opt = await encodeWeightFiles(optWeights, 'optimizer.bin');
    const { accBeta1, accBeta2 } = optimizer as unknown as AdamInternals;
    const optimizerJson = {
      config: optimizer.getConfig(),
      accBeta1: accBeta1.dataSync()[0],
      accBeta2: accBeta2.dataSync()[0],
      weightsManifest: opt.manifest,
    };
    writeFolderAtomic(dir, {
      'model.json': JSON.stringify({ kind: solver.kind, paramCount: solver.paramCount(), weightsManifest: model.manifest }),
      'weights.bin': model.data,
      'config.json': JSON.stringify(solver.config, null, 2),
      'optimizer.json': JSON.stringify(optimizerJson),
      'optimizer.bin': opt.data,
      'state.json': JSON.stringify(state),
    });
  } finally {
    tf.dispose(weights.map((w) => w.tensor));
    optWeights[0].tensor.dispose();
  }
  writeFileAtomic(path.join(runDir, 'latest.json'), JSON.stringify({ step: state.step, dir: path.join('checkpoints', name) }) + '\n');
  const kept = listCheckpoints(runDir).filter((c) => c.step <= state.step);
  const stale = [...listCheckpoints(runDir).filter((c) => c.step > state.step), ...kept.slice(Math.max(1, keep))];
  for (const old of stale) fs.rmSync(old.dir, { recursive: true, force: true });
  return dir;
}

/**
 * Restores a checkpoint into a freshly built solver (same config) and a fresh Adam optimizer,
 * after verifying its checksums. Its log: {@link checkpointLog}.
 * @returns the non-tensor state
 * @example
 * const state = await readCheckpoint(latest.dir, solver, optimizer);
 */
export async function readCheckpoint(dir: string, solver: LearnedSolver, optimizer: tf.AdamOptimizer): Promise<CheckpointState> {
  verifyChecksums(dir, [...CHECKPOINT_FILES]);
  const weights = decodeWeightFiles(dir, 'model.json');
  try {
    solver.setWeights(weights);
  } finally {
    tf.dispose(Object.values(weights));
  }
  const optJson = JSON.parse(fs.readFileSync(path.join(dir, 'optimizer.json'), 'utf8')) as {
    accBeta1: number;
    accBeta2: number;
    weightsManifest: tf.io.WeightsManifestConfig;
  };
  const optMap = decodeWeightFiles(dir, 'optimizer.json');
  // decodeWeights keeps the manifest order: iter, first moments, second moments.
  const list = optJson.weightsManifest.flatMap((g) => g.weights.map((s) => ({ name: s.name, tensor: optMap[s.name] })));
  try {
    await optimizer.setWeights(list);
    const internals = optimizer as unknown as AdamInternals;
    tf.tidy(() => {
      internals.accBeta1.assign(tf.scalar(optJson.accBeta1));
      internals.accBeta2.assign(tf.scalar(optJson.accBeta2));
    });
  } finally {
    tf.dispose(Object.values(optMap));
  }
  return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
}
