/**
 * Gradients of `Conv2D` that also cover dilated convolutions.
 *
 * tfjs-core's own `Conv2D` gradient asserts `dilations == 1` ("dilation rates greater than 1 are
 * not yet supported in gradients"), on every backend. The replacement registered here:
 *
 * - dilation 1: exactly what tfjs-core does (the `Conv2DBackpropInput` / `Conv2DBackpropFilter`
 *   kernels with the forward attributes; `dimRoundingMode` is passed on as well);
 * - dilation > 1 (stride is then 1, tfjs forbids both > 1), on wasm with the kernels of this
 *   folder: the same two kernels with an extra `dilations` attribute, which they implement
 *   natively (XNNPACK dilation / stride swap, see their file headers): no extra work;
 * - dilation > 1 on any other backend: the dilated conv equals an undilated conv with the
 *   zero-inserted filter `w_d` of size (k-1)*d+1, so dx = Conv2DBackpropInput(dy, w_d) and
 *   dW = every d-th tap of Conv2DBackpropFilter(x, dy, shape of w_d). Portable, costs
 *   ((k-1)*d+1)^2 / k^2 of the work (2.8x for k = 3, d = 2).
 *
 * The gradients of `Conv2DBackpropInput` / `Conv2DBackpropFilter` (needed for second-order
 * gradients and for training `conv2dTranspose`) are replaced too, with the same formulas as
 * tfjs-core, but forwarding the `dilations` extension so that higher-order gradients of dilated
 * convolutions stay correct. Gradients are global (not per backend) in tfjs.
 */
import { tf } from '../tf';
import { conv2dBackpropFilterWasm } from './conv2d_backprop_filter';
import { conv2dBackpropInputWasm } from './conv2d_backprop_input';
import { biasAddGradGradConfig } from './bias_add_grad';
import { fusedConv2dGradConfig } from './fused_conv2d_grad';
import { WASM, pair } from './wasm_util';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Format = 'NHWC' | 'NCHW';

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: Format;
  dilations?: number | [number, number];
  dimRoundingMode?: Rounding;
}

/** True when the current backend is wasm and runs this folder's kernels (which accept `dilations`). */
export function dilatedKernelsActive(): boolean {
  if (tf.getBackend() !== WASM) return false;
  return (
    tf.getKernel('Conv2DBackpropInput', WASM)?.kernelFunc === (conv2dBackpropInputWasm as unknown as tf.KernelFunc) &&
    tf.getKernel('Conv2DBackpropFilter', WASM)?.kernelFunc === (conv2dBackpropFilterWasm as unknown as tf.KernelFunc)
  );
}

function isOne(d: number | [number, number] | undefined): boolean {
  const [a, b] = pair(d);
  return a === 1 && b === 1;
}

function backpropInput(inputShape: number[], dy: tf.Tensor, filter: tf.Tensor, a: ConvAttrs, withDilations: boolean): tf.Tensor4D {
  const attrs: Record<string, unknown> = {
    strides: a.strides,
    pad: a.pad,
    dataFormat: a.dataFormat,
    dimRoundingMode: a.dimRoundingMode,
    inputShape,
  };
  if (withDilations) attrs.dilations = a.dilations;
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as tf.NamedAttrMap) as tf.Tensor4D;
}

function backpropFilter(x: tf.Tensor, dy: tf.Tensor, filterShape: number[], a: ConvAttrs, withDilations: boolean): tf.Tensor4D {
  const attrs: Record<string, unknown> = {
    strides: a.strides,
    pad: a.pad,
    dataFormat: a.dataFormat,
    dimRoundingMode: a.dimRoundingMode,
    filterShape,
  };
  if (withDilations) attrs.dilations = a.dilations;
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as tf.NamedAttrMap) as tf.Tensor4D;
}

function forwardConv(x: tf.Tensor, filter: tf.Tensor, a: ConvAttrs): tf.Tensor4D {
  return tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, a.strides, a.pad, a.dataFormat, a.dilations ?? 1, a.dimRoundingMode);
}

/** `w[kh, kw, ci, co]` -> zero-inserted `[(kh-1)*dh+1, (kw-1)*dw+1, ci, co]`. */
export function dilateFilter(w: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = w.shape;
    const spread = tf.pad(tf.reshape(w, [kh, 1, kw, 1, ci, co]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
    const full = tf.reshape(spread, [kh * dh, kw * dw, ci, co]);
    return tf.slice(full, [0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]) as tf.Tensor4D;
  });
}

/** Gradient of `Conv2D` supporting dilations (see file header). */
export const conv2dGradConfig: tf.GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as ConvAttrs;
    const g = dy as tf.Tensor4D;
    if (isOne(a.dilations) || dilatedKernelsActive()) {
      const dil = !isOne(a.dilations);
      return {
        x: () => backpropInput(x.shape, g, filter, a, dil),
        filter: () => backpropFilter(x, g, filter.shape, a, dil),
      };
    }
    const [dh, dw] = pair(a.dilations);
    const [kh, kw, ci, co] = filter.shape;
    const keh = (kh - 1) * dh + 1;
    const kew = (kw - 1) * dw + 1;
    return {
      x: () => tf.tidy(() => backpropInput(x.shape, g, dilateFilter(filter, dh, dw), a, false)),
      filter: () =>
        tf.tidy(() => {
          const full = backpropFilter(x, g, [keh, kew, ci, co], a, false);
          return tf.stridedSlice(full, [0, 0, 0, 0], [keh, kew, ci, co], [dh, dw, 1, 1]) as tf.Tensor4D;
        }),
    };
  },
};

/**
 * Gradient of `Conv2DBackpropInput` (dx = B(dy, w), linear in both):
 * d/d dy = conv2d(ddx, w), d/d w = Conv2DBackpropFilter(ddx, dy), forwarding `dilations`.
 */
export const conv2dBackpropInputGradConfig: tf.GradConfig = {
  kernelName: 'Conv2DBackpropInput',
  inputsToSave: ['dy', 'filter'],
  gradFunc: (ddx, saved, attrs) => {
    const [dy, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as ConvAttrs;
    const g = ddx as tf.Tensor4D;
    const dil = !isOne(a.dilations);
    return {
      dy: () => forwardConv(g, filter, a),
      filter: () => backpropFilter(g, dy, filter.shape, a, dil),
    };
  },
};

/**
 * Gradient of `Conv2DBackpropFilter` (dW = F(x, dy), linear in both):
 * d/d x = Conv2DBackpropInput(dy, ddw), d/d dy = conv2d(x, ddw), forwarding `dilations`.
 */
export const conv2dBackpropFilterGradConfig: tf.GradConfig = {
  kernelName: 'Conv2DBackpropFilter',
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw, saved, attrs) => {
    const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as ConvAttrs;
    const g = ddw as tf.Tensor4D;
    const dil = !isOne(a.dilations);
    return {
      x: () => backpropInput(x.shape, dy, g, a, dil),
      dy: () => forwardConv(x, g, a),
    };
  },
};

/**
 * Registers the three gradient configs above, and those of `FusedConv2D` (linear: the `Conv2D`
 * gradient plus the bias gradient, `fused_conv2d_grad.ts`) and of `BiasAddGrad`
 * (`bias_add_grad.ts`), which tfjs-core lacks. Global, idempotent.
 */
export function registerConvGradients(): void {
  for (const config of [conv2dGradConfig, conv2dBackpropInputGradConfig, conv2dBackpropFilterGradConfig, fusedConv2dGradConfig, biasAddGradGradConfig]) {
    if (tf.getGradient(config.kernelName) !== config) tf.registerGradient(config);
  }
}
