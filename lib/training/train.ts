/**
 * Training of learned solvers on blind Gaussian denoising of random patches, with checkpoints and
 * exact resumption.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initEngine, tf } from '../engine';
import { engineLabel } from '../engine/native';
import { datasetInfo, loadRawImages } from '../io/datasets';
import { writeFileAtomic } from '../io/files';
import { Channels, RawImage } from '../io/image';
import { imagesFittingPatch, PatchSampler } from '../io/patches';
import { modelsDir, resultsDir } from '../io/paths';
import { createLearnedSolver, LearnedSolverConfig } from '../solvers/learned/factory';
import { initialiseFromModel, saveLearnedSolver } from '../solvers/learned/io';
import { validate, validationSet, ValidationSet } from './validation';
import { LearnedSolver } from '../solvers/learned/types';
import { CheckpointState, checkpointLog, HorizonChange, latestCheckpoint, readCheckpoint, recoverRunFolder, TrainingSession, writeCheckpoint } from './checkpoint';
import { legacyNumericsKey, numericsKey, resolveTrainConfig, TrainConfig, TrainConfigInput } from './config';
import { CurveDrawer, exportTrainedModel } from './export';
import { LogEntry, RunLog, writeLog } from './log';
import { mixSeed } from './noise';
import { resolveTask } from '../tasks/registry';
import { disposeGroups, TaskDefinition, TrainingGroup } from '../tasks/types';
import { initModelDir, InitRecord, initRecord } from './provenance';
import { learningRate } from './schedule';
import { trainStep } from './step';

/** What {@link TrainOptions.onProgress} receives after every step. */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Seconds of this step. */
  stepTime: number;
  /** Seconds of training so far (over all sessions of the run). */
  wallTime: number;
  /** Steps per second in this session. */
  stepsPerSecond: number;
  /** Estimated seconds to the end. */
  eta: number;
}

/** Options of {@link trainLearnedSolver}. */
export interface TrainOptions {
  /** Called after every step (e.g. to draw a progress bar). An exception stops training (no checkpoint). */
  onProgress?: (progress: TrainProgress) => void;
  /** Stops after the current step; a checkpoint of that step is written first. */
  signal?: AbortSignal;
  /** Train on these images instead of loading `config.data.dataset` (tests, notebooks). */
  images?: RawImage[];
  /** The run folder (default `results/runs/<name>`). */
  runDir?: string;
  /**
   * `'auto'` (default): resume from the run folder's newest checkpoint when there is one;
   * `true`: resume, and fail without a checkpoint; `false`: start fresh, and fail when the folder
   * has a checkpoint (use another folder or delete it).
   */
  resume?: boolean | 'auto';
  /** Where the final model goes (default `results/models/<name>`); false: no export. */
  exportDir?: string | false;
  /**
   * Draws the training curve when a session ends (training itself draws nothing: the caller hands
   * in a drawer from the report layer, e.g. `saveTrainingCurve` of `lib/report/training_curve.ts`);
   * the PNG it returns, if any, goes into the export. Not called when `figures` is false.
   */
  drawCurve?: CurveDrawer;
  /** Call `drawCurve` (default true). */
  figures?: boolean;
  /** The command line, recorded in the export's `train.json`. */
  command?: string;
  /** Where status lines go (default console.log). */
  log?: (line: string) => void;
  /**
   * Resume even when the checkpoint was trained towards another number of steps with the cosine
   * schedule (its learning rates then change from the resumed step on). The change is recorded in
   * the checkpoint state and the export's `train.json` (`horizons`). Default false: an error.
   */
  allowHorizonChange?: boolean;
}

/** What {@link trainLearnedSolver} returns. */
export interface TrainResult {
  /** The trained solver (the caller disposes it). */
  solver: LearnedSolver;
  /** The configuration with defaults. */
  config: TrainConfig;
  /** Steps done (equals `config.steps` unless aborted). */
  step: number;
  /** 'completed', or 'aborted' by the signal. */
  stopped: 'completed' | 'aborted';
  log: LogEntry[];
  runDir: string;
  /** The exported model folder (completed runs with export on). */
  exportDir?: string;
  /** Seconds of training over all sessions. */
  wallTime: number;
  engine: string;
}

/**
 * Runs a training step and turns the wasm backend's out-of-memory traps (a step whose activations
 * outgrow the wasm heap: "memory access out of bounds", "Cannot enlarge memory") into an error
 * that names the sizes to reduce.
 */
