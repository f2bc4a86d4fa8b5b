/** A tanh that is fast on the wasm backend. */
import { tf } from '../tf';

/**
 * `tanh(x)` computed as `2·σ(2x) − 1`, with the gradient `dy·(1 − tanh²)`. The same function up
 * to float32 rounding (absolute error ≲ 2e-7; ±1 and NaN where tanh gives them); on the wasm
 * backend tfjs's `Tanh` is a scalar libm loop, about 9x slower than this (4.8 vs 0.54 ms on
 * [8, 32, 32, 32]: XNNPACK's vectorised `Sigmoid` and three elementwise ops).
 */
export const fastTanh = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const y = tf.tidy(() => tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1));
  save([y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [t]: tf.Tensor[]) => tf.mul(dy, tf.sub(1, tf.square(t))),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
