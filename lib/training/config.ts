/**
 * The configuration of a training run (the JSON files in `configs/`): one strict schema (zod) per
 * kind of section, so an unknown or misspelt key is an error that names its path, and every
 * default is filled in before the resume key is computed.
 */
import { z } from 'zod';
import { LearnedSolverConfig } from '../solvers/learned/factory';
import { formatIssues, resolveTask } from '../tasks/registry';

/** Learning-rate schedules. */
export type ScheduleConfig =
  | { type: 'constant'; warmup?: number }
  /** `lr · gamma^⌊step / every⌋`. */
  | { type: 'step'; every: number; gamma: number; warmup?: number }
  /** `minLr + ½(lr − minLr)(1 + cos(π · step / steps))`. */
  | { type: 'cosine'; minLr: number; warmup?: number };

/**
 * Validation every `every` steps on central `crop`-crops of images held apart from training:
 * `data.holdOut` images of the training sets, or a separate training-type `dataset` (never a
 * test set). The PSNR goes into the log (`valPsnr`), the best weights to `<run>/best/`.
 */
export interface ValidationConfig {
  every: number;
  crop: number;
  /** A held-apart set instead of `data.holdOut` (must be a training-use set of `lib/io/datasets`). */
  dataset?: string;
  /** At most this many images (default all held apart). */
  limit?: number;
  /**
   * Seed of the crops' degradation (default the run's `seed`). Runs that share it, the task and
   * the held-apart images score on the same degraded crops, so their logged `valPsnr` compare.
   */
  seed?: number;
}

/** A config's task: `kind` (a registered task, see `lib/tasks`) and its parameters with defaults. */
export type TaskConfig = { kind: string } & Record<string, unknown>;

/**
 * A training run. Everything that changes the numbers is here, so a run folder's `config.json`
 * says what was trained.
 * @example
 * const config: TrainConfig = resolveTrainConfig({ name: 'rim_gray', model: { kind: 'rim' }, steps: 1000 });
 */
export interface TrainConfig {
  /** Run name: the run folder `results/runs/<name>` and the export `results/models/<name>`. */
  name: string;
  /** The learned solver (`kind` 'rim', 'lgd' or 'lgn', plus its fields). `channels` follows the data and the task. */
  model: LearnedSolverConfig;
  data: {
    /** 'Train400' (gray, 400 180×180), 'BSD400' (color), 'T91', or a list of training sets (patches drawn from their union). */
    dataset: string | string[];
    /** 1 (gray) or 3 (color); default: the set's own. */
    channels?: 1 | 3;
    patchSize: number;
    batchSize: number;
    /** Random flips and 90° rotations (default true). */
    augment: boolean;
    /** Use only the first N images (of each set; default all). */
    limit?: number;
    /** Hold the last N images apart from training, for validation (default 0). */
    holdOut?: number;
    /**
     * Leave out training images smaller than the patch (default false: such an image is an error).
     * For patches larger than some images of a set (T91 has 78×78 images); the count is logged.
     */
    dropSmall?: boolean;
  };
  /** Validation during training (bookkeeping: not in the resume key). */
  validation?: ValidationConfig;
  /** The degradation trained on (default blind Gaussian denoising, σ ∈ [5, 55]). */
  task: TaskConfig;
  /** Optimizer steps in total. */
  steps: number;
  /** Adam with gradient clipping by global norm (clipNorm 0 = no clipping). */
  optimizer: { lr: number; beta1: number; beta2: number; epsilon: number; clipNorm: number };
  schedule: ScheduleConfig;
  /**
   * Loss `Σ_t w_t [MSE(x_t, x) + d · L(y, x_t) / |y|] / Σ_t w_t`; default all `w_t = 1` (the mean over
   * steps) and `d` = `dataWeight` absent (0: the MSE alone). `L` is the task's likelihood (for semantic
   * synthesis the cross-entropy through φ over labelled pixels), per measurement entry. `dataNoise`
   * (0..255 scale; default 0) evaluates the data term at `x_t + dataNoise/255 · n`, fresh Gaussian
   * `n` per step and iterate (seeded from the run's seed and step): an expectation over
   * perturbations, so that a synthesis must satisfy φ robustly rather than through a fragile pattern.
   */
  loss: { stepWeights?: number[]; dataWeight?: number; dataNoise?: number };
  /** Write a checkpoint every N steps (default 100). */
  checkpointEvery: number;
  /** Keep the newest N checkpoints (default 2). */
  keepCheckpoints: number;
  /** Seed of the weights, the patch sampler and the noise (default 0). */
  seed: number;
  /**
   * Start from a saved model's weights instead of the seeded initialisation (fine-tuning, or a warm
   * start from a related task: a deblurring RIM from the denoising one). `model`: a name under
   * `results/models/` or a folder path; the architecture must match. Used only when the run starts:
   * a resumed run continues from its checkpoint. A related architecture: `inputChannels` maps a
   * conv kernel's new input channels to the saved ones (`null`: a new channel, zero weights, e.g.
   * the learned Gauss–Newton's δ from a RIM: `{ "cell/c1/kernel": [0, null, 1] }`), and
   * `keepMissing` lets weights the saved model lacks keep their seeded values, and `widen` starts a
   * wider model (more features) from a narrower one, new units without influence at first (see
   * `InitAdaptation` in `lib/solvers/learned/io.ts`).
   */
  init?: { model: string; inputChannels?: Record<string, (number | null)[]>; keepMissing?: boolean; widen?: boolean };
}

