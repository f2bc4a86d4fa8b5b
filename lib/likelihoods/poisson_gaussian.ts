/**
 * The Poisson–Gaussian likelihood in its heteroscedastic Gaussian approximation (Foi et al. 2008):
 * `y = z + sqrt(v(z))·n`, `z = A(x)`, `v(z) = a·z + b`, `n ~ N(0, I)`.
 */
import { tf } from '../engine/tf';
import { Operator } from '../operators/types';
import { defineLikelihood } from './define';
import { perImage } from './shapes';
import { Likelihood } from './types';

/**
 * Options of {@link poissonGaussianLikelihood}.
 * @example
 * const opts: PoissonGaussianOptions = { a: 0.01, b: 1e-4, bMin: 1e-4 };
 */
export interface PoissonGaussianOptions {
  /** Signal-dependent (Poisson) gain `a ≥ 0`: one for all images or one per image. */
  a: number | readonly number[];
  /** Signal-independent (Gaussian) variance `b ≥ 0`: one for all images or one per image. */
  b: number | readonly number[];
  /**
   * Floor of the variance, `v = max(a·z + b, bMin)` (> 0). Default `max(min b, 1e-6)`: for
   * `z ≤ 0` the model is then the Gaussian one with variance `b`, so `½ log v` cannot reward
   * negative intensities.
   */
  bMin?: number;
}

/**
 * The Poisson–Gaussian negative log-likelihood (constant `½ log 2π` dropped), summed over every
 * measurement value of an image:
 *
 * `L(y, x) = Σ [ (z − y)² / (2 v) + ½ log v ]`, `z = A(x)`, `v = max(a·z + b, bMin)`.
 *
 * Gradient: in closed form with respect to `z`,
 * `∂L/∂z = r/v + 𝟙[a z + b > bMin] · a · (1/(2v) − r²/(2v²))`, `r = z − y`,
 * then pulled back through the operator: `Aᵀ ∂L/∂z` for a linear one, else `A.vjp(x, ∂L/∂z)`.
 * Gauss–Newton weight: the Fisher information of `z`, `W = 1/v + 𝟙[a z + b > bMin] · a²/(2v²)`.
 *
 * The hard floor makes `L` non-differentiable where `a z + b = bMin` (at `z = 0` with the default
 * `bMin = b`): for dark pixels with `0 < y ≲ a/2` the minimiser can sit on that kink, where
 * gradient methods slow down.
 *
 * @param operator the forward map `A` (not owned)
 * @param options gain `a`, variance `b` and floor `bMin`
 * @example
 * const lik = poissonGaussianLikelihood(identity(), { a: 0.01, b: 1e-4 });
 * const y = lik.sample(x, 3);   // x + sqrt(0.01·x + 1e-4)·n
 * const nll = lik.value(x, y);  // scalar
 */
export function poissonGaussianLikelihood(operator: Operator, options: PoissonGaussianOptions): Likelihood {
  const as = typeof options.a === 'number' ? [options.a] : options.a;
  const bs = typeof options.b === 'number' ? [options.b] : options.b;
  if (as.length === 0 || !as.every((v) => Number.isFinite(v) && v >= 0)) {
    throw new Error(`poisson-gaussian: a must be finite and >= 0, got ${JSON.stringify(options.a)}`);
  }
  if (bs.length === 0 || !bs.every((v) => Number.isFinite(v) && v >= 0)) {
    throw new Error(`poisson-gaussian: b must be finite and >= 0, got ${JSON.stringify(options.b)}`);
  }
  const bMin = options.bMin ?? Math.max(Math.min(...bs), 1e-6);
  if (!(Number.isFinite(bMin) && bMin > 0)) throw new Error(`poisson-gaussian: bMin must be finite and > 0, got ${bMin}`);
  const name = `poisson-gaussian(a=${typeof options.a === 'number' ? options.a : 'per image'}, b=${typeof options.b === 'number' ? options.b : 'per image'}) ∘ ${operator.name}`;

  /** The raw variance a·z + b, its clamped value v and the "not clamped" indicator, all like z. */
  const variance = (z: tf.Tensor4D) => {
    const a = perImage(name, 'a', options.a, z.shape[0]);
    const raw = tf.add(tf.mul(a, z), perImage(name, 'b', options.b, z.shape[0])); // [b, h', w', c']
    const free = tf.step(tf.sub(raw, bMin)); // 1 where dv/dz = a (tf.step: a zero gradient, so learned solvers can backpropagate through the likelihood's gradient)
    return { a, v: tf.maximum(raw, bMin), free };
  };

  return defineLikelihood({
    name,
    operator,
    perImage: (z, y) => {
      const { v } = variance(z);
      const terms = tf.add(tf.div(tf.square(tf.sub(z, y)), tf.mul(v, 2)), tf.mul(tf.log(v), 0.5));
      return tf.sum(terms, [1, 2, 3]) as tf.Tensor1D;
    },
    dz: (z, y) => {
      const { a, v, free } = variance(z);
      const r = tf.sub(z, y);
      const dv = tf.mul(tf.mul(free, a), tf.sub(tf.div(0.5, v), tf.div(tf.square(r), tf.mul(tf.square(v), 2))));
      return tf.add(tf.div(r, v), dv) as tf.Tensor4D; // ∂L/∂z
    },
    weight: (_x, forward) => {
      const { a, v, free } = variance(forward());
      return tf.add(tf.reciprocal(v), tf.div(tf.mul(free, tf.square(a)), tf.mul(tf.square(v), 2)));
    },
    std: (z) => tf.sqrt(variance(z).v),
  });
}
