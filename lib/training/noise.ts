/**
 * Blind Gaussian noise for training batches, seeded per step: the noise of step t depends only on
 * (seed, t), so a resumed run draws exactly what the uninterrupted one drew.
 */
import { tf } from '../engine/tf';
import { Rng } from '../io/rng';
import { gaussianLikelihood } from '../likelihoods/gaussian';
import { Likelihood } from '../likelihoods/types';
import { identity } from '../operators/identity';

/**
 * A 32-bit hash of integers (murmur3's finaliser over a running combination), for deriving
 * independent seeds: `mixSeed(seed, stream, step)`.
 * @example
 * mixSeed(0, 2, 17); // an integer in [0, 2^32)
 */
export function mixSeed(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A noisy batch: the measurement, the per-patch σ, and its likelihood (owning its operator). */
export interface NoisyBatch {
  /** `[b, p, p, c]`; the caller disposes it. */
  y: tf.Tensor4D;
  /** σ per patch (in [0, 1] units). */
  sigmas: number[];
  /** The Gaussian likelihood with these σ and `A = I` (dispose its operator with `likelihood.operator.dispose()`). */
  likelihood: Likelihood;
}

/**
 * Draws `y = x + σ_n·n` with `σ_n ~ U[sigmaMin, sigmaMax]/255` per patch, all from `seed`.
 * @param clean `[b, p, p, c]` in [0, 1]
 * @param seed the step's seed (see {@link mixSeed})
 */
export function blindNoise(clean: tf.Tensor4D, sigmaMin: number, sigmaMax: number, seed: number): NoisyBatch {
  const rng = new Rng(seed);
  const sigmas = Array.from({ length: clean.shape[0] }, () => rng.uniform(sigmaMin, sigmaMax) / 255);
  const likelihood = gaussianLikelihood(identity(), { sigma: sigmas });
  const y = likelihood.sample(clean, Math.floor(rng.next() * 2147483647));
  return { y, sigmas, likelihood };
}