export function withMemoryHint<T>(fn: () => T, config: TrainConfig): T {
  try {
    return fn();
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    if (/memory access out of bounds|Cannot enlarge memory|Out of memory|Array buffer allocation failed/i.test(message)) {
      const steps = (config.model as { steps?: number }).steps;
      throw new Error(
        `train config ${config.name}: one training step ran out of the engine's memory (${message}); the step keeps every activation of ` +
          `data.batchSize ${config.data.batchSize} × data.patchSize ${config.data.patchSize}² × model.steps ${steps ?? '?'} for its gradients: reduce one of them ` +
          '(the wasm backend\'s heap cannot grow past its compiled maximum)',
      );
    }
    throw err;
  }
}

/** Training stopped on a non-finite loss or gradient; names the step, the batch and the last good checkpoint. */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly step: number,
    readonly lastCheckpoint: string | undefined,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** The cosine horizon (total steps) recorded in a numerics key, if any. */
function horizonOf(key: string): number | undefined {
  const steps = (JSON.parse(key) as { steps?: unknown }).steps;
  return typeof steps === 'number' ? steps : undefined;
}

/** A numerics key without its cosine horizon. */
function withoutHorizon(key: string): string {
  const { steps: _s, ...rest } = JSON.parse(key) as Record<string, unknown>;
  return JSON.stringify(rest);
}

/** A run's training images (after `data.holdOut` and `data.dropSmall`), its validation images and the channels its model restores. */
interface RunImages {
  datasets: string[];
  images: RawImage[];
  validationImages: RawImage[];
  channels: number;
}

/**
 * Loads what a training configuration trains and validates on: the task's or the datasets' images,
 * minus `data.holdOut` (kept apart for validation) and, with `data.dropSmall`, those smaller than
 * the patch; the validation images (held apart, or `validation.dataset` in the training images'
 * channels). Shared by training and {@link validateOnRun}, so both see the same crops.
 */
async function loadRunImages<P extends object>(config: TrainConfig, task: TaskDefinition<P, unknown>, taskParams: P, given: RawImage[] | undefined, say: (line: string) => void): Promise<RunImages> {
  const datasets = Array.isArray(config.data.dataset) ? config.data.dataset : [config.data.dataset];
  const loaded =
    given ??
    (task.loadImages
      ? await task.loadImages(taskParams, { limit: config.data.limit })
      : (await Promise.all(datasets.map((d) => loadRawImages(d, { channels: config.data.channels, limit: config.data.limit })))).flat());
  // Validation images: held apart from the training images (data.holdOut), or a separate training-use set.
  const holdOut = config.data.holdOut ?? 0;
  if (holdOut > 0 && holdOut >= loaded.length) throw new Error(`train config ${config.name}: data.holdOut ${holdOut} leaves no training images (${loaded.length} loaded)`);
  const heldOut = holdOut > 0 ? loaded.slice(loaded.length - holdOut) : [];
  const kept = holdOut > 0 ? loaded.slice(0, loaded.length - holdOut) : loaded; // the caller's array is not changed
  const p = config.data.patchSize;
  const images = config.data.dropSmall ? imagesFittingPatch(kept, p) : kept;
  if (images.length < kept.length) say(`data.dropSmall: left out ${kept.length - images.length} of ${kept.length} training images smaller than the ${p}x${p} patch`);
  let validationImages: RawImage[] = [];
  if (config.validation) {
    const v = config.validation;
    if (v.dataset) {
      if (datasetInfo(v.dataset).use !== 'train') throw new Error(`train config ${config.name}: validation.dataset ${v.dataset} is a test set; validate on held-apart training images (data.holdOut) or a training-use set`);
      // In the training images' channels: a gray run validating on a colour set (T91) sees it in gray.
      const channels = config.data.channels ?? (kept[0]?.channels as Channels | undefined);
      validationImages = await loadRawImages(v.dataset, { channels, limit: v.limit });
    } else {
      if (heldOut.length === 0) throw new Error(`train config ${config.name}: validation needs held-apart images: set data.holdOut (or validation.dataset)`);
      validationImages = v.limit ? heldOut.slice(0, v.limit) : heldOut;
    }
  }
  const mismatched = validationImages.find((im) => kept.length > 0 && im.channels !== kept[0].channels);
  if (mismatched) {
    throw new Error(`train config ${config.name}: validation images have ${mismatched.channels} channel(s), the training images ${kept[0].channels}`);
  }
  if (images.length === 0) throw new Error(`trainLearnedSolver: no training images${config.data.dropSmall ? ` of at least ${p}x${p} (data.dropSmall left them all out)` : ''}`);
  const channels = task.modelChannels?.(images[0].channels, taskParams) ?? images[0].channels;
  return { datasets, images, validationImages, channels };
}

