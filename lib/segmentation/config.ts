/**
 * The configuration of a segmenter training run (`configs/seg_*.json`): one strict zod schema, so
 * an unknown or misspelt key fails with its path (`unknown key(s) "data.augment.flips"`), and
 * every default is filled in before the resume key is computed.
 */
import { z } from 'zod';
import { formatIssues } from '../tasks/registry';
import { optimizerSchema, ScheduleConfig, scheduleSchema } from '../training/config';
import { AugmentConfig } from './augment';
import { CamVidSplit } from './camvid';
import { resolveSegmenterConfig, SegmenterConfig } from './networks';

/** A segmenter training run with every default filled. */
export interface SegTrainConfig {
  /** Run name: `results/runs/<name>` and the export `results/models/<name>`. */
  name: string;
  /** The network (its `seed` defaults to the run's `seed`). */
  model: SegmenterConfig;
  data: {
    /** The CamVid splits trained on (`φ`: train; `φ'`: train + val). */
    splits: CamVidSplit[];
    /** Training crop `[h, w]` (default [176, 224]: multiples of 16, inside 180×240). */
    crop: [number, number];
    batchSize: number;
    augment: AugmentConfig;
    /** Only the first N images of each split (default all; for quick runs). */
    limit?: number;
  };
  /** Loss: cross-entropy over labelled pixels, class-balanced by median frequency (or not). */
  loss: { balance: 'median-frequency' | 'none' };
  steps: number;
  optimizer: { lr: number; beta1: number; beta2: number; epsilon: number; clipNorm: number };
  schedule: ScheduleConfig;
  /** mIoU on a held-out split every `every` steps (and at the end); false: none (a model trained on val). */
  validation: false | { split: CamVidSplit; every: number; limit?: number; batchSize: number };
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Seed of the weights (unless `model.seed`) and of the augmentation. */
  seed: number;
}

const posInt = z.number({ invalid_type_error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer');
const split = z.enum(['train', 'val', 'test']);
const activation = z.enum(['relu', 'leaky', 'elu']).optional();
const range = z.tuple([z.number().positive(), z.number().positive()]).refine(([a, b]) => a <= b, { message: 'needs [min, max] with min <= max' });
const factor = z.number().min(0).lt(1);

/** The schema of `configs/seg_*.json`. */
export const segTrainConfigSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a file-safe string (letters, digits, '.', '_', '-')"),
    model: z.discriminatedUnion(
      'kind',
      [
        z.object({ kind: z.literal('unet'), width: posInt.optional(), levels: posInt.optional(), bottleneckDilation: posInt.optional(), pool: z.enum(['avg', 'max']).optional(), activation, seed: z.number().int().optional() }).strict(),
        z.object({ kind: z.literal('dilated'), width: posInt.optional(), dilations: z.array(posInt).min(1).optional(), activation, seed: z.number().int().optional() }).strict(),
      ],
      { errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_union_discriminator' ? "must be 'unet' or 'dilated'" : ctx.defaultError }) },
    ),
    data: z
      .object({
        splits: z.array(split).min(1).default(['train']),
        crop: z.tuple([posInt, posInt]).default([176, 224]),
        batchSize: posInt.default(4),
        augment: z
          .object({
            flip: z.boolean().default(true),
            scale: range.default([0.75, 1.25]),
            jitter: z.object({ brightness: factor.default(0.2), contrast: factor.default(0.2), saturation: factor.default(0.2) }).strict().default({}),
          })
          .strict()
          .default({}),
        limit: posInt.optional(),
      })
      .strict()
      .default({}),
    loss: z.object({ balance: z.enum(['median-frequency', 'none']).default('median-frequency') }).strict().default({}),
    steps: posInt.default(1000),
    optimizer: optimizerSchema(0),
    schedule: scheduleSchema.default({ type: 'cosine', minLr: 1e-5 }),
    validation: z
      .union([
        z.literal(false),
        z.object({ split: split.default('val'), every: posInt.default(500), limit: posInt.optional(), batchSize: posInt.default(8) }).strict(),
      ])
      .default({}),
    checkpointEvery: posInt.default(200),
    keepCheckpoints: posInt.default(2),
    seed: z.number().int().min(0).default(0),
  })
  .strict();

/** What a config file holds (missing fields take defaults). */
export type SegTrainConfigInput = z.input<typeof segTrainConfigSchema>;

/**
 * Checks a segmenter training config and fills its defaults (the model's too; `model.seed`
 * defaults to `seed`). Errors name the key's path.
 * @param where the file or name for the errors
 * @example
 * resolveSegTrainConfig({ name: 'seg_phi', model: { kind: 'unet' } }).data.crop; // [176, 224]
 * resolveSegTrainConfig({ name: 'x', model: { kind: 'unet', widht: 8 } }); // throws: unknown key(s) "model.widht"
 */
export function resolveSegTrainConfig(input: unknown, where = 'segmenter config'): SegTrainConfig {
  const parsed = segTrainConfigSchema.safeParse(input);
  if (!parsed.success) throw new Error(`${where}: ${formatIssues(parsed.error, '')}`);
  const { $schema: _s, ...c } = parsed.data;
  if (c.schedule.type === 'cosine' && c.schedule.minLr > c.optimizer.lr) {
    throw new Error(`${where}: schedule.minLr must be in [0, optimizer.lr], got ${c.schedule.minLr} > ${c.optimizer.lr}`);
  }
  if (c.validation && c.data.splits.includes(c.validation.split)) {
    throw new Error(`${where}: validation.split "${c.validation.split}" is also trained on (data.splits ${JSON.stringify(c.data.splits)}); validate on another split or set "validation": false`);
  }
  const model = resolveSegmenterConfig({ ...c.model, seed: c.model.seed ?? c.seed });
  return { ...c, model } as SegTrainConfig;
}

const stable = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(stable) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, stable((v as Record<string, unknown>)[k])])) : v;

/**
 * The fields whose change breaks exact resumption, as canonical JSON (bookkeeping left out;
 * `steps` only under the cosine schedule, whose rates depend on it).
 */
export function segNumericsKey(c: SegTrainConfig): string {
  const { name: _n, checkpointEvery: _c, keepCheckpoints: _k, steps, ...rest } = c;
  return JSON.stringify(stable({ ...rest, ...(c.schedule.type === 'cosine' ? { steps } : {}) }));
}
