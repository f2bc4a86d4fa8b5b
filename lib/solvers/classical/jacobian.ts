/** Jacobian-vector products `J v` of forward operators, for Gauss–Newton. */
import { tf } from '../../engine/tf';
import { isLinear, Operator } from '../../operators/types';

/** An operator that may offer its own forward-mode product `jvp(x, v) = J_A(x) v`. */
type WithJvp = Operator & { jvp?: (x: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor4D };

/**
 * `J_A(x) v`, the directional derivative of `A` at `x` along `v`:
 * - linear `A`: `J v = A v` (`forward`);
 * - an operator with its own `jvp(x, v)` method: that;
 * - otherwise the *double-vjp trick*: `u ↦ J_A(x)ᵀ u = A.vjp(x, u)` is linear in `u`, so
 *   `J v = ∇_u <A.vjp(x, u), v>` (evaluated at `u = 0`), one reverse-mode pass through the vjp
 *   (tfjs has no forward mode). This needs `A.vjp` to be differentiable in `u` (true when it is
 *   built from tfjs ops, e.g. with `tf.grad`).
 * @param operator the forward map `A`
 * @param x the linearisation point, `[b, h, w, c]`
 * @param v the direction, same shape as `x`
 * @returns `[b, h', w', c']`, shaped like `A(x)`
 * @example
 * const jv = jacobianVectorProduct(network, x, v); // ≈ (A(x + εv) − A(x − εv)) / 2ε
 */
export function jacobianVectorProduct(operator: Operator, x: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  if (isLinear(operator)) return operator.forward(v);
  const op = operator as WithJvp;
  if (typeof op.jvp === 'function') return op.jvp(x, v);
  return tf.tidy(() => {
    const u0 = tf.zeros(operator.outputShape(x.shape)); // [b, h', w', c']
    return tf.grad((u: tf.Tensor) => tf.sum(tf.mul(operator.vjp(x, u as tf.Tensor4D), v)))(u0) as tf.Tensor4D;
  });
}