/** The fixed validation crops of a run's `validation` section, cut as the task needs them (size and grouping). */
function runValidationSet<P extends object>(validation: NonNullable<TrainConfig['validation']>, task: TaskDefinition<P, unknown>, taskParams: P, validationImages: readonly RawImage[]): ValidationSet {
  return validationSet(validationImages, validation.crop, task.patchMultiple?.(taskParams) ?? 1, task.batchMultiple?.(taskParams) ?? 1);
}

/** The seed a run's validation crops are degraded with: `validation.seed`, else the run's. */
function validationSeed(config: TrainConfig): number {
  return config.validation?.seed ?? config.seed;
}

/** What {@link validateOnRun} measured. */
export interface RunValidation {
  /** Mean PSNR (dB) of the solver's last iterate on the run's validation crops. */
  psnr: number;
  /** Crops, and their size. */
  count: number;
  crop: number;
  /** The seed the crops were degraded with (`validation.seed`, else the run's). */
  seed: number;
  /** Steps the solver ran. */
  steps: number;
}

/**
 * Scores any solver on a training configuration's validation crops, degraded exactly as that run
 * validates (its task, its `validation.seed` or else its seed): what makes two runs' validation
 * numbers comparable when they degrade their crops with different seeds. `options.images`: the run's images, as
 * {@link TrainOptions.images} gave them to training (default: loaded as the configuration says).
 * @throws when the configuration has no `validation` section, or the solver's channels differ
 * @example
 * await validateOnRun(readTrainConfig('configs/rim_gray48_t16.json'), rimGray48.solver); // rim_gray48 on the T = 16 run's crops
 */
export async function validateOnRun(input: TrainConfigInput | TrainConfig, solver: LearnedSolver, options: { steps?: number; log?: (line: string) => void; images?: RawImage[] } = {}): Promise<RunValidation> {
  const config = resolveTrainConfig(input as TrainConfigInput);
  if (!config.validation) throw new Error(`train config ${config.name}: no validation section, so no validation crops to score on`);
  const { definition: task, params: taskParams } = resolveTask(config.task, `train config ${config.name}`);
  const { images, validationImages, channels } = await loadRunImages(config, task, taskParams, options.images, options.log ?? (() => undefined));
  if (solver.config.channels !== channels) throw new Error(`validateOnRun: the solver restores ${solver.config.channels} channel(s), run ${config.name} ${channels}`);
  const set = runValidationSet(config.validation, task, taskParams, validationImages);
  const context = task.prepare ? await task.prepare(taskParams, images) : undefined;
  try {
    const seed = validationSeed(config);
    const psnr = validate(solver, task, taskParams, set, seed, context, options.steps);
    return { psnr, count: set.count, crop: set.crop, seed, steps: options.steps ?? solver.config.steps };
  } finally {
    set.batch.dispose();
    task.release?.(context);
  }
}

/**
 * Trains a learned solver (RIM or LGD) on a task (`config.task`, default blind Gaussian denoising):
 *
 * - data: random `p×p` patches of the training set(s) with flips and 90° rotations ({@link PatchSampler},
 *   seeded), degraded by the task (`lib/tasks`: operator, likelihood, parameters such as σ or the
 *   SR scale drawn per patch or per group) from `(seed, step)`;
 * - loss: `Σ_t w_t MSE(x_t, x) / Σ_t w_t` over the iterates (all `w_t = 1` by default);
 * - Adam with a learning-rate schedule and gradient clipping by global norm;
 * - a NaN guard: a non-finite loss or gradient norm stops training before the update, with a
 *   {@link TrainingDivergedError} naming the step, the batch and the last good checkpoint;
 * - checkpoints every `checkpointEvery` steps in the run folder (and on abort), from which a run
 *   resumes exactly: the log of an interrupted and resumed run equals the uninterrupted one;
 * - a log (step, loss, lr, grad norm, wall time, engine) in the run folder: `log.jsonl` appended
 *   before each checkpoint, `log.csv` + `log.json` when the session ends (the training curve is the
 *   caller's: {@link TrainOptions.drawCurve}); the final model exported to `results/models/<name>/` (weights, config, log,
 *   SHA256SUMS, `train.json` with the command, steps, wall time and engine).
 * @example
 * const { solver } = await trainLearnedSolver(
 *   { name: 'rim_gray', model: { kind: 'rim', features: 32, steps: 8 }, steps: 2000 },
 *   { onProgress: (p) => bar.update(p.step, { loss: p.loss }) },
 * );
 */
