/**
 * The configuration of a training run (the JSON files in `configs/`), its defaults and checks.
 */
import { LearnedSolverConfig } from '../solvers/learned/factory';

/** Learning-rate schedules. */
export type ScheduleConfig =
  | { type: 'constant'; warmup?: number }
  /** `lr · gamma^⌊step / every⌋`. */
  | { type: 'step'; every: number; gamma: number; warmup?: number }
  /** `minLr + ½(lr − minLr)(1 + cos(π · step / steps))`. */
  | { type: 'cosine'; minLr: number; warmup?: number };

/**
 * A training run. Everything that changes the numbers is here, so a run folder's `config.json`
 * says what was trained.
 * @example
 * const config: TrainConfig = resolveTrainConfig({ name: 'rim_gray', model: { kind: 'rim' }, steps: 1000 });
 */
export interface TrainConfig {
  /** Run name: the run folder `results/runs/<name>` and the export `results/models/<name>`. */
  name: string;
  /** The learned solver (`kind` 'rim' or 'lgd', plus its fields). `channels` follows the data set. */
  model: LearnedSolverConfig;
  data: {
    /** 'Train400' (gray, 400 180×180) or 'BSD400' (color); any training set of `lib/io`. */
    dataset: string;
    /** 1 (gray) or 3 (color); default: the set's own. */
    channels?: 1 | 3;
    patchSize: number;
    batchSize: number;
    /** Random flips and 90° rotations (default true). */
    augment: boolean;
    /** Use only the first N images (default all). */
    limit?: number;
  };
  /** Blind Gaussian noise: σ ~ U[sigmaMin, sigmaMax]/255 per patch (default 5, 55). */
  noise: { sigmaMin: number; sigmaMax: number };
  /** Optimizer steps in total. */
  steps: number;
  /** Adam with gradient clipping by global norm (clipNorm 0 = no clipping). */
  optimizer: { lr: number; beta1: number; beta2: number; epsilon: number; clipNorm: number };
  schedule: ScheduleConfig;
  /** Loss `Σ_t w_t MSE(x_t, x) / Σ_t w_t`; default all `w_t = 1` (the mean over steps). */
  loss: { stepWeights?: number[] };
  /** Write a checkpoint every N steps (default 100). */
  checkpointEvery: number;
  /** Keep the newest N checkpoints (default 2). */
  keepCheckpoints: number;
  /** Seed of the weights, the patch sampler and the noise (default 0). */
  seed: number;
}

/** A partial configuration: what the JSON files hold. */
export type TrainConfigInput = Partial<Omit<TrainConfig, 'data' | 'noise' | 'optimizer' | 'loss'>> & {
  name: string;
  model: LearnedSolverConfig;
  data?: Partial<TrainConfig['data']>;
  noise?: Partial<TrainConfig['noise']>;
  optimizer?: Partial<TrainConfig['optimizer']>;
  loss?: Partial<TrainConfig['loss']>;
};

function positiveInt(v: unknown, what: string): void {
  if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`train config: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
}

/** Fills defaults and checks a training configuration; errors name the field. */
export function resolveTrainConfig(input: TrainConfigInput): TrainConfig {
  if (!input || typeof input.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(input.name)) {
    throw new Error(`train config: name must be a file-safe string (letters, digits, '.', '_', '-'), got ${JSON.stringify(input?.name)}`);
  }
  if (!input.model || (input.model.kind !== 'rim' && input.model.kind !== 'lgd')) {
    throw new Error(`train config: model.kind must be 'rim' or 'lgd', got ${JSON.stringify((input.model as { kind?: unknown } | undefined)?.kind)}`);
  }
  const c: TrainConfig = {
    name: input.name,
    model: input.model,
    data: { dataset: 'Train400', patchSize: 32, batchSize: 8, augment: true, ...(input.data ?? {}) },
    noise: { sigmaMin: 5, sigmaMax: 55, ...(input.noise ?? {}) },
    steps: input.steps ?? 1000,
    optimizer: { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, clipNorm: 1, ...(input.optimizer ?? {}) },
    schedule: input.schedule ?? { type: 'cosine', minLr: 1e-5 },
    loss: { ...(input.loss ?? {}) },
    checkpointEvery: input.checkpointEvery ?? 100,
    keepCheckpoints: input.keepCheckpoints ?? 2,
    seed: input.seed ?? 0,
  };
  positiveInt(c.steps, 'steps');
  positiveInt(c.data.patchSize, 'data.patchSize');
  positiveInt(c.data.batchSize, 'data.batchSize');
  positiveInt(c.checkpointEvery, 'checkpointEvery');
  positiveInt(c.keepCheckpoints, 'keepCheckpoints');
  if (c.data.limit !== undefined) positiveInt(c.data.limit, 'data.limit');
  if (!(c.noise.sigmaMin > 0 && c.noise.sigmaMax >= c.noise.sigmaMin)) {
    throw new Error(`train config: noise needs 0 < sigmaMin <= sigmaMax (8-bit units), got ${c.noise.sigmaMin}, ${c.noise.sigmaMax}`);
  }
  const o = c.optimizer;
  if (!(o.lr > 0) || !(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) || !(o.epsilon > 0) || !(o.clipNorm >= 0)) {
    throw new Error(`train config: optimizer needs lr > 0, 0 <= beta1, beta2 < 1, epsilon > 0, clipNorm >= 0; got ${JSON.stringify(o)}`);
  }
  const s = c.schedule;
  if (s.type === 'step') {
    positiveInt(s.every, 'schedule.every');
    if (!(s.gamma > 0)) throw new Error(`train config: schedule.gamma must be > 0, got ${s.gamma}`);
  } else if (s.type === 'cosine') {
    if (!(s.minLr >= 0 && s.minLr <= o.lr)) throw new Error(`train config: schedule.minLr must be in [0, lr], got ${s.minLr}`);
  } else if (s.type !== 'constant') {
    throw new Error(`train config: schedule.type must be 'constant', 'step' or 'cosine', got ${JSON.stringify((s as { type: unknown }).type)}`);
  }
  if (s.warmup !== undefined && !(Number.isInteger(s.warmup) && s.warmup >= 0)) throw new Error(`train config: schedule.warmup must be an integer >= 0`);
  const w = c.loss.stepWeights;
  if (w !== undefined && (!Array.isArray(w) || !w.every((v) => v >= 0) || !w.some((v) => v > 0))) {
    throw new Error('train config: loss.stepWeights must be non-negative numbers, not all zero');
  }
  return c;
}

/**
 * The fields whose change breaks exact resumption (everything but bookkeeping), as a canonical
 * JSON string; `steps` counts only under the cosine schedule (whose rate depends on it).
 */
export function numericsKey(c: TrainConfig): string {
  const { name: _n, checkpointEvery: _c, keepCheckpoints: _k, steps, ...rest } = c;
  const stable = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(stable) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, stable((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(stable({ ...rest, ...(c.schedule.type === 'cosine' ? { steps } : {}) }));
}
