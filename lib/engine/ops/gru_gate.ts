/**
 * The conv-GRU gate as one op: from `ih = W x + b_i` and `hh = U h + b_h` (`[b, h, w, 3F]`, the
 * gates r | z | n on the channels, as `torch.nn.GRUCell` chunks them) and `h` (`[b, h, w, F]`),
 * `h' = n + z (h − n)` with `r = σ(ih_r + hh_r)`, `z = σ(ih_z + hh_z)`, `n = tanh(ih_n + r hh_n)`.
 *
 * Where the native addon's `LgdGruGate` / `LgdGruGateGrad` kernels are registered
 * (`lib/engine/native.ts`), it is one kernel forward and one backward (OpenMP over the pixels)
 * in place of ~15 single-threaded wasm element-wise kernels forward and ~30 backward per GRU
 * step; elsewhere the same equations as tfjs ops (the gates split off the channels, tanh as
 * {@link fastTanh}). First-order gradients on the native path (the learned solvers are trained
 * with one backward pass).
 */
import { GRU_GATE, GRU_GATE_GRAD, gruGateKernelsActive } from '../native';
import { tf } from '../tf';
import { fastTanh } from './fast_tanh';

const gruGateGradConfig: tf.GradConfig = {
  kernelName: GRU_GATE,
  inputsToSave: ['ih', 'hh', 'h'],
  gradFunc: (dy, saved) => {
    const [ih, hh, h] = saved;
    const [dih, dhh, dh] = tf.engine().runKernel(GRU_GATE_GRAD, { ih, hh, h, dy: dy as tf.Tensor }, {}) as tf.Tensor[];
    return { ih: () => dih, hh: () => dhh, h: () => dh };
  },
};

/**
 * The gate (see the file header).
 * @param ih `W x + b_i`, `[b, h, w, 3F]`
 * @param hh `U h + b_h`, `[b, h, w, 3F]`
 * @param h the hidden state, `[b, h, w, F]`
 * @returns `h'`, `[b, h, w, F]`
 * @throws naming the shapes when they do not fit
 * @example
 * const hNext = gruGate(convBias(x, Wi, bi), convBias(h, Wh, bh), h);
 */
export function gruGate(ih: tf.Tensor4D, hh: tf.Tensor4D, h: tf.Tensor4D): tf.Tensor4D {
  const F = h.shape[3];
  const fits = (t: tf.Tensor4D) => t.dtype === 'float32' && t.rank === 4 && t.shape[3] === 3 * F && [0, 1, 2].every((i) => t.shape[i] === h.shape[i]);
  if (h.dtype !== 'float32' || h.rank !== 4 || !fits(ih) || !fits(hh)) {
    throw new Error(`gruGate: ih [${ih.shape}] and hh [${hh.shape}] must be float32 [b, h, w, 3F] for h [${h.shape}] (F = ${F})`);
  }
  if (gruGateKernelsActive()) {
    if (tf.getGradient(GRU_GATE) !== gruGateGradConfig) tf.registerGradient(gruGateGradConfig);
    return tf.engine().runKernel(GRU_GATE, { ih, hh, h }, {}) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const [xr, xz, xn] = tf.split(ih, 3, 3);
    const [ur, uz, hn] = tf.split(hh, 3, 3);
    const r = tf.sigmoid(tf.add(xr, ur));
    const z = tf.sigmoid(tf.add(xz, uz));
    const n = fastTanh(tf.add(xn, tf.mul(r, hn)));
    return tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor4D;
  });
}
