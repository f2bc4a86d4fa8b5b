/**
 * `Identity` and same-dtype `Cast` on the wasm backend without a copy.
 *
 * tfjs-backend-wasm 4.22 copies the data for both (a new heap buffer and a memcpy), where its own
 * `Reshape` and the cpu backend's `Identity` share the input's buffer and count a reference. On
 * a training step most of these copies come from the engine itself: every tensor a gradient needs
 * is saved for the backward pass with `clone` (= `Identity`), ~930 copies per RIM-bench step, and
 * the gradients of `Multiply`, `RealDiv` and `Relu` cast float32 to float32 (~120 more). Sharing
 * is safe because no kernel writes into its inputs: tfjs tensors are immutable, variables take a
 * new buffer on `assign`, and every kernel of this repository (wasm and native) writes only to the
 * outputs it allocates. The values are bit for bit those of the copying kernels.
 */
import { tf } from '../tf';
import { WASM } from './wasm_util';

/** The backend calls the sharing kernels use. */
interface SharingBackend {
  incRef(dataId: tf.DataId): void;
}

/** `Identity` that shares the input's buffer (refCount + 1), as `Reshape` does. */
export function identityShared(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  (args.backend as SharingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * A `Cast` kernel that shares the buffer when the dtype does not change and otherwise runs
 * `convert` (the backend's own kernel).
 */
export function castSharedWith(convert: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (args.attrs?.dtype === x.dtype && x.dtype !== 'string') return identityShared(args);
    return convert(args as unknown as Parameters<tf.KernelFunc>[0]);
  }) as unknown as tf.KernelFunc;
}

/** The kernel config of {@link identityShared} for the wasm backend. */
export const identitySharedConfig: tf.KernelConfig = {
  kernelName: 'Identity',
  backendName: WASM,
  kernelFunc: identityShared as unknown as tf.KernelFunc,
};

/** The sharing `Cast` around the wasm backend's own (for `registerWasmKernels`; none if it has none). */
export function castSharedConfigs(): tf.KernelConfig[] {
  const own = tf.getKernel('Cast', WASM);
  return own ? [{ ...own, kernelFunc: castSharedWith(own.kernelFunc) }] : [];
}
