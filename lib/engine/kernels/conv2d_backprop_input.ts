/**
 * `Conv2DBackpropInput` (input gradient of conv2d, also the forward op of `tf.conv2dTranspose`)
 * for the wasm backend, as ONE XNNPACK forward convolution. It replaces the backend's own kernel,
 * a scalar C++ loop (5-15x slower than this one on typical shapes, see scripts/bench-kernels.ts).
 *
 * Formula. For a forward conv with stride s, dilation d, kernel k and top padding `top`
 * (one spatial dimension shown; the other is analogous, channels are summed over `co`):
 *
 *     dx[i] = sum_{kh : (i + top - kh*d) = y*s, 0 <= y < oH} w[kh] * dy[y]
 *
 * Stride 1: this is a plain correlation of dy with the spatially flipped filter
 * (`F[t] = w[k-1-t]`, in/out channels swapped to `[kh, kw, co, ci]`), dilation d, padding
 * `(k-1)*d - top` in front. One XNNPACK conv, no wasted multiplications.
 *
 * Stride s > 1 (polyphase / "sub-pixel" decomposition instead of zero-upsampling dy): write
 * u = i + top = m*s + p with phase p in [0, s). Only taps e = p + t*s of the (dilated, effective)
 * kernel hit phase p, so
 *
 *     Z[m, p] = sum_t w_eff[p + t*s] * dy[m - t]
 *
 * which, for all s*s (row, column) phases at once, is ONE stride-1 conv of dy with a filter of
 * ceil(k_eff/s)^2 taps and s*s*ci output channels (phase-major, zero where a phase has no tap).
 * The phases are then interleaved into rows/columns by one 4-D `Transpose` (depth-to-space) and
 * the `top mod s` / `left mod s` offset is cropped with `Slice` when needed.
 * Compared with zero-upsampling dy (s*s times more multiply-adds, 3/4 of them by zero for s = 2),
 * this does ceil(k/s)^2 * s^2 / k^2 of the ideal work (16/9 for k = 3, exactly 1 for k = 2, 4).
 *
 * Filter rearrangements are O(k^2 ci co) JS loops over the heap (small); the O(B H W k^2 ci co)
 * work runs in XNNPACK.
 *
 * Extension: an optional `dilations` attribute (not sent by tfjs itself) is honoured; it is used by
 * `conv2d_grad.ts` for dilated convolutions (stride 1: native XNNPACK dilation, no zeros).
 * 'NHWC' and 'NCHW' are accepted (NCHW through two extra transposes).
 */
import { tf } from '../tf';
import { ConvGradAttrs, convGradInfo, WASM, WasmBackendLike, WasmScope } from './wasm_util';

/** Attributes of `Conv2DBackpropInput`, plus the optional `dilations` extension. */
export interface BackpropInputAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/** How one spatial dimension of the input gradient is computed (see the file header). */
export interface DimPlan {
  /** Number of phases (the stride when > 1, else 1). */
  phases: number;
  /** Taps of the rearranged filter along this dimension. */
  taps: number;
  /** Dilation of the internal conv along this dimension. */
  convDilation: number;
  /** Zero rows of dy in front (negative: rows of dy to drop). */
  padBefore: number;
  /** Zero rows of dy behind (negative: rows of dy to drop). */
  padAfter: number;
  /** Length of the internal conv output along this dimension. */
  convOut: number;
  /** Offset of dx inside the interleaved (convOut * phases) result. */
  crop: number;
  /** Original kernel index feeding filter tap `t` for phase `p`, or -1 (zero). */
  tap(t: number, p: number): number;
}

/**
 * Plans one spatial dimension of the input gradient.
 * @param k kernel size
 * @param s stride
 * @param d dilation
 * @param top padding in front (from the forward conv's padInfo)
 * @param inLen length of x (= dx)
 * @param outLen length of dy
 */
export function planDim(k: number, s: number, d: number, top: number, inLen: number, outLen: number): DimPlan {
  let taps: number;
  let convDilation: number;
  let m0: number;
  let m1: number;
  let tap: (t: number, p: number) => number;
  if (s === 1) {
    taps = k;
    convDilation = d;
    m0 = top;
    m1 = top + inLen - 1;
    tap = (t) => k - 1 - t;
  } else {
    const ke = (k - 1) * d + 1; // effective (dilated) kernel; non-multiples of d are zero taps
    taps = Math.ceil(ke / s);
    convDilation = 1;
    m0 = Math.floor(top / s);
    m1 = Math.floor((top + inLen - 1) / s);
    tap = (t, p) => {
      const e = p + (taps - 1 - t) * s;
      return e < ke && e % d === 0 ? e / d : -1;
    };
  }
  return {
    phases: s,
    taps,
    convDilation,
    padBefore: (taps - 1) * convDilation - m0,
    padAfter: m1 + 1 - outLen,
    convOut: m1 - m0 + 1,
    crop: top - m0 * s,
    tap,
  };
}

