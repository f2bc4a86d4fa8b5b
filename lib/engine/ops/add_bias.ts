/**
 * `y + b` for a per-channel bias, differentiated with the engine's bias gradient.
 */
import { tf } from '../tf';
import { biasAddGrad } from '../kernels/bias_add_grad';

const biasAddOp = tf.customGrad(((y: tf.Tensor, bias: tf.Tensor) => ({
  value: tf.add(y, bias),
  gradFunc: (dy: tf.Tensor) => [tf.reshape(dy, y.shape), biasAddGrad(dy)],
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (y: tf.Tensor, bias: tf.Tensor) => tf.Tensor;

/**
 * `y + b` for a bias `b` `[C]` broadcast along the channels of `y` `[..., C]`, whose bias
 * gradient is {@link biasAddGrad} (the backend's `BiasAddGrad` kernel where one is registered)
 * instead of tfjs's broadcast-add gradient `sum(dy, [0, 1, 2])`, which the wasm backend runs as a
 * transpose followed by a reduction. Any other bias (not rank 1, not matching the channels, or
 * not float32): the plain broadcast `tf.add`. Same values up to float32 summation order.
 * @param y `[..., C]`
 * @param bias `[C]`
 * @returns `[..., C]`
 * @example
 * const y = addBias(tf.conv2dTranspose(x, w, [b, 2 * h, 2 * w, c], 2, 'same'), bias); // [b, 2h, 2w, c]
 */
export function addBias<T extends tf.Tensor>(y: T, bias: tf.Tensor): T {
  if (bias.rank !== 1 || y.rank < 1 || y.shape[y.rank - 1] !== bias.size || y.dtype !== 'float32' || bias.dtype !== 'float32') return tf.add(y, bias) as T;
  return biasAddOp(y, bias) as T;
}
