/** Gradient clipping by global norm. */
import { tf } from '../engine/tf';

/**
 * The global norm `‖g‖ = sqrt(Σ_i ‖g_i‖²)` of a set of gradients, and the gradients scaled by
 * `min(1, maxNorm / ‖g‖)` (unchanged when `maxNorm` is 0 or the norm is within it).
 * @returns the clipped gradients (new tensors, the caller disposes them) and the norm before clipping (scalar tensor)
 * @example
 * const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
 */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return tf.tidy(() => {
    const names = Object.keys(grads);
    const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))) as tf.Scalar;
    if (!(maxNorm > 0)) return { grads: Object.fromEntries(names.map((n) => [n, tf.clone(grads[n])])), norm };
    const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-12)));
    return { grads: Object.fromEntries(names.map((n) => [n, tf.mul(grads[n], scale)])), norm };
  });
}