/**
 * A partial configuration: what the JSON files hold. `noise: { sigmaMin, sigmaMax }` is the
 * older spelling of `task: { kind: 'denoise', sigmaMin, sigmaMax }` (configs written before tasks).
 */
export type TrainConfigInput = Partial<Omit<TrainConfig, 'data' | 'optimizer' | 'loss' | 'task'>> & {
  name: string;
  model: LearnedSolverConfig;
  data?: Partial<TrainConfig['data']>;
  task?: { kind: string } & Record<string, unknown>;
  noise?: { sigmaMin?: number; sigmaMax?: number };
  optimizer?: Partial<TrainConfig['optimizer']>;
  loss?: Partial<TrainConfig['loss']>;
};

const posInt = z.number({ invalid_type_error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer');
const epsilonSchema = z.object({ learn: z.boolean().optional(), init: z.number().min(0).optional() }).strict();
const channelsSchema = z.union([z.literal(1), z.literal(3)]);

/** The RIM's fields (`lib/solvers/learned/rim.ts`), all optional: the solver fills its defaults. */
const rimSchema = z
  .object({
    kind: z.literal('rim'),
    channels: channelsSchema.optional(),
    steps: posInt.optional(),
    cell: z.enum(['bench', 'strided']).optional(),
    features: posInt.optional(),
    hidden: posInt.optional(),
    gruKernel: posInt.optional(),
    blocks: z.number().int().min(0).optional(),
    link: z.enum(['identity', 'logistic']).optional(),
    epsilon: epsilonSchema.optional(),
    useGradient: z.boolean().optional(),
    measurementChannels: posInt.optional(),
    gradient: z.enum(['stabilised', 'rms']).optional(),
    useState: z.boolean().optional(),
    sharedWeights: z.boolean().optional(),
    seed: z.number().int().optional(),
  })
  .strict();

/** Learned gradient descent's fields (`lib/solvers/learned/lgd.ts`). */
const lgdSchema = z
  .object({
    kind: z.literal('lgd'),
    channels: channelsSchema.optional(),
    steps: posInt.optional(),
    memory: z.number().int().min(0).optional(),
    features: posInt.optional(),
    sharedWeights: z.boolean().optional(),
    dataGradient: z.enum(['normalised', 'stabilised', 'rms']).optional(),
    epsilon: epsilonSchema.optional(),
    prior: z.object({ lambda: z.number().min(0), epsilon: z.number().positive() }).strict().optional(),
    useGradient: z.boolean().optional(),
    measurementChannels: posInt.optional(),
    usePriorGradient: z.boolean().optional(),
    useState: z.boolean().optional(),
    seed: z.number().int().optional(),
    blocks: z.number().int().min(0).optional(),
  })
  .strict();

/** The learned Gauss–Newton's fields (`lib/solvers/learned/lgn.ts`). */
const lgnSchema = z
  .object({
    kind: z.literal('lgn'),
    channels: channelsSchema.optional(),
    steps: posInt.optional(),
    features: posInt.optional(),
    blocks: z.number().int().min(0).optional(),
    cgIterations: posInt.optional(),
    solveGradient: z.enum(['unrolled', 'implicit']).optional(),
    damping: z.enum(['identity', 'smoothness']).optional(),
    directionScale: z.enum(['raw', 'stabilised']).optional(),
    alpha: z.object({ init: z.number().positive().optional(), learn: z.boolean().optional(), perStep: z.boolean().optional() }).strict().optional(),
    epsilon: epsilonSchema.optional(),
    useDirection: z.boolean().optional(),
    useGradient: z.boolean().optional(),
    gradient: z.enum(['stabilised', 'rms']).optional(),
    useState: z.boolean().optional(),
    seed: z.number().int().optional(),
  })
  .strict();

/** The SPADE-style generator's fields (`lib/solvers/learned/spade.ts`). */
const spadeSchema = z
  .object({
    kind: z.literal('spade'),
    channels: channelsSchema.optional(),
    classes: posInt.optional(),
    features: posInt.optional(),
    hidden: posInt.optional(),
    blocks: posInt.optional(),
    steps: posInt.optional(),
    seed: z.number().int().optional(),
  })
  .strict();

/** The plain feed-forward CNN's fields (`lib/solvers/learned/cnn.ts`). */
const cnnSchema = z
  .object({
    kind: z.literal('cnn'),
    channels: channelsSchema.optional(),
    features: posInt.optional(),
    depth: z.number().int().min(2).optional(),
    steps: posInt.optional(),
    seed: z.number().int().optional(),
  })
  .strict();

const warmup = z.number().int().min(0).optional();
/** The learning-rate schedule's schema (shared with the segmenter configs). */
export const scheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant'), warmup }).strict(),
  z.object({ type: z.literal('step'), every: posInt, gamma: z.number().positive(), warmup }).strict(),
  z.object({ type: z.literal('cosine'), minLr: z.number().min(0), warmup }).strict(),
]);

