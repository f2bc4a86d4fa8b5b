/** Tensor comparisons shared by the model tests. */
import { tf } from '../../lib/engine';

/**
 * max |a − b| over all elements, as a number; the intermediate tensors are freed.
 * Pass tensors that already exist: a tensor built in the argument list would outlive the call.
 * @example
 * assert.ok(maxAbsDiff(deepened, saved) < 1e-6);
 */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}
