/** Losses over the iterates of a learned solver. */
import { tf } from '../engine/tf';

/**
 * `Σ_t w_t term(x_t) / Σ_t w_t` over the iterates: the step weighting every loss over iterates shares.
 * @param who the caller, named in errors
 * @param weights `w_t` (default all 1; a shorter list is an error)
 */
function weightedOverSteps(who: string, iterates: tf.Tensor4D[], term: (x: tf.Tensor4D) => tf.Scalar, weights?: readonly number[]): tf.Scalar {
  if (iterates.length === 0) throw new Error(`${who}: no iterates`);
  if (weights && weights.length < iterates.length) throw new Error(`${who}: ${weights.length} step weights for ${iterates.length} iterates`);
  return tf.tidy(() => {
    const w = weights ? weights.slice(0, iterates.length) : iterates.map(() => 1);
    const total = w.reduce((a, b) => a + b, 0);
    return tf.addN(iterates.map((x, t) => tf.mul(term(x), w[t] / total))) as tf.Scalar;
  });
}

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
  if (!(entries > 0)) throw new Error(`iterateDataTerm: entries must be positive, got ${entries}`);
  return weightedOverSteps('iterateDataTerm', iterates, (x) => tf.div(value(x), entries) as tf.Scalar, weights);
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
  return weightedOverSteps('iterateLoss', iterates, (x) => tf.mean(tf.squaredDifference(x, truth)) as tf.Scalar, weights);
}