/**
 * Kernel function: input gradient of a 2-D convolution via one XNNPACK conv (see file header).
 * Inputs `dy` and `filter` `[kh,kw,ci,co]`; output of shape `attrs.inputShape`.
 */
export function conv2dBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as BackpropInputAttrs;
  const { info, nchw, kh, kw, ci, co, sh, sw, dh, dw } = convGradInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs, dy, filter);
  const { batchSize: B, inHeight: H, inWidth: W, outHeight: oH, outWidth: oW } = info;
  const ph = planDim(kh, sh, dh, info.padInfo.top, H, oH);
  const pw = planDim(kw, sw, dw, info.padInfo.left, W, oW);
  const dyRowsUsed = oH + Math.min(0, ph.padBefore) + Math.min(0, ph.padAfter);
  const dyColsUsed = oW + Math.min(0, pw.padBefore) + Math.min(0, pw.padAfter);
  if (B * H * W * ci === 0 || co === 0 || dyRowsUsed <= 0 || dyColsUsed <= 0) {
    // Nothing of dy reaches dx (empty tensors, or padding larger than the dilated kernel).
    const out = backend.makeOutput(attrs.inputShape, 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
    return out;
  }

  const scope = new WasmScope(backend);
  try {
    // dy in NHWC, without the rows/columns that a negative padding drops.
    let g = nchw ? scope.transpose(dy, [0, 2, 3, 1]) : dy;
    g = scope.slice(g, [0, Math.max(0, -ph.padBefore), Math.max(0, -pw.padBefore), 0], [B, dyRowsUsed, dyColsUsed, co]);

    // Rearranged filter F[th, tw, co, (p, q, ci)] = w[tapH(th, p), tapW(tw, q), ci, co] (or 0).
    const phases = ph.phases * pw.phases;
    const F = scope.alloc([ph.taps, pw.taps, co, phases * ci]);
    const wv = scope.view(filter);
    const fv = scope.view(F);
    let o = 0;
    for (let th = 0; th < ph.taps; th++) {
      for (let tw = 0; tw < pw.taps; tw++) {
        for (let c = 0; c < co; c++) {
          for (let p = 0; p < ph.phases; p++) {
            const a = ph.tap(th, p);
            for (let q = 0; q < pw.phases; q++) {
              const b = pw.tap(tw, q);
              if (a < 0 || b < 0) {
                fv.fill(0, o, o + ci);
                o += ci;
                continue;
              }
              let s = (a * kw + b) * ci * co + c;
              for (let i = 0; i < ci; i++, s += co) fv[o++] = wv[s];
            }
          }
        }
      }
    }

    let z = scope.run(
      'Conv2D',
      { x: g, filter: F },
      {
        strides: [1, 1],
        dilations: [ph.convDilation, pw.convDilation],
        pad: [[0, 0], [Math.max(0, ph.padBefore), Math.max(0, ph.padAfter)], [Math.max(0, pw.padBefore), Math.max(0, pw.padAfter)], [0, 0]],
        dataFormat: 'NHWC',
      } as unknown as tf.NamedAttrMap,
    ); // [B, convOutH, convOutW, phases * ci]
    if (z.shape[1] !== ph.convOut || z.shape[2] !== pw.convOut) {
      throw new Error(`Conv2DBackpropInput: internal conv output [${z.shape}], expected [${B},${ph.convOut},${pw.convOut},${phases * ci}]`);
    }
    const fullH = ph.convOut * ph.phases;
    const fullW = pw.convOut * pw.phases;
    if (ph.phases > 1) {
      // depth-to-space: [B*R, Rw, sh, sw*ci] -> [B*R, sh, Rw, sw*ci] == [B, R*sh, Rw*sw, ci]
      z = scope.transpose(scope.reshape(z, [B * ph.convOut, pw.convOut, ph.phases, pw.phases * ci]), [0, 2, 1, 3]);
    }
    z = scope.reshape(z, [B, fullH, fullW, ci]);
    z = scope.slice(z, [0, ph.crop, pw.crop, 0], [B, H, W, ci]);
    if (nchw) z = scope.transpose(z, [0, 3, 1, 2]);
    return scope.keep(z);
  } finally {
    scope.dispose();
  }
}

/** Kernel config registering {@link conv2dBackpropInputWasm} for the wasm backend. */
export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: WASM,
  kernelFunc: conv2dBackpropInputWasm as unknown as tf.KernelFunc,
};
