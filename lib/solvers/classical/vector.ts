/** Inner products and norms of whole image batches, read back as numbers (for line searches). */
import { tf } from '../../engine/tf';

/**
 * `<a, b> = Σ a_i b_i` over every element of the batch.
 * @param a any tensor
 * @param b a tensor of the same shape
 * @example
 * dot(tf.ones([1, 2, 2, 1]), tf.ones([1, 2, 2, 1])); // 4
 */
export function dot(a: tf.Tensor, b: tf.Tensor): number {
  const s = tf.tidy(() => tf.sum(tf.mul(a, b)));
  const v = s.dataSync()[0];
  s.dispose();
  return v;
}

/**
 * The Euclidean norm `‖a‖ = sqrt(Σ a_i²)` over every element.
 * @param a any tensor
 * @example
 * norm(tf.tensor1d([3, 4])); // 5
 */
export function norm(a: tf.Tensor): number {
  return Math.sqrt(Math.max(dot(a, a), 0));
}

/**
 * `‖a − b‖`.
 * @param a any tensor
 * @param b a tensor of the same shape
 * @example
 * distance(tf.tensor1d([1, 1]), tf.tensor1d([4, 5])); // 5
 */
export function distance(a: tf.Tensor, b: tf.Tensor): number {
  const d = tf.sub(a, b);
  const v = norm(d);
  d.dispose();
  return v;
}