export async function trainLearnedSolver(input: TrainConfigInput | TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const config = resolveTrainConfig(input as TrainConfigInput);
  const say = options.log ?? ((line: string) => console.log(line));
  const { definition: task, params: taskParams } = resolveTask(config.task, `train config ${config.name}`);
  const multiple = task.patchMultiple?.(taskParams) ?? 1;
  if (config.data.patchSize % multiple !== 0) {
    throw new Error(`train config ${config.name}: data.patchSize ${config.data.patchSize} must be a multiple of ${multiple} for task ${JSON.stringify(config.task)}`);
  }
  const batchMultiple = task.batchMultiple?.(taskParams) ?? 1;
  if (config.data.batchSize % batchMultiple !== 0) {
    throw new Error(`train config ${config.name}: data.batchSize ${config.data.batchSize} must be a multiple of ${batchMultiple} for task ${JSON.stringify(config.task)} (one group each)`);
  }
  const { backend, native } = await initEngine();
  const engine = engineLabel(backend, native);
  const { datasets, images, validationImages, channels } = await loadRunImages(config, task, taskParams, options.images, say);
  const p = config.data.patchSize;
  const declared = (config.model as { channels?: number }).channels;
  if (declared !== undefined && declared !== channels) {
    throw new Error(`train config: model.channels = ${declared} but the training images have ${images[0].channels} channel(s) (data.dataset ${datasets.join(', ')}) and task ${config.task.kind} restores ${channels}`);
  }
  const modelConfig = { ...config.model, channels, seed: (config.model as { seed?: number }).seed ?? config.seed } as LearnedSolverConfig;
  const runDir = path.resolve(options.runDir ?? path.join(resultsDir(), 'runs', config.name));

  const solver = createLearnedSolver(modelConfig);
  const key = numericsKey(config, solver.config);
  const legacyKey = legacyNumericsKey(config);
  let runKey = key;
  const optimizer = tf.train.adam(config.optimizer.lr, config.optimizer.beta1, config.optimizer.beta2, config.optimizer.epsilon);
  const sampler = new PatchSampler(images, {
    patchSize: config.data.patchSize,
    batchSize: config.data.batchSize,
    augment: config.data.augment,
    seed: mixSeed(config.seed, 1),
  });
  let step = 0;
  let log: LogEntry[] = [];
  let wallOffset = 0;
  let lastCheckpoint: { step: number; dir: string } | undefined;
  let completed = false;
  let horizons: HorizonChange[] = [];
  let best: { step: number; psnr: number } | undefined;
  let initFrom: InitRecord | undefined;
  let sessions: TrainingSession[] = [];
  let valSet: ValidationSet | undefined;
  let context: unknown;
  try {
    context = task.prepare ? await task.prepare(taskParams, images) : undefined;
    if (config.validation) valSet = runValidationSet(config.validation, task, taskParams, validationImages);
    recoverRunFolder(runDir, say); // temporaries of a write a crash interrupted
    const latest = latestCheckpoint(runDir, { warn: say }); // falls back, with one line, past a bad latest.json or checkpoint
    const resume = options.resume ?? 'auto';
    if (latest && resume === false) {
      throw new Error(`run folder ${runDir} already has a checkpoint (step ${latest.step}); resume it, or delete the folder / choose another (--out) to start afresh`);
    }
    if (!latest && resume === true) throw new Error(`cannot resume: no checkpoint in ${runDir} (no latest.json)`);
    if (latest) {
      const state = await readCheckpoint(latest.dir, solver, optimizer);
      // Runs checkpointed before tasks and strict configs carry the older key (same numerics): they keep it.
      if (legacyKey !== undefined && withoutHorizon(state.configKey) === withoutHorizon(legacyKey)) runKey = legacyKey;
      horizons = [...(state.horizons ?? [])]; // the run's history of horizon changes goes on with it
      const previousSteps = horizonOf(state.configKey);
      if (state.configKey !== runKey && options.allowHorizonChange && previousSteps !== undefined && withoutHorizon(state.configKey) === withoutHorizon(runKey)) {
        say(`${config.name}: changing the schedule's horizon from ${previousSteps} to ${config.steps} steps at step ${state.step}`);
        if (horizons.length === 0) horizons.push({ fromStep: 0, steps: previousSteps });
        horizons.push({ fromStep: state.step, steps: config.steps });
      } else if (state.configKey !== runKey) {
        throw new Error(`cannot resume ${runDir}: its checkpoint was trained with a different configuration.\n  checkpoint: ${state.configKey}\n  now:        ${runKey}`);
      }
      if (state.step > config.steps) throw new Error(`cannot resume ${runDir}: its checkpoint is at step ${state.step}, past the configured ${config.steps} steps`);
      step = state.step;
      sampler.state = state.samplerState;
      log = checkpointLog(runDir, state); // log.jsonl cut at the checkpoint's step (or the log inside an older state.json)
      wallOffset = state.wallTime;
      best = state.best;
      initFrom = state.initFrom; // what the run began from, as recorded then (absent in older runs)
      sessions = [...(state.sessions ?? [])];
      lastCheckpoint = latest;
      say(`resuming ${config.name} from step ${step} (${latest.dir})`);
    } else if (config.init) {
      const dir = initModelDir(config.init.model);
      const sha = initialiseFromModel(solver, dir, config.init); // its adaptation keys (inputChannels, keepMissing, widen)
      initFrom = initRecord(config.init.model, dir, sha); // the folder may be exported again later: keep what it was now
      const adapted = [
        ...Object.entries(config.init.inputChannels ?? {}).map(([w, from]) => `${w} input channels from [${from.map((c) => (c === null ? 'new' : c)).join(', ')}]`),
        ...(config.init.keepMissing ? ['weights it lacks keep their seeded values'] : []),
        ...(config.init.widen ? ['widened: new units start seeded, with zero weights out of them'] : []),
      ];
      say(`${config.name}: starting from the weights of ${dir} (weights.bin sha256 ${sha.slice(0, 12)}…)${adapted.length ? `; ${adapted.join('; ')}` : ''}`);
    }
    // a resumption by another command line starts a new session (the same line again goes on with the last)
    const command = options.command ?? null;
    if (sessions.length === 0 ? step === 0 || command !== null : sessions[sessions.length - 1].command !== command) sessions.push({ fromStep: step, command });
    fs.mkdirSync(runDir, { recursive: true });
    writeFileAtomic(path.join(runDir, 'config.json'), JSON.stringify({ ...config, model: modelConfig }, null, 2) + '\n');
    const runLog = new RunLog(runDir);
    runLog.reset(log); // log.jsonl holds exactly the steps done: entries past the checkpoint are redone
    say(`training ${config.name}: ${solver.kind}, ${solver.paramCount()} parameters, ${task.summary?.(taskParams) ?? task.kind}, ${images.length} images, batch ${config.data.batchSize}×${config.data.patchSize}², ${config.steps} steps, engine ${engine}; run folder ${runDir}`);

    const sessionStart = Date.now();
    const sessionStep0 = step;
    const state = (): CheckpointState => ({
      step,
      samplerState: sampler.state,
      seed: config.seed,
      wallTime: wallOffset + (Date.now() - sessionStart) / 1000,
      configKey: runKey,
      logEntries: log.length,
      engine,
      ...(horizons.length ? { horizons } : {}),
      ...(best ? { best } : {}),
      ...(initFrom ? { initFrom } : {}),
      ...(sessions.length ? { sessions } : {}),
    });
    const checkpoint = async () => {
      runLog.append(log); // flushed before the checkpoint that counts on it
      const dir = await writeCheckpoint(runDir, solver, optimizer, state(), config.keepCheckpoints);
      lastCheckpoint = { step, dir };
    };

    while (step < config.steps) {
      // Yield to the event loop once per step, so that signal handlers (Ctrl-C), timers and
      // notebook outputs get their turn: the step itself is synchronous.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (options.signal?.aborted) break;
      const t0 = Date.now();
      const samplerBefore = sampler.state;
      const lr = learningRate(config.schedule, config.optimizer.lr, step, config.steps);
      const clean = sampler.next(); // [b, p, p, c]
      let groups: TrainingGroup[] = [];
      let lossValue: number;
      let normValue: number;
      try {
        groups = task.degradeBatch(clean, taskParams, mixSeed(config.seed, 2, step), context);
        const r = withMemoryHint(() => trainStep(solver, optimizer, groups, { lr, clipNorm: config.optimizer.clipNorm, stepWeights: config.loss.stepWeights, dataWeight: config.loss.dataWeight, ...(config.loss.dataNoise ? { dataNoise: { sigma: config.loss.dataNoise / 255, seed: mixSeed(config.seed, 5, step) } } : {}) }), config);
        lossValue = r.loss;
        normValue = r.gradNorm;
        if (!r.applied) {
          const where = lastCheckpoint
            ? `the last good checkpoint is step ${lastCheckpoint.step} at ${lastCheckpoint.dir} (resume from it with a lower learning rate or a smaller clipNorm)`
            : 'no checkpoint was written yet (lower the learning rate or the clipNorm, or check the model at initialisation)';
          throw new TrainingDivergedError(
            `training diverged at step ${step + 1} (its batch: ${config.data.batchSize} patches drawn from sampler state ${samplerBefore}, ` +
              `degradation seed ${mixSeed(config.seed, 2, step)}, ${groups.map((g) => g.describe).join('; ')}): ` +
              `loss = ${lossValue}, gradient norm = ${normValue}. Stopped before the update; ${where}.`,
            step + 1,
            lastCheckpoint?.dir,
          );
        }
      } finally {
        clean.dispose();
        disposeGroups(groups);
      }
      step++;
      const now = Date.now();
      const entry: LogEntry = {
        step,
        loss: lossValue,
        lr,
        gradNorm: normValue,
        wallTime: wallOffset + (now - sessionStart) / 1000,
        stepTime: (now - t0) / 1000,
        engine,
      };
      if (valSet && config.validation && step % config.validation.every === 0) {
        entry.valPsnr = validate(solver, task, taskParams, valSet, validationSeed(config), context);
        if (!best || entry.valPsnr > best.psnr) {
          best = { step, psnr: entry.valPsnr };
          await saveLearnedSolver(solver, path.join(runDir, 'best'), { 'best.json': JSON.stringify({ step, valPsnr: entry.valPsnr }, null, 2) + '\n' });
        }
        say(`${config.name} step ${step}: validation PSNR ${entry.valPsnr.toFixed(3)} dB on ${valSet.count} held-apart crops (best ${best.psnr.toFixed(3)} at step ${best.step})`);
      }
      log.push(entry);
      if (options.onProgress) {
        const rate = (step - sessionStep0) / Math.max(1e-9, (now - sessionStart) / 1000);
        options.onProgress({ ...entry, totalSteps: config.steps, stepsPerSecond: rate, eta: (config.steps - step) / rate });
      }
      if (step % config.checkpointEvery === 0 || step === config.steps) await checkpoint();
    }
    if (step < config.steps && lastCheckpoint?.step !== step) await checkpoint(); // aborted between checkpoints
    const wallTime = log.length ? log[log.length - 1].wallTime : wallOffset;
    const result: TrainResult = { solver, config, step, stopped: step >= config.steps ? 'completed' : 'aborted', log, runDir, wallTime, engine };
    writeLog(runDir, log, { name: config.name });
    const curvePng = options.figures !== false && options.drawCurve && log.length > 0 ? await options.drawCurve(log, config.name, runDir, solver.config.steps, config.loss.dataWeight, horizons) : undefined;
    if (result.stopped === 'completed' && options.exportDir !== false) {
      const exportDir = path.resolve(options.exportDir ?? path.join(resultsDir(), 'models', config.name));
      await exportTrainedModel(solver, exportDir, {
        trainConfig: { ...config, model: modelConfig } as TrainConfig,
        step,
        wallTime,
        engine,
        command: options.command ?? null,
        runDir,
        log,
        horizons,
        curvePng,
        initFrom,
        sessions,
      });
      result.exportDir = exportDir;
      say(`exported ${config.name} to ${exportDir}`);
    }
    completed = true;
    return result;
  } finally {
    optimizer.dispose();
    valSet?.batch.dispose();
    if (!completed) solver.dispose();
    task.release?.(context);
  }
}