/** Adam with gradient clipping by global norm; `clipNorm` defaults to `clipDefault` (shared with the segmenter configs). */
export function optimizerSchema(clipDefault: number) {
  return z
    .object({
      lr: z.number().positive().default(1e-3),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      epsilon: z.number().positive().default(1e-8),
      clipNorm: z.number().min(0).default(clipDefault),
    })
    .strict()
    .default({});
}

/** The schema of a training config file (`configs/*.json`). */
export const trainConfigSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a file-safe string (letters, digits, '.', '_', '-')"),
    model: z.discriminatedUnion('kind', [rimSchema, lgdSchema, lgnSchema, spadeSchema, cnnSchema], {
      errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_union_discriminator' ? "must be 'rim', 'lgd', 'lgn', 'spade' or 'cnn'" : ctx.defaultError }),
    }),
    data: z
      .object({
        dataset: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('Train400'),
        channels: channelsSchema.optional(),
        patchSize: posInt.default(32),
        batchSize: posInt.default(8),
        augment: z.boolean().default(true),
        limit: posInt.optional(),
        holdOut: z.number().int().min(0).optional(),
        dropSmall: z.boolean().optional(),
      })
      .strict()
      .default({}),
    validation: z
      .object({ every: posInt.default(500), crop: posInt.default(96), dataset: z.string().min(1).optional(), limit: posInt.optional(), seed: z.number().int().min(0).optional() })
      .strict()
      .optional(),
    task: z.object({ kind: z.string() }).passthrough().optional(),
    noise: z
      .object({ sigmaMin: z.number().default(5), sigmaMax: z.number().default(55) })
      .strict()
      .refine((n) => n.sigmaMin > 0 && n.sigmaMax >= n.sigmaMin, { message: 'noise needs 0 < sigmaMin <= sigmaMax (8-bit units)' })
      .optional(),
    steps: posInt.default(1000),
    optimizer: optimizerSchema(1),
    schedule: scheduleSchema.default({ type: 'cosine', minLr: 1e-5 }),
    loss: z
      .object({
        stepWeights: z
          .array(z.number().min(0))
          .refine((w) => w.some((v) => v > 0), { message: 'loss.stepWeights must be non-negative numbers, not all zero' })
          .optional(),
        dataWeight: z.number().min(0).optional(),
        dataNoise: z.number().min(0).optional(),
      })
      .strict()
      .refine((l) => !l.dataNoise || l.dataWeight, { message: 'loss.dataNoise perturbs the data term: set loss.dataWeight > 0 too' })
      .default({}),
    checkpointEvery: posInt.default(100),
    keepCheckpoints: posInt.default(2),
    seed: z.number().int().min(0).default(0),
    init: z
      .object({
        model: z.string().min(1),
        inputChannels: z.record(z.string().min(1), z.array(z.number().int().min(0).nullable()).min(1)).optional(),
        keepMissing: z.boolean().optional(),
        widen: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Checks a training configuration against {@link trainConfigSchema} and fills every default
 * (the task's too). Errors name the key's path, e.g. `unknown key(s) "model.featurs"`.
 * @param where the file or name for the errors (default 'train config')
 * @example
 * resolveTrainConfig({ name: 'x', model: { kind: 'rim', featurs: 8 } as never }); // throws: unknown key(s) "model.featurs"
 */
export function resolveTrainConfig(input: TrainConfigInput | TrainConfig, where = 'train config'): TrainConfig {
  const parsed = trainConfigSchema.safeParse(input);
  if (!parsed.success) throw new Error(`${where}: ${formatIssues(parsed.error, '')}`);
  const { $schema: _s, noise, task, ...c } = parsed.data;
  if (noise && task) throw new Error(`${where}: give the noise either as "noise" (denoising only, the older spelling) or in "task", not both`);
  const resolvedTask = resolveTask(task ?? { kind: 'denoise', ...(noise ?? {}) }, where).params;
  if (c.schedule.type === 'cosine' && c.schedule.minLr > c.optimizer.lr) {
    throw new Error(`${where}: schedule.minLr must be in [0, optimizer.lr], got ${c.schedule.minLr} > ${c.optimizer.lr}`);
  }
  return { ...c, model: c.model as LearnedSolverConfig, task: resolvedTask } as TrainConfig;
}

const stable = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(stable) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, stable((v as Record<string, unknown>)[k])])) : v;

