/**
 * Likelihoods (noise models) of `y = A(x) + noise`: the data term `L(y, x) = −log p(y | x)` of the
 * objective, its gradient in `x`, the Gauss–Newton weight, and a seeded sampler of `y`.
 * The forward operator is part of a likelihood (it maps the image to the noise-free measurement);
 * the noise is not part of the operator.
 */
import { tf } from '../engine/tf';
import { Operator } from '../operators/types';

/**
 * Where a sampler gets its seed: a number, or a generator with `next(): number` in [0, 1)
 * (e.g. `Rng` of `lib/io/rng`), from which one 31-bit seed is drawn per call.
 * @example
 * lik.sample(x, 42);            // a fixed seed
 * lik.sample(x, new Rng(1));    // a seed drawn from a generator
 */
export type SeedSource = number | { next(): number };

/**
 * The seed that {@link SeedSource} stands for: `seed` itself for a number, else
 * `floor(rng.next() · 2³¹)`.
 * @param seed a number or a generator
 * @example
 * resolveSeed(7); // 7
 * resolveSeed(new Rng(1)); // some integer in [0, 2^31)
 */
export function resolveSeed(seed: SeedSource): number {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new Error(`sample: seed must be a finite number, got ${seed}`);
    return seed;
  }
  return Math.floor(seed.next() * 2147483648);
}

/**
 * A negative log-likelihood `L(y, x) = −log p(y | x) + const` of measurements `y` given the image
 * `x`, with `y` distributed around `z = A(x)`.
 *
 * Conventions: sums run over every measurement value of an image (`h'·w'·c'`) and constants that
 * do not depend on `x` (such as `½ log 2π`) are dropped. `value` is the sum over the batch
 * (the objective of the joint problem), `valuePerImage` gives one value per image.
 * @example
 * const lik: Likelihood = gaussianLikelihood(A, { sigma: 0.1 });
 * const f = lik.value(x, y);   // scalar
 * const g = lik.grad(x, y);    // [b, h, w, c]
 */
export interface Likelihood {
  /** Human-readable name, used in errors and tables. */
  readonly name: string;
  /** The forward map `A`. The likelihood does not own it (disposing it is the caller's job). */
  readonly operator: Operator;
  /**
   * `L(y, x)` summed over the batch, a scalar.
   * @param x the image, `[b, h, w, c]`
   * @param y the measurement, shape `A.outputShape(x.shape)`
   */
  value(x: tf.Tensor4D, y: tf.Tensor4D): tf.Scalar;
  /** `L(y_n, x_n)` for each image `n`, `[b]`. */
  valuePerImage(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor1D;
  /** `∇ₓ L(y, x)`, same shape as `x` (each image's gradient depends only on that image). */
  grad(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D;
  /**
   * A non-negative diagonal weight `W(x)` on the measurement space such that `Jᵀ W J`
   * (`J` the Jacobian of `A` at `x`) is the Gauss–Newton / Fisher-scoring approximation of
   * `∇²ₓ L`. The result broadcasts against `A(x)`: a scalar, `[b, 1, 1, 1]`, or `A(x)`'s shape.
   * @param x the image, `[b, h, w, c]`
   */
  gaussNewtonWeight(x: tf.Tensor4D): tf.Tensor;
  /**
   * Draws `y = A(x) + noise` with this noise model, reproducibly for a given seed.
   * @param x the image, `[b, h, w, c]`
   * @param seed a number or a generator (see {@link SeedSource})
   */
  sample(x: tf.Tensor4D, seed: SeedSource): tf.Tensor4D;
  /**
   * The measurement's shape for an image shape when it is not `A(x)`'s shape (absent: `y` is
   * shaped like `A(x)`); e.g. the categorical likelihood's label map `[b, h, w, 1]` for the
   * logits `[b, h, w, K]`.
   * @param xShape the image shape `[b, h, w, c]`
   */
  measurementShape?(xShape: readonly number[]): number[];
  /**
   * The measurement as channels on the image grid, for learned solvers that see `y` instead of
   * the gradient (the no-gradient ablation) when `y` is neither image-shaped nor `Aᵀ`-mappable;
   * e.g. the categorical likelihood's one-hot label map `[b, h, w, K]` (ignored pixels all zero).
   * @param y the measurement
   * @param xShape the image shape `[b, h, w, c]`
   * @returns a new tensor `[b, h, w, m]`
   */
  measurementOnImageGrid?(y: tf.Tensor4D, xShape: readonly number[]): tf.Tensor4D;
}
