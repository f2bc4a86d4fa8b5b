/** Tikhonov regularisation of the image gradient (the discrete Dirichlet energy). */
import { tf } from '../engine/tf';
import { checkImage, checkNonNegative } from './checks';
import { imageGradient, imageGradientAdjoint } from './finite_differences';
import { Prior } from './types';

/**
 * Options of {@link tikhonovGradient}.
 * @example
 * tikhonovGradient({ lambda: 0.1 });
 */
export interface TikhonovGradientOptions {
  /** Weight λ ≥ 0. */
  lambda: number;
}

/**
 * Tikhonov regularisation on image gradients (forward differences, Neumann boundary, summed over
 * channels):
 *
 * `φ(x) = λ/2 ‖∇x‖² = λ/2 Σ [(D_v x)² + (D_h x)²]`,
 * `∇φ(x) = λ ∇ᵀ∇ x` (λ times the negative Neumann Laplacian), `∇²φ = λ ∇ᵀ∇` (exact, so
 * `hessianApprox(x, v) = λ ∇ᵀ∇ v` for every x).
 *
 * @param options `lambda`
 * @example
 * const prior = tikhonovGradient({ lambda: 0.1 });
 * prior.value(tf.ones([1, 8, 8, 1])); // 0: constant images are not penalised
 */
export function tikhonovGradient(options: TikhonovGradientOptions): Prior {
  const lambda = options.lambda;
  checkNonNegative('tikhonov', 'lambda', lambda);
  const name = `tikhonov-gradient(λ=${lambda})`;
  const laplacian = (x: tf.Tensor4D): tf.Tensor4D => {
    const [dv, dh] = imageGradient(x);
    return tf.mul(imageGradientAdjoint(dv, dh), lambda) as tf.Tensor4D;
  };
  const prior: Prior = {
    name,
    valuePerImage(x) {
      checkImage(name, x);
      return tf.tidy(() => {
        const [dv, dh] = imageGradient(x);
        return tf.mul(tf.add(tf.sum(tf.square(dv), [1, 2, 3]), tf.sum(tf.square(dh), [1, 2, 3])), lambda / 2) as tf.Tensor1D;
      });
    },
    value(x) {
      return tf.tidy(() => tf.sum(prior.valuePerImage(x)) as tf.Scalar);
    },
    grad(x) {
      checkImage(name, x);
      return tf.tidy(() => laplacian(x));
    },
    hessianApprox(x, v) {
      checkImage(name, x, v);
      return tf.tidy(() => laplacian(v));
    },
  };
  return prior;
}
