/** Losses over the iterates of a learned solver. */
import { tf } from '../engine/tf';

/**
 * `Σ_t w_t MSE(x_t, x) / Σ_t w_t`, the MSE averaged over pixels, channels and batch; with all
 * `w_t = 1` (default) the mean over steps of the MSE, the RIM paper's loss up to the factor T.
 * @param iterates `x_1 … x_T`, each `[b, h, w, c]`
 * @param truth `[b, h, w, c]`
 * @param weights `w_t` (default all 1; a shorter list is an error)
 * @example
 * const loss = iterateLoss(xs, clean); // scalar
 */
export function iterateLoss(iterates: tf.Tensor4D[], truth: tf.Tensor4D, weights?: readonly number[]): tf.Scalar {
  if (iterates.length === 0) throw new Error('iterateLoss: no iterates');
  if (weights && weights.length < iterates.length) throw new Error(`iterateLoss: ${weights.length} step weights for ${iterates.length} iterates`);
  return tf.tidy(() => {
    const w = weights ? weights.slice(0, iterates.length) : iterates.map(() => 1);
    const total = w.reduce((a, b) => a + b, 0);
    const terms = iterates.map((x, t) => tf.mul(tf.mean(tf.squaredDifference(x, truth)), w[t] / total));
    return tf.addN(terms) as tf.Scalar;
  });
}
