/**
 * Validation during training: PSNR of the solver's last iterate on a fixed set of crops of images
 * held apart from training (never a test set), degraded by the run's own task with fixed seeds,
 * every N steps. It reads no training randomness, so a resumed run validates the same way.
 */
import { tf } from '../engine/tf';
import { RawImage } from '../io/image';
import { psnrPerImage } from '../metrics/psnr';
import { LearnedSolver } from '../solvers/learned/types';
import { createProblem } from '../tasks/problem';
import { disposeGroups, TaskDefinition } from '../tasks/types';
import { mixSeed } from './noise';

/** A fixed validation set: central crops of the held-apart images, as one batch `[n, s, s, c]`. */
export interface ValidationSet {
  batch: tf.Tensor4D;
  /** The images' count (a multiple of what the task splits a batch into). */
  count: number;
  crop: number;
}

/**
 * Central `crop × crop` crops (a multiple of `multiple`) of raw images, `n` of them (rounded down
 * to a multiple of `groupSize`, e.g. the SR scales), in [0, 1].
 * @throws when an image is smaller than the crop or fewer than `groupSize` images are given
 * @example
 * const v = validationSet(heldOut, 96, 12, 3);
 */
export function validationSet(images: readonly RawImage[], crop: number, multiple = 1, groupSize = 1): ValidationSet {
  const s = Math.floor(crop / multiple) * multiple;
  const n = Math.floor(images.length / groupSize) * groupSize;
  if (s < 1) throw new Error(`validation: crop ${crop} is smaller than the task's multiple ${multiple}`);
  if (n < 1) throw new Error(`validation: ${images.length} held-apart image(s), the task needs at least ${groupSize}`);
  const c = images[0].channels;
  const data = new Float32Array(n * s * s * c);
  images.slice(0, n).forEach((im, k) => {
    if (im.height < s || im.width < s) throw new Error(`validation: image ${k} (${im.height}x${im.width}) is smaller than the crop ${s}`);
    const top = Math.floor((im.height - s) / 2);
    const left = Math.floor((im.width - s) / 2);
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < s; j++) {
        for (let ch = 0; ch < c; ch++) data[((k * s + i) * s + j) * c + ch] = im.data[((top + i) * im.width + left + j) * c + ch] / 255;
      }
    }
  });
  return { batch: tf.tensor4d(data, [n, s, s, c]), count: n, crop: s };
}

/**
 * Mean PSNR (dB, clipped to [0, 1]) of the solver's last iterate over the validation set, degraded
 * by the task with a seed fixed by the run's seed; `steps` runs the solver that many steps instead
 * of its T. Leaks no tensors.
 * @example
 * const psnr = validate(solver, task, params, set, config.seed, context);
 */
export function validate<P extends object, C>(solver: LearnedSolver, task: TaskDefinition<P, C>, params: P, set: ValidationSet, seed: number, context?: C, steps?: number): number {
  const groups = task.degradeBatch(set.batch, params, mixSeed(seed, 3), context);
  try {
    let sum = 0;
    let n = 0;
    for (const g of groups) {
      const problem = createProblem({ likelihood: g.likelihood, y: g.y });
      const psnrs = tf.tidy(() => {
        const xs = solver.run(g.y, problem, { ...(g.x0 ? { x0: g.x0 } : {}), ...(steps !== undefined ? { steps } : {}) });
        return psnrPerImage(tf.clipByValue(xs[xs.length - 1], 0, 1) as tf.Tensor4D, g.clean);
      });
      for (const p of psnrs) sum += p;
      n += psnrs.length;
    }
    return sum / n;
  } finally {
    disposeGroups(groups);
  }
}
