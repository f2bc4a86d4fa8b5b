/** Priors (regularisers) `φ(x)` of the objective `f(x) = L(y, x) + φ(x)`. */
import { tf } from '../engine/tf';

/**
 * A differentiable regulariser `φ(x)` on NHWC image batches `[b, h, w, c]`. Values are sums over
 * each image; `value` sums over the batch too.
 * @example
 * const prior: Prior = totalVariation({ lambda: 0.05 });
 * const g = prior.grad(x); // [b, h, w, c]
 */
export interface Prior {
  /** Human-readable name, used in errors and tables. */
  readonly name: string;
  /** `φ(x)` summed over the batch, a scalar. */
  value(x: tf.Tensor4D): tf.Scalar;
  /** `φ(x_n)` for each image, `[b]`. */
  valuePerImage(x: tf.Tensor4D): tf.Tensor1D;
  /** `∇φ(x)` in closed form, `[b, h, w, c]`. */
  grad(x: tf.Tensor4D): tf.Tensor4D;
  /**
   * `H(x) v` for a symmetric positive semi-definite approximation `H(x)` of `∇²φ(x)` (exact for
   * quadratic priors); used by Gauss–Newton's inner conjugate-gradient solves.
   * @param x the point of the approximation, `[b, h, w, c]`
   * @param v the direction, same shape
   */
  hessianApprox(x: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D;
}
