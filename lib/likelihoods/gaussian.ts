/** The Gaussian likelihood with known noise level: `y = A(x) + σ·n`, `n ~ N(0, I)`. */
import { tf } from '../engine/tf';
import { Operator } from '../operators/types';
import { defineLikelihood } from './define';
import { perImage } from './shapes';
import { Likelihood } from './types';

/**
 * Options of {@link gaussianLikelihood}.
 * @example
 * const opts: GaussianOptions = { sigma: [0.01, 0.05] }; // one σ per image
 */
export interface GaussianOptions {
  /** The noise standard deviation σ > 0: one for all images, or one per image of the batch. */
  sigma: number | readonly number[];
}

/**
 * The Gaussian negative log-likelihood with known σ (constants `m/2 · log 2πσ²` dropped):
 *
 * `L(y, x) = ‖A(x) − y‖² / (2σ²)`, the squared norm summed over every measurement value of an
 * image (not averaged); `value` sums it over the batch, `valuePerImage` returns one per image.
 *
 * Gradient: `∇L = Aᵀ(A x − y) / σ²` in closed form for a linear `A`, and
 * `A.vjp(x, (A(x) − y) / σ²)` for a non-linear one. Gauss–Newton weight: `W = 1/σ²`.
 *
 * @param operator the forward map `A` (not owned: the caller disposes it)
 * @param options `sigma`: a number, or one value per image (the batch size must match)
 * @example
 * const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
 * const y = lik.sample(x, 42);          // x + 0.1·n
 * const g = lik.grad(x0, y);            // (x0 − y) / 0.01
 */
export function gaussianLikelihood(operator: Operator, options: GaussianOptions): Likelihood {
  const sigmas = typeof options.sigma === 'number' ? [options.sigma] : options.sigma;
  if (sigmas.length === 0 || !sigmas.every((s) => Number.isFinite(s) && s > 0)) {
    throw new Error(`gaussian: sigma must be finite and > 0, got ${JSON.stringify(options.sigma)}`);
  }
  const name = `gaussian(σ=${typeof options.sigma === 'number' ? options.sigma : 'per image'}) ∘ ${operator.name}`;
  /** 1/σ² broadcasting against [b, h', w', c']. */
  const invVariance = (batch: number): tf.Tensor =>
    tf.tidy(() => tf.reciprocal(tf.square(perImage(name, 'sigma', options.sigma, batch))));
  return defineLikelihood({
    name,
    operator,
    // Σ r² · 1/(2σ²) per image
    perImage: (z, y) => tf.mul(tf.sum(tf.square(tf.sub(z, y)), [1, 2, 3]), tf.mul(tf.reshape(invVariance(z.shape[0]), [-1]), 0.5)) as tf.Tensor1D,
    dz: (z, y) => tf.mul(tf.sub(z, y), invVariance(z.shape[0])) as tf.Tensor4D, // (A(x) − y)/σ²
    weight: (x) => invVariance(x.shape[0]),
    std: (z) => perImage(name, 'sigma', options.sigma, z.shape[0]),
  });
}
