/**
 * The conv-GRU gate as one op, `h' = n + z (h − n)` with `r = σ(xr + ur)`, `z = σ(xz + uz)`,
 * `n = tanh(xn + r hn)`.
 *
 * Where the native addon's `LgdGruGate` / `LgdGruGateGrad` kernels are registered
 * (`lib/engine/native.ts`), it is one kernel forward and one backward (OpenMP over the values)
 * in place of ~15 single-threaded wasm element-wise kernels forward and ~30 backward per GRU
 * step; elsewhere the same equations as tfjs ops (tanh as {@link fastTanh}). First-order
 * gradients on the native path (the learned solvers are trained with one backward pass).
 */
import { GRU_GATE, GRU_GATE_GRAD, gruGateKernelsActive } from '../native';
import { tf } from '../tf';
import { fastTanh } from './fast_tanh';

const INPUTS = ['xr', 'ur', 'xz', 'uz', 'xn', 'hn', 'h'] as const;

const gruGateGradConfig: tf.GradConfig = {
  kernelName: GRU_GATE,
  inputsToSave: [...INPUTS],
  gradFunc: (dy, saved) => {
    const inputs = Object.fromEntries(INPUTS.map((k, i) => [k, saved[i]]));
    const [dr, dz, dn, dhn, dh] = tf.engine().runKernel(GRU_GATE_GRAD, { ...inputs, dy: dy as tf.Tensor }, {}) as tf.Tensor[];
    // ∂xr = ∂ur and ∂xz = ∂uz: one tensor each, and a (buffer-sharing) clone for the second input
    return { xr: () => dr, ur: () => tf.clone(dr), xz: () => dz, uz: () => tf.clone(dz), xn: () => dn, hn: () => dhn, h: () => dh };
  },
};

/**
 * The gate (see the file header). All seven inputs `[b, h, w, F]`, float32.
 * @throws naming the input whose dtype or shape differs from `h`'s
 * @example
 * const hNext = gruGate(wxr, uhr, wxz, uhz, wxn, uhn, h); // [b, h, w, F]
 */
export function gruGate(xr: tf.Tensor4D, ur: tf.Tensor4D, xz: tf.Tensor4D, uz: tf.Tensor4D, xn: tf.Tensor4D, hn: tf.Tensor4D, h: tf.Tensor4D): tf.Tensor4D {
  const all = [xr, ur, xz, uz, xn, hn, h];
  all.forEach((t, i) => {
    if (t.dtype !== 'float32' || t.shape.length !== h.shape.length || t.shape.some((d, k) => d !== h.shape[k])) {
      throw new Error(`gruGate: ${INPUTS[i]} is ${t.dtype} [${t.shape}], expected float32 [${h.shape}] like h`);
    }
  });
  if (gruGateKernelsActive()) {
    if (tf.getGradient(GRU_GATE) !== gruGateGradConfig) tf.registerGradient(gruGateGradConfig);
    return tf.engine().runKernel(GRU_GATE, Object.fromEntries(INPUTS.map((k, i) => [k, all[i]])), {}) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const r = tf.sigmoid(tf.add(xr, ur));
    const z = tf.sigmoid(tf.add(xz, uz));
    const n = fastTanh(tf.add(xn, tf.mul(r, hn)));
    return tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor4D;
  });
}
