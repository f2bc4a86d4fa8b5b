/** Losses over the iterates of a learned solver. */
import { tf } from '../engine/tf';

/**
 * `Σ_t w_t L(y, x_t) / |y| / Σ_t w_t`: the data term (negative log-likelihood) of the iterates, per
 * entry of the measurement, weighted over steps as {@link iterateLoss}. For semantic synthesis,
 * `L` = the cross-entropy through φ over labelled pixels, so this is the CE per pixel of the label map.
 * @param value `L(y, x)` of one iterate (a scalar, differentiable in `x`)
 * @param entries `|y|`, the number of entries of the measurement
 * @example
 * const d = iterateDataTerm(xs, (x) => likelihood.value(x, y), y.size);
 */
export function iterateDataTerm(iterates: tf.Tensor4D[], value: (x: tf.Tensor4D) => tf.Scalar, entries: number, weights?: readonly number[]): tf.Scalar {
  if (iterates.length === 0) throw new Error('iterateDataTerm: no iterates');
  if (weights && weights.length < iterates.length) throw new Error(`iterateDataTerm: ${weights.length} step weights for ${iterates.length} iterates`);
  if (!(entries > 0)) throw new Error(`iterateDataTerm: entries must be positive, got ${entries}`);
  return tf.tidy(() => {
    const w = weights ? weights.slice(0, iterates.length) : iterates.map(() => 1);
    const total = w.reduce((a, b) => a + b, 0);
    return tf.addN(iterates.map((x, t) => tf.mul(value(x), w[t] / total / entries))) as tf.Scalar;
  });
}

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
