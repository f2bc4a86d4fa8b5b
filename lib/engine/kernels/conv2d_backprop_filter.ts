/**
 * `Conv2DBackpropFilter` for the wasm backend (which has none), as ONE XNNPACK forward convolution.
 *
 * Formula. For a forward conv `y = conv2d(x, w)` with stride s, dilation d and padding
 * (top, left), the filter gradient is
 *
 *     dW[kh, kw, ci, co] = sum_{b, y, x} xpad[b, y*s + kh*d, x*s + kw*d, ci] * dy[b, y, x, co]
 *
 * where xpad is x with `top`/`left` zero rows/columns in front. Rename the axes:
 *   - X' = transpose(x)  -> [ci, H, W, b]        (the input channels become the *batch*,
 *                                                 the batch becomes the *channels*),
 *   - F' = transpose(dy) -> [oH, oW, b, co]      (dy becomes the *filter*).
 * Then
 *
 *     dW'[ci, kh, kw, co] = sum_{y, x, b} X'pad[ci, kh*d + y*s, kw*d + x*s, b] * F'[y, x, b, co]
 *
 * is exactly a forward `conv2d(X', F')` with stride = d (the original dilation), dilation = s (the
 * original stride) and explicit padding (top, left, plus whatever bottom/right makes the output
 * kh x kw; when the input is longer than needed the output is larger and gets cropped).
 * Finally dW = transpose(dW') -> [kh, kw, ci, co].
 *
 * Why it is fast: the O(B*oH*oW*kh*kw*ci*co) reduction runs inside XNNPACK's SIMD igemm (the same
 * path as the forward conv); the extra work is two O(|x| + |dy|) transposes (wasm `Transpose`
 * kernel), XNNPACK packing dy as "weights" (O(|dy|)), and an O(|dW|) JS rearrangement of the small
 * result. Measured (single-threaded wasm SIMD): 9-16 GFLOP/s vs 26-30 for the forward conv, i.e.
 * 1.7-2.5x the forward time (the worst case is batch 1, where each filter tap of the internal conv
 * has a single input channel). The only other implementation tfjs has, the cpu backend's scalar JS
 * loop, is ~1000x slower.
 *
 * Extension: an optional `dilations` attribute (not sent by tfjs itself, whose conv2d gradient
 * only allows dilation 1) is honoured; `conv2d_grad.ts` uses it for dilated convolutions.
 * Both 'NHWC' and 'NCHW' data formats are accepted (NCHW only changes the two permutations).
 */
import { tf } from '../tf';
import { ConvGradAttrs, convGradInfo, WASM, WasmBackendLike, WasmScope } from './wasm_util';

/** Attributes of `Conv2DBackpropFilter`, plus the optional `dilations` extension. */
export interface BackpropFilterAttrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/**
 * Kernel function: filter gradient of a 2-D convolution via one XNNPACK conv (see file header).
 * Inputs `x` (the forward input) and `dy` (gradient of the forward output); output `[kh,kw,ci,co]`.
 */
export function conv2dBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  const { info, nchw, kh, kw, ci, co, sh, sw, dh, dw } = convGradInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs, dy, x);
  const { inHeight: H, inWidth: W, outHeight: oH, outWidth: oW, batchSize: B } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows [−top, −top + needH) of the padded input are read by the forward conv.
  const needH = (oH - 1) * sh + (kh - 1) * dh + 1;
  const needW = (oW - 1) * sw + (kw - 1) * dw + 1;
  const bottom = Math.max(0, needH - top - H);
  const right = Math.max(0, needW - left - W);

  const result = backend.makeOutput([kh, kw, ci, co], 'float32');
  if (B * oH * oW === 0 || ci * co === 0) {
    (backend.typedArrayFromHeap(result) as Float32Array).fill(0);
    return result;
  }
  const scope = new WasmScope(backend);
  try {
    const xT = scope.transpose(x, nchw ? [1, 2, 3, 0] : [3, 1, 2, 0]); // [ci, H, W, B]
    const dyT = scope.transpose(dy, nchw ? [2, 3, 0, 1] : [1, 2, 0, 3]); // [oH, oW, B, co]
    const g = scope.run(
      'Conv2D',
      { x: xT, filter: dyT },
      {
        strides: [dh, dw],
        dilations: [sh, sw],
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
        dataFormat: 'NHWC',
      } as unknown as tf.NamedAttrMap,
    ); // [ci, gH >= kh, gW >= kw, co]
    const [, gH, gW] = g.shape;
    if (gH < kh || gW < kw) throw new Error(`Conv2DBackpropFilter: internal conv output [${g.shape}] too small`);
    // dW[a, b, c, :] = g[c, a, b, :]  (crop to kh x kw); rows of `co` values are contiguous.
    const src = scope.view(g);
    const dst = backend.typedArrayFromHeap(result) as Float32Array;
    let o = 0;
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        for (let c = 0; c < ci; c++) {
          const s = ((c * gH + a) * gW + b) * co;
          dst.set(src.subarray(s, s + co), o);
          o += co;
        }
      }
    }
    return result;
  } catch (err) {
    backend.disposeData(result.dataId);
    throw err;
  } finally {
    scope.dispose();
  }
}

/** Kernel config registering {@link conv2dBackpropFilterWasm} for the wasm backend. */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: WASM,
  kernelFunc: conv2dBackpropFilterWasm as unknown as tf.KernelFunc,
};
