/**
 * The weights of MATLAB's bicubic `imresize` along one axis (the kernel, the sample positions and
 * the 1-D resampling matrix, built in float64). `imresize.ts` applies them to images and
 * `downsample.ts` turns the integer-factor shrink into a linear operator.
 */

/**
 * Keys's cubic convolution kernel with `a = −0.5` (MATLAB's 'bicubic'), support `[−2, 2]`:
 * `1.5|t|³ − 2.5|t|² + 1` on `|t| ≤ 1`, `−0.5|t|³ + 2.5|t|² − 4|t| + 2` on `1 < |t| ≤ 2`, else 0.
 * @example
 * cubic(0); // 1
 * cubic(1); // 0
 */
export function cubic(t: number): number {
  const ax = Math.abs(t);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

/**
 * Boundary rule of {@link bicubicResizeMatrix}: `'replicate'` clamps, `'symmetric'` mirrors.
 * @example
 * bicubicResizeMatrix(8, 4, 1 / 2, { boundary: 'symmetric' });
 */
export type ResizeBoundary = 'replicate' | 'symmetric';

/**
 * Options of {@link bicubicResizeMatrix}.
 * @example
 * bicubicResizeMatrix(8, 16, 2, { antialias: false });
 */
export interface ResizeMatrixOptions {
  /** Widen the kernel by `1/scale` when shrinking (MATLAB's default `'Antialiasing', true`). Default true. */
  antialias?: boolean;
  /**
   * How taps outside the input fold back: `'replicate'` clamps to the edge pixel (this is what
   * reproduces the Set5/Set14 LR benchmark images, and what MATLAB's imresize did for many
   * releases); `'symmetric'` mirrors with the edge repeated (`[1..n, n..1]`, recent releases).
   * Default `'replicate'`.
   */
  boundary?: ResizeBoundary;
}

/**
 * The sampling position and kernel of MATLAB's imresize along one axis: output sample `i`
 * (1-based) sits at input coordinate `u_i = i/scale + ½(1 − 1/scale)`; when shrinking with
 * antialiasing the kernel is `h(t) = scale · cubic(scale · t)` of width `4/scale`, else
 * `h = cubic` of width 4.
 * @example
 * const { kernel, width } = bicubicKernel(1 / 2, true); // width 8
 */
export function bicubicKernel(scale: number, antialias = true): { kernel: (t: number) => number; width: number; position: (i: number) => number } {
  const shrinkAa = scale < 1 && antialias;
  return {
    kernel: shrinkAa ? (t: number) => scale * cubic(scale * t) : cubic,
    width: shrinkAa ? 4 / scale : 4,
    position: (i: number) => i / scale + 0.5 * (1 - 1 / scale),
  };
}

/**
 * The 1-D resampling matrix `R` (`[outLength, inLength]`, row-major, float64) of MATLAB's
 * `imresize(…, scale, 'bicubic')` along one axis, so that `out = R · in`.
 *
 * Row `i` (1-based) has taps `j = ⌊u_i − width/2⌋ + 0 … ⌈width⌉ + 1` with weights `h(u_i − j)`
 * normalised to sum 1 ({@link bicubicKernel} gives `u_i`, `h`, `width`); a tap outside
 * `1 … inLength` is clamped to the edge (`'replicate'`, default) or mirrored (`'symmetric'`), and
 * weights landing on the same pixel add up.
 * @param scale the MATLAB scale factor: `1/2` shrinks by 2, `3` enlarges by 3.
 * @example
 * const R = bicubicResizeMatrix(8, 4, 1 / 2); // [4, 8]: imresize(column, 0.5) = R · column
 */
export function bicubicResizeMatrix(inLength: number, outLength: number, scale: number, options: ResizeMatrixOptions = {}): Float64Array {
  if (!Number.isInteger(inLength) || inLength < 1 || !Number.isInteger(outLength) || outLength < 1) {
    throw new Error(`bicubicResizeMatrix: lengths must be positive integers, got in ${inLength}, out ${outLength}`);
  }
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`bicubicResizeMatrix: scale must be a positive number, got ${scale}`);
  const boundary = options.boundary ?? 'replicate';
  if (boundary !== 'replicate' && boundary !== 'symmetric') throw new Error(`bicubicResizeMatrix: unknown boundary "${boundary}" (replicate or symmetric)`);
  const { kernel, width, position } = bicubicKernel(scale, options.antialias ?? true);
  const taps = Math.ceil(width) + 2;
  const n = inLength;
  const R = new Float64Array(outLength * inLength);
  const w = new Float64Array(taps);
  for (let i = 0; i < outLength; i++) {
    const u = position(i + 1);
    const left = Math.floor(u - width / 2);
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      w[t] = kernel(u - (left + t));
      sum += w[t];
    }
    for (let t = 0; t < taps; t++) {
      if (w[t] === 0) continue;
      let j = left + t - 1; // 0-based
      if (boundary === 'replicate') {
        j = Math.min(n - 1, Math.max(0, j));
      } else {
        const m = ((j % (2 * n)) + 2 * n) % (2 * n); // position in [0..n-1, n-1..0]
        j = m < n ? m : 2 * n - 1 - m;
      }
      R[i * n + j] += w[t] / sum;
    }
  }
  return R;
}
