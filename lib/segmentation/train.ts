/**
 * Training of a CamVid segmenter: class-balanced cross-entropy (median-frequency weights from the
 * training splits, Unlabelled ignored), seeded augmentation, Adam with a learning-rate schedule
 * (cosine by default) and optional clipping, checkpoints with exact resumption (weights, Adam's
 * state, the augmentation RNG, the step: the run-folder layout and helpers of `lib/training`), a
 * JSONL log with validation mIoU every N steps, and an export to a model folder with SHA256SUMS.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initEngine, tf } from '../engine';
import { engineLabel } from '../engine/native';
import { resultsDir } from '../io/paths';
import { LearnedSolver } from '../solvers/learned/types';
import { CheckpointState, checkpointLog, latestCheckpoint, readCheckpoint, recoverRunFolder, writeCheckpoint } from '../training/checkpoint';
import { optimizerStep } from '../training/step';
import { LogEntry, RunLog } from '../training/log';
import { learningRate } from '../training/schedule';
import { writeFileAtomic } from '../util/atomic';
import { sha256 } from '../util/checksums';
import { Rng } from '../util/rng';
import { augmentedBatch } from './augment';
import { CAMVID_NUM_CLASSES, CamVidSample, loadCamVid } from './camvid';
import { resolveSegTrainConfig, SegTrainConfig, segNumericsKey } from './config';
import { evaluateSegmenter } from './evaluate';
import { medianFrequencyWeights, weightedCrossEntropy } from './loss';
import { createSegmenter, Segmenter } from './networks';
import { saveSegmenter } from './io';

/** One optimizer step; `valMiou`/`valPixelAccuracy` on the steps that validated. */
export interface SegLogEntry extends LogEntry {
  valMiou?: number;
  valPixelAccuracy?: number;
}

/** What one {@link segmenterTrainStep} measured. */
export interface SegStepResult {
  loss: number;
  gradNorm: number;
  /** False when loss or norm was not finite: nothing was updated. */
  applied: boolean;
}

/**
 * One step: weighted cross-entropy of `segmenter.logits(x)` against `labels`, gradients of every
 * weight, clipping by global norm (`clipNorm` 0: none), and the Adam update with rate `lr` when
 * loss and norm are finite. No tensors survive the call (x and labels stay the caller's).
 * @example
 * const { loss } = segmenterTrainStep(phi, adam, x, labels, weights, { lr: 1e-3, clipNorm: 0 });
 */
export function segmenterTrainStep(
  segmenter: Segmenter,
  optimizer: tf.AdamOptimizer,
  x: tf.Tensor4D,
  labels: tf.Tensor3D,
  classWeights: readonly number[] | undefined,
  options: { lr: number; clipNorm: number },
): SegStepResult {
  return optimizerStep(optimizer, segmenter.trainableVariables(), () => weightedCrossEntropy(segmenter.logits(x), labels, classWeights), options);
}

/** Options of {@link trainSegmenter}. */
export interface TrainSegmenterOptions {
  /** Train (and validate) on these samples instead of loading CamVid (tests). */
  samples?: { train: CamVidSample[]; val?: CamVidSample[] };
  /** The run folder (default `results/runs/<name>`). */
  runDir?: string;
  /** 'auto' (default): resume when the folder has a checkpoint; true: must resume; false: must start fresh. */
  resume?: boolean | 'auto';
  /** The model folder (default `results/models/<name>`); false: no export. */
  exportDir?: string | false;
  /** Stops after the current step (a checkpoint of it is written). */
  signal?: AbortSignal;
  /** Called after every step. */
  onProgress?: (entry: SegLogEntry, totalSteps: number) => void;
  /** Status lines (default console.log). */
  log?: (line: string) => void;
  /** The command line, recorded in train.json. */
  command?: string;
}

/** What {@link trainSegmenter} returns. */
export interface TrainSegmenterResult {
  /** The trained network (the caller disposes it). */
  segmenter: Segmenter;
  config: SegTrainConfig;
  step: number;
  stopped: 'completed' | 'aborted';
  log: SegLogEntry[];
  classWeights: number[] | undefined;
  runDir: string;
  exportDir?: string;
  wallTime: number;
  engine: string;
}

