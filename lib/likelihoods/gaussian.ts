/** The Gaussian likelihood with known noise level: `y = A(x) + σ·n`, `n ~ N(0, I)`. */
import { tf } from '../engine/tf';
import { isLinear, Operator } from '../operators/types';
import { checkMeasurement, perImage } from './shapes';
import { Likelihood, resolveSeed } from './types';

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
  /** The scaled residual (A(x) − y)/σ², [b, h', w', c']. */
  const scaledResidual = (x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D =>
    tf.mul(tf.sub(operator.forward(x), y), invVariance(x.shape[0])) as tf.Tensor4D;

  const likelihood: Likelihood = {
    name,
    operator,
    valuePerImage(x, y) {
      checkMeasurement(name, operator, x, y);
      return tf.tidy(() => {
        const r = tf.sub(operator.forward(x), y); // [b, h', w', c']
        const w = tf.reshape(invVariance(x.shape[0]), [-1]); // [1] or [b]
        return tf.mul(tf.sum(tf.square(r), [1, 2, 3]), tf.mul(w, 0.5)) as tf.Tensor1D; // [b]
      });
    },
    value(x, y) {
      return tf.tidy(() => tf.sum(likelihood.valuePerImage(x, y)) as tf.Scalar);
    },
    grad(x, y) {
      checkMeasurement(name, operator, x, y);
      return tf.tidy(() => {
        const v = scaledResidual(x, y); // [b, h', w', c']
        return isLinear(operator) ? operator.adjoint(v) : operator.vjp(x, v); // [b, h, w, c]
      });
    },
    gaussNewtonWeight(x) {
      return invVariance(x.shape[0]);
    },
    sample(x, seed) {
      const s = resolveSeed(seed);
      return tf.tidy(() => {
        const z = operator.forward(x); // [b, h', w', c']
        const sigma = perImage(name, 'sigma', options.sigma, x.shape[0]);
        return tf.add(z, tf.mul(sigma, tf.randomNormal(z.shape, 0, 1, 'float32', s))) as tf.Tensor4D;
      });
    },
  };
  return likelihood;
}
