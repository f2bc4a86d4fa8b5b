/**
 * Seeded standard-normal noise that is the same for every seed, 0 included.
 *
 * tfjs's random ops read their seed as `seed ? seed : Math.random()`, so a seed of 0 (or a seed
 * sum that reaches 0) silently means "no seed" and draws new noise on every call. The draws
 * themselves come from tfjs's `alea` generator seeded with the seed's decimal string; this module
 * hands tfjs the string `'0'` for a seed of 0 — the stream that seed 0 names, which no other
 * finite number reaches (`String(x) === '0'` only for ±0) — and every other seed unchanged, so
 * nonzero seeds keep exactly the draws they had before (and the numbers measured with them).
 */
import { tf } from '../engine/tf';

/**
 * The seed value to give a tfjs random op so that `seed` is honoured even when it is 0.
 * Nonzero finite seeds are returned unchanged.
 * @param seed any finite number
 * @throws if the seed is not a finite number
 * @example
 * tf.randomNormal([2, 2], 0, 1, 'float32', tfjsSeed(0)); // the same values on every call
 */
export function tfjsSeed(seed: number): number {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new Error(`noise: seed must be a finite number, got ${seed}`);
  // tfjs only calls `.toString()` on a truthy seed; '0' is truthy and names alea's stream for 0.
  return seed === 0 ? ('0' as unknown as number) : seed;
}

/**
 * Normal noise `N(mean, std²)`, float32, reproducible for every seed (0 included); for a nonzero
 * seed the values are exactly `tf.randomNormal(shape, mean, std, 'float32', seed)`.
 * @param shape the tensor shape, e.g. `[b, h, w, c]`
 * @param seed any finite number
 * @param std the standard deviation (default 1)
 * @param mean the mean (default 0)
 * @example
 * const n = normalNoise([1, 64, 64, 1], 0, 25 / 255); // the same noise on every run
 */
export function normalNoise(shape: number[], seed: number, std = 1, mean = 0): tf.Tensor {
  return tf.randomNormal(shape, mean, std, 'float32', tfjsSeed(seed));
}