/**
 * Trains a segmenter from a configuration (see {@link resolveSegTrainConfig} and `configs/seg_*.json`).
 * A run interrupted (Ctrl-C, a crash) resumes from its newest checkpoint with the same numbers as
 * an uninterrupted one; a checkpoint of another configuration is refused.
 * @example
 * const { segmenter } = await trainSegmenter(JSON.parse(fs.readFileSync('configs/seg_phi.json', 'utf8')));
 */
export async function trainSegmenter(input: unknown, options: TrainSegmenterOptions = {}): Promise<TrainSegmenterResult> {
  const config = resolveSegTrainConfig(input, `segmenter config ${(input as { name?: string })?.name ?? ''}`.trim());
  const say = options.log ?? ((line: string) => console.log(line));
  const { backend, native } = await initEngine();
  const engine = engineLabel(backend, native);
  const train = options.samples?.train ?? (await Promise.all(config.data.splits.map((s) => loadCamVid(s, { limit: config.data.limit })))).flat();
  if (train.length === 0) throw new Error(`trainSegmenter ${config.name}: no training images`);
  const validation = config.validation;
  const val = validation ? (options.samples ? options.samples.val : await loadCamVid(validation.split, { limit: validation.limit })) : undefined;
  if (validation && (!val || val.length === 0)) throw new Error(`trainSegmenter ${config.name}: validation on ${validation.split} asked for, but there are no validation images`);
  const classWeights = config.loss.balance === 'median-frequency' ? medianFrequencyWeights(train.map((s) => s.labels)) : undefined;
  const runDir = path.resolve(options.runDir ?? path.join(resultsDir(), 'runs', config.name));
  const key = segNumericsKey(config);

  const segmenter = createSegmenter(config.model);
  // The run-folder checkpoints of lib/training read kind, paramCount, getWeights, setWeights and config: a Segmenter has them.
  const asSolver = segmenter as unknown as LearnedSolver;
  const optimizer = tf.train.adam(config.optimizer.lr, config.optimizer.beta1, config.optimizer.beta2, config.optimizer.epsilon);
  const rng = new Rng(config.seed * 2654435761 + 12345);
  let step = 0;
  let log: SegLogEntry[] = [];
  let wallOffset = 0;
  let completed = false;
  try {
    recoverRunFolder(runDir, say);
    const latest = latestCheckpoint(runDir, { warn: say });
    const resume = options.resume ?? 'auto';
    if (latest && resume === false) throw new Error(`run folder ${runDir} already has a checkpoint (step ${latest.step}); resume it, or delete the folder / choose another to start afresh`);
    if (!latest && resume === true) throw new Error(`cannot resume: no checkpoint in ${runDir} (no latest.json)`);
    if (latest) {
      const state = await readCheckpoint(latest.dir, asSolver, optimizer);
      if (state.configKey !== key) throw new Error(`cannot resume ${runDir}: its checkpoint was trained with a different configuration.\n  checkpoint: ${state.configKey}\n  now:        ${key}`);
      if (state.step > config.steps) throw new Error(`cannot resume ${runDir}: its checkpoint is at step ${state.step}, past the configured ${config.steps} steps`);
      step = state.step;
      rng.state = state.samplerState;
      log = checkpointLog(runDir, state) as SegLogEntry[];
      wallOffset = state.wallTime;
      say(`resuming ${config.name} from step ${step} (${latest.dir})`);
    }
    fs.mkdirSync(runDir, { recursive: true });
    writeFileAtomic(path.join(runDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const runLog = new RunLog(runDir);
    runLog.reset(log);
    say(
      `training ${config.name}: ${segmenter.kind}, ${segmenter.paramCount()} parameters, ${train.length} images (${config.data.splits.join('+')}), ` +
        `batch ${config.data.batchSize}×${config.data.crop.join('×')}, ${config.steps} steps, engine ${engine}; run folder ${runDir}`,
    );
    const sessionStart = Date.now();
    const state = (): CheckpointState => ({ step, samplerState: rng.state, seed: config.seed, wallTime: wallOffset + (Date.now() - sessionStart) / 1000, configKey: key, logEntries: log.length, engine });
    const checkpoint = async () => {
      runLog.append(log);
      await writeCheckpoint(runDir, asSolver, optimizer, state(), config.keepCheckpoints);
    };

    while (step < config.steps) {
      await new Promise<void>((resolve) => setImmediate(resolve)); // let signals and timers run
      if (options.signal?.aborted) break;
      const t0 = Date.now();
      const lr = learningRate(config.schedule, config.optimizer.lr, step, config.steps);
      const { x, labels } = augmentedBatch(train, rng, config.data.batchSize, config.data.crop, config.data.augment);
      let r: SegStepResult;
      try {
        r = segmenterTrainStep(segmenter, optimizer, x, labels, classWeights, { lr, clipNorm: config.optimizer.clipNorm });
      } finally {
        tf.dispose([x, labels]);
      }
      if (!r.applied) throw new Error(`trainSegmenter ${config.name}: diverged at step ${step + 1} (loss ${r.loss}, gradient norm ${r.gradNorm}); stopped before the update. Lower optimizer.lr or set optimizer.clipNorm.`);
      step++;
      const now = Date.now();
      const entry: SegLogEntry = { step, loss: r.loss, lr, gradNorm: r.gradNorm, wallTime: wallOffset + (now - sessionStart) / 1000, stepTime: (now - t0) / 1000, engine };
      if (validation && val && (step % validation.every === 0 || step === config.steps)) {
        const v = evaluateSegmenter(segmenter, val, { batchSize: validation.batchSize });
        entry.valMiou = v.miou;
        entry.valPixelAccuracy = v.pixelAccuracy;
        say(`${config.name} step ${step}: loss ${r.loss.toFixed(4)}, ${validation.split} mIoU ${(100 * v.miou).toFixed(2)}, pixel accuracy ${(100 * v.pixelAccuracy).toFixed(2)}`);
        // The best validation so far: its weights in <run>/best/ (best.json says the step), read back on resume.
        const bestFile = path.join(runDir, 'best', 'best.json');
        const best = fs.existsSync(bestFile) ? (JSON.parse(fs.readFileSync(bestFile, 'utf8')) as { step: number; valMiou: number }) : undefined;
        if (!best || best.step > step || v.miou > best.valMiou) {
          await saveSegmenter(segmenter, path.join(runDir, 'best'), { 'best.json': JSON.stringify({ step, valMiou: v.miou, valPixelAccuracy: v.pixelAccuracy }, null, 2) + '\n' });
        }
      }
      log.push(entry);
      options.onProgress?.(entry, config.steps);
      if (step % config.checkpointEvery === 0 || step === config.steps) await checkpoint();
    }
    if (step < config.steps && log.length && (step % config.checkpointEvery !== 0)) await checkpoint(); // aborted between checkpoints
    const wallTime = log.length ? log[log.length - 1].wallTime : wallOffset;
    const result: TrainSegmenterResult = { segmenter, config, step, stopped: step >= config.steps ? 'completed' : 'aborted', log, classWeights, runDir, wallTime, engine };
    if (result.stopped === 'completed' && options.exportDir !== false) {
      const exportDir = path.resolve(options.exportDir ?? path.join(resultsDir(), 'models', config.name));
      const weights = segmenter.getWeights();
      const weightBytes = new Uint8Array((await tf.io.encodeWeights(weights)).data);
      tf.dispose(weights.map((w) => w.tensor));
      const lastVal = [...log].reverse().find((e) => e.valMiou !== undefined);
      const info = {
        name: config.name,
        kind: segmenter.kind,
        paramCount: segmenter.paramCount(),
        steps: step,
        wallTimeSeconds: wallTime,
        secondsPerStep: wallTime / Math.max(1, step),
        engine,
        command: options.command ?? null,
        classWeights: classWeights ?? null,
        classes: CAMVID_NUM_CLASSES,
        trainImages: train.length,
        validation: lastVal ? { split: validation ? validation.split : null, step: lastVal.step, miou: lastVal.valMiou, pixelAccuracy: lastVal.valPixelAccuracy } : null,
        weightsSha256: sha256(weightBytes),
        trainConfig: config,
      };
      await saveSegmenter(segmenter, exportDir, { 'train.json': JSON.stringify(info, null, 2) + '\n', 'log.jsonl': log.map((e) => JSON.stringify(e) + '\n').join('') });
      result.exportDir = exportDir;
      say(`exported ${config.name} to ${exportDir}`);
    }
    completed = true;
    return result;
  } finally {
    optimizer.dispose();
    if (!completed) segmenter.dispose();
  }
}
