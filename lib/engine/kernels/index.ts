/**
 * Extra / faster kernels for the tfjs WebAssembly backend, registered by {@link registerWasmKernels}.
 *
 * - `Conv2DBackpropFilter` (missing in tfjs-backend-wasm 4.22, so `tf.grad` through `conv2d`
 *   failed): one XNNPACK forward conv with batch and channels swapped, see
 *   `conv2d_backprop_filter.ts`.
 * - `Conv2DBackpropInput` (the backend's own is a scalar C++ loop): one XNNPACK forward conv with
 *   the flipped filter, polyphase for strides > 1, see `conv2d_backprop_input.ts`. Also makes
 *   `tf.conv2dTranspose` fast.
 * - `BiasAddGrad` (the gradient of a per-channel bias, `Σ dy` over all axes but the channels):
 *   one XNNPACK matrix product, see `bias_add_grad.ts`.
 * - Gradients of `Conv2D` (and of the two kernels above) that support dilation, see
 *   `conv2d_grad.ts`, and of `FusedConv2D` with a linear activation (tfjs-core has none), see
 *   `fused_conv2d_grad.ts`: what lets `lib/engine/ops` run a biased convolution as one kernel.
 *
 * - `Concat` and `SplitV` copy narrow rows by a loop instead of one `set` / strided slice per
 *   row (the RIM's `[x, ∇]` input: rows of one value), see `concat.ts`.
 * - `Identity` and same-dtype `Cast` share the input's buffer instead of copying it (the engine
 *   clones every tensor a gradient saves), see `share.ts`.
 *
 * Everything heavy runs in XNNPACK through the backend's own `Conv2D` kernel; the glue is wasm
 * `Transpose` / `Slice` plus small JS loops over filter-sized data.
 */
import { tf } from '../tf';
import { biasAddGradConfig, biasAddGradWasm } from './bias_add_grad';
import { conv2dBackpropFilterConfig, conv2dBackpropFilterWasm } from './conv2d_backprop_filter';
import { conv2dBackpropInputConfig, conv2dBackpropInputWasm } from './conv2d_backprop_input';
import { registerConvGradients } from './conv2d_grad';
import { narrowCopyConfigs } from './concat';
import { castSharedConfigs, identitySharedConfig } from './share';
import { WASM } from './wasm_util';

export { conv2dBackpropFilterWasm, conv2dBackpropFilterConfig } from './conv2d_backprop_filter';
export { conv2dBackpropInputWasm, conv2dBackpropInputConfig, planDim } from './conv2d_backprop_input';
export type { DimPlan, BackpropInputAttrs } from './conv2d_backprop_input';
export type { BackpropFilterAttrs } from './conv2d_backprop_filter';
export {
  conv2dGradConfig,
  conv2dBackpropInputGradConfig,
  conv2dBackpropFilterGradConfig,
  registerConvGradients,
  dilatedKernelsActive,
  dilateFilter,
} from './conv2d_grad';
export { BIAS_ADD_GRAD, biasAddGrad, biasAddGradConfig, biasAddGradGradConfig, biasAddGradWasm } from './bias_add_grad';
export { fusedConv2dGradConfig } from './fused_conv2d_grad';
export { identityShared, identitySharedConfig, castSharedWith, castSharedConfigs } from './share';
export { concatWith, splitVWith, NARROW } from './concat';
export { WasmScope, wasmKernel } from './wasm_util';
export type { WasmBackendLike } from './wasm_util';

/** The wasm backend's own `Conv2DBackpropInput` kernel, saved before it is replaced (for benchmarks). */
let originalBackpropInput: tf.KernelConfig | undefined;

/**
 * The `Conv2DBackpropInput` kernel that tfjs-backend-wasm shipped with (a scalar C++ loop), as it
 * was before {@link registerWasmKernels} replaced it; undefined if it was never replaced.
 */
export function originalWasmBackpropInput(): tf.KernelConfig | undefined {
  return originalBackpropInput;
}

/** The sharing `Cast` and the narrow-row `Concat` / `SplitV`: built once around the backend's own kernels (`share.ts`, `concat.ts`). */
let wrapped: tf.KernelConfig[] | undefined;

function install(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, WASM);
  if (current?.kernelFunc === config.kernelFunc) return;
  if (current) {
    if (config.kernelName === 'Conv2DBackpropInput' && !originalBackpropInput) originalBackpropInput = current;
    tf.unregisterKernel(config.kernelName, WASM);
  }
  tf.registerKernel(config);
}

/**
 * Registers the kernels of this folder for the `wasm` backend (replacing `Conv2DBackpropInput`,
 * adding `Conv2DBackpropFilter` and `BiasAddGrad`) and the conv gradients (dilation-aware
 * `Conv2D`, `FusedConv2D`, `BiasAddGrad`). Idempotent; call it after the wasm backend is
 * registered (the engine does, when it picks wasm).
 * @example
 * require('@tensorflow/tfjs-backend-wasm');
 * await tf.setBackend('wasm');
 * registerWasmKernels();
 * const [dx, dw] = tf.grads((x, w) => tf.conv2d(x, w, 1, 'same').sum())([x, w]);
 */
export function registerWasmKernels(): void {
  install(conv2dBackpropFilterConfig);
  install(conv2dBackpropInputConfig);
  install(biasAddGradConfig);
  install(identitySharedConfig);
  wrapped ??= [...castSharedConfigs(), ...narrowCopyConfigs()];
  wrapped.forEach(install);
  registerConvGradients();
}

/** True once {@link registerWasmKernels} has installed this folder's kernels for wasm. */
export function wasmKernelsRegistered(): boolean {
  return (
    tf.getKernel('Conv2DBackpropFilter', WASM)?.kernelFunc === (conv2dBackpropFilterWasm as unknown as tf.KernelFunc) &&
    tf.getKernel('Conv2DBackpropInput', WASM)?.kernelFunc === (conv2dBackpropInputWasm as unknown as tf.KernelFunc) &&
    tf.getKernel(biasAddGradConfig.kernelName, WASM)?.kernelFunc === (biasAddGradWasm as unknown as tf.KernelFunc) &&
    tf.getKernel('Identity', WASM)?.kernelFunc === identitySharedConfig.kernelFunc
  );
}
