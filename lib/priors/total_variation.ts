/** Smoothed (Charbonnier) isotropic total variation. */
import { tf } from '../engine/tf';
import { checkImage, checkNonNegative } from './checks';
import { imageGradient, imageGradientAdjoint } from './finite_differences';
import { Prior } from './types';

/**
 * Options of {@link totalVariation}.
 * @example
 * totalVariation({ lambda: 0.05, epsilon: 1e-3 });
 */
export interface TotalVariationOptions {
  /** Weight λ ≥ 0. */
  lambda: number;
  /** Smoothing ε > 0 (default 1e-2, for images in [0, 1]); ε → 0 gives the plain TV. */
  epsilon?: number;
}

/**
 * Smoothed isotropic total variation, isotropic over the two directions and summed over
 * channels (each channel separately, no coupling):
 *
 * `φ(x) = λ Σ_{n,i,j,c} sqrt((D_v x)² + (D_h x)² + ε²)`
 *
 * with the forward differences and Neumann boundary of {@link imageGradient} (so a constant image
 * has `φ = λ·ε·h·w·c` per image, not 0). Gradient in closed form:
 * `∇φ(x) = λ ∇ᵀ(∇x / s)`, `s = sqrt(|∇x|² + ε²)`. Hessian approximation (lagged diffusivity,
 * Vogel & Oman): `H(x) v = λ ∇ᵀ(∇v / s)`, positive semi-definite.
 *
 * @param options `lambda` and `epsilon`
 * @example
 * const tv = totalVariation({ lambda: 0.05, epsilon: 1e-2 });
 * const g = tv.grad(x); // [b, h, w, c]
 */
export function totalVariation(options: TotalVariationOptions): Prior {
  const lambda = options.lambda;
  const epsilon = options.epsilon ?? 1e-2;
  checkNonNegative('total variation', 'lambda', lambda);
  checkNonNegative('total variation', 'epsilon', epsilon, true);
  const name = `tv(λ=${lambda}, ε=${epsilon})`;
  /** s = sqrt(|∇x|² + ε²) and ∇x. */
  const magnitude = (x: tf.Tensor4D) => {
    const [dv, dh] = imageGradient(x);
    const s = tf.sqrt(tf.addN([tf.square(dv), tf.square(dh), tf.fill(x.shape, epsilon * epsilon)])); // [b, h, w, c]
    return { dv, dh, s };
  };
  const prior: Prior = {
    name,
    valuePerImage(x) {
      checkImage(name, x);
      return tf.tidy(() => tf.mul(tf.sum(magnitude(x).s, [1, 2, 3]), lambda) as tf.Tensor1D);
    },
    value(x) {
      return tf.tidy(() => tf.sum(prior.valuePerImage(x)) as tf.Scalar);
    },
    grad(x) {
      checkImage(name, x);
      return tf.tidy(() => {
        const { dv, dh, s } = magnitude(x);
        const scale = tf.div(lambda, s);
        return imageGradientAdjoint(tf.mul(dv, scale) as tf.Tensor4D, tf.mul(dh, scale) as tf.Tensor4D);
      });
    },
    hessianApprox(x, v) {
      checkImage(name, x, v);
      return tf.tidy(() => {
        const scale = tf.div(lambda, magnitude(x).s);
        const [gv, gh] = imageGradient(v);
        return imageGradientAdjoint(tf.mul(gv, scale) as tf.Tensor4D, tf.mul(gh, scale) as tf.Tensor4D);
      });
    },
  };
  return prior;
}
