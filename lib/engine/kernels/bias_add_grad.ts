/**
 * `BiasAddGrad` (TensorFlow's name for it): the gradient of a per-channel bias,
 * `db[c] = Σ_{b, y, x} dy[b, y, x, c]`, i.e. the sum of `dy` `[..., C]` over every axis but the
 * last. tfjs has no such kernel; its broadcast-add gradient runs `sum(dy, [0, 1, 2])`, which the
 * wasm backend executes as a transpose followed by a reduction (~0.9 ms for `[8, 32, 32, 32]`).
 *
 * - wasm ({@link biasAddGradWasm}): `dyᵀ · 1` as one XNNPACK matrix product `[C, M]·[M, 1]`
 *   (`M` = everything but the channels; ~0.5 ms for the shape above; no transpose of `dy`).
 * - with the native oneDNN convolutions (`lib/engine/native.ts`): replaced there by a oneDNN
 *   weight-gradient reduction (~0.08 ms).
 * - any other backend: no kernel is registered and {@link biasAddGrad} sums with `tf.sum`.
 *
 * Its own gradient (needed for second-order gradients of a biased convolution) broadcasts the
 * incoming `[C]` gradient back over `dy`'s shape.
 */
import { tf } from '../tf';
import { WASM, WasmBackendLike, WasmScope, sizeOf } from './wasm_util';

/** The kernel name. */
export const BIAS_ADD_GRAD = 'BiasAddGrad';

/** `[..., C]` → `(M, C)` with `M` the product of the other dimensions; throws naming the kernel on a scalar. */
function rows(shape: readonly number[]): [number, number] {
  if (shape.length < 1) throw new Error(`${BIAS_ADD_GRAD}: dy must have at least one dimension, got a scalar`);
  const c = shape[shape.length - 1];
  return [c === 0 ? 0 : sizeOf(shape) / c, c];
}

/**
 * Kernel function (wasm): input `dy` `[..., C]` float32, output `[C]`.
 * @throws naming the kernel when `dy` is not float32
 */
export function biasAddGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy } = args.inputs as { dy: tf.TensorInfo };
  if (dy.dtype !== 'float32') throw new Error(`${BIAS_ADD_GRAD}: float32 only, got ${dy.dtype}`);
  const [m, c] = rows(dy.shape);
  if (m === 0 || c === 0) {
    const out = backend.makeOutput([c], 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
    return out;
  }
  const scope = new WasmScope(backend);
  try {
    const ones = scope.alloc([m, 1]);
    scope.view(ones).fill(1);
    const db = scope.run('BatchMatMul', { a: scope.reshape(dy, [m, c]), b: ones }, { transposeA: true, transposeB: false }); // [C, 1]
    return scope.keep(scope.reshape(db, [c]));
  } finally {
    scope.dispose();
  }
}

/** Kernel config registering {@link biasAddGradWasm} for the wasm backend. */
export const biasAddGradConfig: tf.KernelConfig = {
  kernelName: BIAS_ADD_GRAD,
  backendName: WASM,
  kernelFunc: biasAddGradWasm as unknown as tf.KernelFunc,
};

/** Gradient of `BiasAddGrad` (linear): `d/d dy = broadcast(ddb)` over `dy`'s shape. */
export const biasAddGradGradConfig: tf.GradConfig = {
  kernelName: BIAS_ADD_GRAD,
  inputsToSave: ['dy'],
  gradFunc: (ddb, saved) => {
    const [dy] = saved;
    return { dy: () => tf.broadcastTo(ddb as tf.Tensor, dy.shape) };
  },
};

/**
 * `Σ dy` over every axis but the last: `[..., C] → [C]`, the gradient of a per-channel bias.
 * Runs the `BiasAddGrad` kernel registered for the active backend (wasm, or the native oneDNN
 * one, see the file header); where none is registered (cpu, tensorflow) or `dy` is not float32,
 * `tf.sum`. Differentiable. Same values up to float32 summation order.
 * @param dy `[..., C]`
 * @returns `[C]`
 * @example
 * const db = biasAddGrad(dy); // [8, 32, 32, 32] -> [32]
 */
export function biasAddGrad(dy: tf.Tensor): tf.Tensor1D {
  const [m, c] = rows(dy.shape);
  if (dy.dtype === 'float32' && tf.getKernel(BIAS_ADD_GRAD, tf.getBackend())) return tf.engine().runKernel(BIAS_ADD_GRAD, { dy }) as tf.Tensor1D;
  return tf.tidy(() => tf.sum(tf.reshape(dy, [m, c]), 0) as tf.Tensor1D);
}
