/** A convolutional GRU cell with the gate equations of `torch.nn.GRUCell`. */
import { tf } from '../../engine/tf';
import { fastTanh, gruGate } from '../../engine/ops';
import { Conv2d, convBias } from './conv';
import { ParamSet } from './params';

// fastTanh lives with the engine's ops (the fused GRU gate composes it where no native kernel runs)
export { fastTanh };

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
 * With a hidden state: one convolution each for `W x + b_i` and `U h + b_h` (3F channels) and the
 * gate after them as one op ({@link gruGate}: one native kernel forward and one backward with the
 * addon, tfjs ops after a channel split elsewhere). A zero hidden state (`h = null`, the first
 * step) skips the hidden convolution (`U·0 = 0`, only its bias remains) and runs one convolution
 * per gate with the kernel's slices (no activation split), r and z taking `b_i + b_h` once (same
 * sums up to float32 rounding); tanh is {@link fastTanh}.
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
      if (h) return gruGate(this.ih.apply(x), this.hh.apply(h), h); // one conv each to 3F (with bias), then the gate as one op
      // h = 0: U h = 0, only the hidden biases remain; one convolution per gate (sliced kernel, bias inside)
      const wx = (gate: number, bias: tf.Tensor) => convBias(x, this.ih.kernelOutputs(gate * F, F), bias); // W_g x + bias, [b, h, w, F]
      const bi = (gate: number) => this.ih.biasOutputs(gate * F, F); // [F]
      const bh = (gate: number) => this.hh.biasOutputs(gate * F, F);
      // h' = (1 − z) n
      const r = tf.sigmoid(wx(0, tf.add(bi(0), bh(0))));
      const z = tf.sigmoid(wx(1, tf.add(bi(1), bh(1))));
      const n = fastTanh(tf.add(wx(2, bi(2)), tf.mul(r, bh(2)))) as tf.Tensor4D;
      return tf.mul(tf.sub(1, z), n) as tf.Tensor4D;
    });
  }
}