/**
 * The fields whose change breaks exact resumption (everything but bookkeeping), as a canonical
 * JSON string with every default filled in: the task's parameters and, given `model`, the
 * solver's full configuration (`solver.config`). `steps` counts only under the cosine schedule
 * (whose rate depends on it).
 * @example
 * numericsKey(config, solver.config);
 */
export function numericsKey(c: TrainConfig, model?: object): string {
  const { name: _n, checkpointEvery: _c, keepCheckpoints: _k, validation: _v, steps, ...rest } = c;
  return JSON.stringify(stable({ ...rest, model: model ?? c.model, ...(c.schedule.type === 'cosine' ? { steps } : {}) }));
}

/**
 * The resume key as written before tasks and strict configs (model as given in the file, the
 * denoising noise as `noise`): accepted on resumption so that the committed runs resume. Undefined
 * for tasks other than denoising (no such runs existed).
 */
export function legacyNumericsKey(c: TrainConfig): string | undefined {
  if (c.task.kind !== 'denoise') return undefined;
  const { name: _n, checkpointEvery: _c, keepCheckpoints: _k, validation: _v, steps, task, ...rest } = c;
  const { kind: _kind, ...noise } = task;
  const data = { ...rest.data };
  if (data.dataset !== undefined && Array.isArray(data.dataset)) return undefined;
  return JSON.stringify(stable({ ...rest, data, noise, ...(c.schedule.type === 'cosine' ? { steps } : {}) }));
}
