/** A convolutional GRU cell with the gate equations of `torch.nn.GRUCell`. */
import { tf } from '../../engine/tf';
import { Conv2d, convBias } from './conv';
import { ParamSet } from './params';

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

/**
 * Convolutional GRU (Ballas et al. 2016) with PyTorch's `nn.GRUCell` gates, the matrix products
 * replaced by k×k "same" convolutions (`W` on the input, `U` on the hidden state, each one conv
 * to 3F channels with its own bias, split as reset r, update z, candidate n):
 *
 * ```
 * r  = σ(W_r x + b_ir + U_r h + b_hr)
 * z  = σ(W_z x + b_iz + U_z h + b_hz)
 * n  = tanh(W_n x + b_in + r ⊙ (U_n h + b_hn))
 * h' = (1 − z) ⊙ n + z ⊙ h
 * ```
 *
 * Weights: `<name>/ih/{kernel,bias}` (`[k, k, c_in, 3F]`, `[3F]`) and `<name>/hh/{kernel,bias}`
 * (`[k, k, F, 3F]`, `[3F]`), initialised like PyTorch's `nn.Conv2d` (`U(±1/√fan_in)`, see
 * {@link Conv2d}), the convolutions of the PyTorch twin `shared/bench/rim_torch.py`. (PyTorch's own
 * `GRUCell` uses `U(±1/√F)` for every weight; the twin, and this cell, use conv layers.)
 * Parameters: `k²·c_in·3F + 3F + k²·F·3F + 3F`.
 *
 * A zero hidden state (`h = null`) skips the hidden convolution (`U·0 = 0`, only its bias remains).
 * Each gate is its own convolution with a slice of the 3F-wide kernels (same values as PyTorch's
 * chunk of one wide convolution; faster on the wasm backend, see {@link Conv2d.applyOutputs}).
 * For speed on wasm: the biases go into the input-side convolutions ({@link convBias}, one
 * `FusedConv2D` kernel on every backend), r and z taking `b_i + b_h` once (same sums up to
 * float32 rounding), and tanh is {@link fastTanh}.
 * @example
 * const params = new ParamSet(0);
 * const gru = new ConvGRU(params, 'gru1', 32, 32);
 * const h1 = gru.step(x, null); // [b, h, w, 32]
 * const h2 = gru.step(x, h1);
 * params.dispose();
 */
export class ConvGRU {
  readonly ih: Conv2d;
  readonly hh: Conv2d;

  /**
   * @param params where the weights are created
   * @param name logical name prefix
   * @param inChannels input channels c_in
   * @param hidden hidden channels F
   * @param kernel convolution size k (default 3)
   */
  constructor(params: ParamSet, name: string, inChannels: number, readonly hidden: number, kernel = 3) {
    this.ih = new Conv2d(params, `${name}/ih`, { inChannels, outChannels: 3 * hidden, kernel });
    this.hh = new Conv2d(params, `${name}/hh`, { inChannels: hidden, outChannels: 3 * hidden, kernel });
  }

  /**
   * One update `h' = GRU(x, h)`.
   * @param x input `[b, h, w, c_in]`
   * @param h hidden state `[b, h, w, F]`, or `null` for the zero state
   * @returns the new hidden state `[b, h, w, F]` (the caller disposes it)
   */
  step(x: tf.Tensor4D, h: tf.Tensor4D | null): tf.Tensor4D {
    const F = this.hidden;
    return tf.tidy(() => {
      // One convolution per gate (weights sliced, see Conv2d.applyOutputs): no activation splits.
      // Biases go into the input-side convolutions (convBias: one FusedConv2D kernel).
      const wx = (gate: number, bias: tf.Tensor) => convBias(x, this.ih.kernelOutputs(gate * F, F), bias); // W_g x + bias, [b, h, w, F]
      const uh = (gate: number) => (h ? this.hh.convOutputs(h, gate * F, F) : null); // U_g h, or null for h = 0
      const bi = (gate: number) => this.ih.biasOutputs(gate * F, F); // [F]
      const bh = (gate: number) => this.hh.biasOutputs(gate * F, F);
      // σ(W x + (b_i + b_h) + U h) for r and z
      const gate = (g: number) => {
        const pre = wx(g, tf.add(bi(g), bh(g)));
        const u = uh(g);
        return tf.sigmoid(u ? tf.add(pre, u) : pre) as tf.Tensor4D;
      };
      const r = gate(0); // [b, h, w, F]
      const z = gate(1);
      const hn = h ? convBias(h, this.hh.kernelOutputs(2 * F, F), bh(2)) : bh(2); // U_n h + b_hn, [b, h, w, F] or [F]
      const n = fastTanh(tf.add(wx(2, bi(2)), tf.mul(r, hn))) as tf.Tensor4D;
      // h' = (1 − z) n + z h = n + z (h − n)
      return (h ? tf.add(n, tf.mul(z, tf.sub(h, n))) : tf.mul(tf.sub(1, z), n)) as tf.Tensor4D;
    });
  }
}
