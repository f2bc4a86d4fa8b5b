/**
 * The super-resolution forward map: MATLAB's antialiased bicubic `imresize(x, 1/s)` for an integer
 * factor `s`, as a linear operator with its exact adjoint.
 *
 * Why convolutions and not the dense matrices of `resize.ts`: for an integer factor every output
 * sample sees the same kernel offsets, so the imresize matrix (with MATLAB's replicate boundary)
 * is exactly "replicate-pad, then a separable strided convolution". That costs `O(taps)` per
 * output instead of `O(n)`, and its adjoint is the transposed strided convolution followed by
 * folding the padding back onto the edge pixels. The tests check it against the dense matrices.
 */
import { tf } from '../engine/tf';
import { formatShape, linearOperator } from './linear';
import { bicubicKernel } from './resize';
import { LinearOperator } from './types';

/**
 * The 1-D filter of {@link downsample}: output `i` (0-based) = `Σ_t weights[t] · x[s·i + offset + t]`
 * (indices clamped to the edges).
 * @example
 * const { weights, offset } = downsampleFilter(4); // 16 taps, offset −6
 */
export interface DownsampleFilter {
  /** The normalised weights (float64), zero taps at the ends trimmed. */
  weights: number[];
  /** Input offset of the first tap relative to `s·i` (negative). */
  offset: number;
}

/**
 * The taps of MATLAB's antialiased bicubic shrink by an integer `s` along one axis: output `i`
 * (0-based) sits at input coordinate `u = s·i + (s − 1)/2` (0-based) and takes
 * `f[t] = h(u − j) / Σ h` at `j = s·i + offset + t`, `h(t) = cubic(t/s)/s` (width `4s`).
 * The same for every `i`, so the resampling is a strided convolution.
 * @example
 * downsampleFilter(2); // { offset: -3, weights: [8 taps summing to 1] }
 */
export function downsampleFilter(s: number): DownsampleFilter {
  if (!Number.isInteger(s) || s < 1) throw new Error(`downsampleFilter: the factor must be a positive integer, got ${s}`);
  const { kernel, width, position } = bicubicKernel(1 / s, true);
  const u = position(1) - 1; // 0-based coordinate of output 0
  const left = Math.floor(u + 1 - width / 2) - 1; // 0-based first tap (MATLAB's ⌊u − width/2⌋, 1-based)
  const taps = Math.ceil(width) + 2;
  let w = Array.from({ length: taps }, (_, t) => kernel(u - (left + t)));
  const sum = w.reduce((a, v) => a + v, 0);
  w = w.map((v) => v / sum);
  let first = 0;
  while (first < w.length - 1 && w[first] === 0) first++;
  let last = w.length - 1;
  while (last > first && w[last] === 0) last--;
  return { weights: w.slice(first, last + 1), offset: left + first };
}

/** Replicate-pads `x` along `axis` (1 = height, 2 = width) by `before` / `after` copies of the edge. */
function replicatePad(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  const n = x.shape[axis];
  const parts: tf.Tensor4D[] = [];
  const reps = (k: number): [number, number, number, number] => (axis === 1 ? [1, k, 1, 1] : [1, 1, k, 1]);
  const edge = (at: number) => {
    const begin: [number, number, number, number] = [0, 0, 0, 0];
    const size: [number, number, number, number] = [-1, -1, -1, -1];
    begin[axis] = at;
    size[axis] = 1;
    return tf.slice(x, begin, size);
  };
  if (before > 0) parts.push(tf.tile(edge(0), reps(before)));
  parts.push(x);
  if (after > 0) parts.push(tf.tile(edge(n - 1), reps(after)));
  return parts.length === 1 ? x : tf.concat(parts, axis);
}

/** The adjoint of {@link replicatePad}: sums the padding back onto the edge pixels. */
function foldPad(z: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  const len = z.shape[axis];
  const n = len - before - after;
  const part = (begin: number, size: number) => {
    const b: [number, number, number, number] = [0, 0, 0, 0];
    const s: [number, number, number, number] = [-1, -1, -1, -1];
    b[axis] = begin;
    s[axis] = size;
    return tf.slice(z, b, s);
  };
  if (n === 1) return tf.sum(z, axis, true) as tf.Tensor4D;
  const head = tf.sum(part(0, before + 1), axis, true);
  const tail = tf.sum(part(before + n - 1, after + 1), axis, true);
  return tf.concat(n === 2 ? [head, tail] : [head, part(before + 1, n - 2), tail], axis) as tf.Tensor4D;
}

/** `[b, h, w, c] → [b·c, h, w, 1]`: channels folded into the batch for single-channel convolutions. */
function fold(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return c === 1 ? x : tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [b * c, h, w, 1]); // [b·c, h, w, 1]
}

/** The inverse of {@link fold}: `[b·c, h, w, 1] → [b, h, w, c]`. */
function unfold(x: tf.Tensor4D, b: number, c: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  return c === 1 ? x : tf.transpose(tf.reshape(x, [b, c, h, w]) as tf.Tensor4D, [0, 2, 3, 1]); // [b, h, w, c]
}

/** Strided-convolution passes of MATLAB's bicubic shrink by `s`, on folded `[n, h, w, 1]` tensors. */
function shrinkPasses(s: number) {
  const { weights, offset } = downsampleFilter(s);
  const K = weights.length;
  const before = -offset; // first tap of output 0 is at index offset < 0
  const after = offset + K - s; // last tap of output H−1 is at s(H−1) + offset + K − 1
  if (before < 0 || after < 0) throw new Error(`downsample x${s}: internal error, unexpected filter offset ${offset} for ${K} taps`);
  const filter = (axis: 1 | 2) => tf.tensor4d(weights, axis === 1 ? [K, 1, 1, 1] : [1, K, 1, 1]);
  const strides = (axis: 1 | 2): [number, number] => (axis === 1 ? [s, 1] : [1, s]);
  return {
    /** `R · x` along `axis` (1 = rows, 2 = columns): `n → n/s`. */
    shrink: (x: tf.Tensor4D, axis: 1 | 2) => tf.conv2d(replicatePad(x, axis, before, after), filter(axis), strides(axis), 'valid') as tf.Tensor4D,
    /** `Rᵀ · y` along `axis`: `n/s → n`. */
    expand: (y: tf.Tensor4D, axis: 1 | 2) => {
      const shape = [...y.shape] as [number, number, number, number];
      shape[axis] = y.shape[axis] * s + before + after;
      const z = tf.conv2dTranspose(y, filter(axis), shape, strides(axis), 'valid') as tf.Tensor4D;
      return foldPad(z, axis, before, after);
    },
  };
}

/**
 * MATLAB's antialiased bicubic shrink by an integer `s` along one axis (`1` = height, `2` = width),
 * `[b, h, w, c] → [b, h/s, w, c]` or `[b, h, w/s, c]`: replicate padding + stride-`s` convolution
 * with {@link downsampleFilter}. Runs in `tf.tidy`; the length along `axis` must be a multiple of `s`.
 * @example
 * const t = shrinkAxis(x, 2, 1); // rows only: [1, 8, 6, 3] -> [1, 4, 6, 3]
 */
export function shrinkAxis(x: tf.Tensor4D, s: number, axis: 1 | 2): tf.Tensor4D {
  if (x.shape[axis] % s !== 0) throw new Error(`shrinkAxis x${s}: axis ${axis} of shape ${formatShape(x.shape)} is not a multiple of ${s}`);
  const [b, , , c] = x.shape;
  return tf.tidy(() => unfold(shrinkPasses(s).shrink(fold(x), axis), b, c));
}

/**
 * Options of {@link downsample}.
 * @example
 * downsample(3, { name: 'SR x3' });
 */
export interface DownsampleOptions {
  /** Name in errors and tables (default `downsample x<scale>`). */
  name?: string;
}

/**
 * Bicubic antialiased downsampling by an integer factor `s`, equal to MATLAB's `imresize(x, 1/s)`
 * (default 'bicubic', antialiasing on, replicate boundary) on float images:
 * `A x = R_h · x · R_wᵀ` per image and channel with `R = bicubicResizeMatrix(n, n/s, 1/s)`,
 * computed as replicate padding + separable stride-`s` convolution with {@link downsampleFilter};
 * the exact adjoint `Aᵀ y = R_hᵀ · y · R_w` is the transposed convolution + folding the padding
 * onto the edges. Height and width must be multiples of `s`: `[b, h, w, c] → [b, h/s, w/s, c]`.
 *
 * On 8-bit images MATLAB rounds and clips between its row and column passes; this linear operator
 * does not, so it matches the Set5/Set14 LR files to ±1/255 except next to saturated edges, where
 * MATLAB's clipped intermediate differs (use `imresize(x, 1/s, { quantize: true })` to make LR
 * data bit-exactly).
 * @param scale the integer factor `s` (2, 3, 4, ...).
 * @example
 * const A = downsample(4);
 * const lr = A.forward(hr);   // [1, 256, 256, 3] -> [1, 64, 64, 3]
 * const back = A.adjoint(lr); // [1, 256, 256, 3]
 */
export function downsample(scale: number, options: DownsampleOptions = {}): LinearOperator {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`downsample: the scale must be a positive integer, got ${scale}`);
  const name = options.name ?? `downsample x${scale}`;
  const s = scale;
  const { shrink, expand } = shrinkPasses(s);
  return linearOperator({
    name,
    outputShape(shape) {
      const [b, h, w, c] = shape;
      if (h % s !== 0 || w % s !== 0) {
        throw new Error(`${name}: input shape ${formatShape(shape)} has a height or width that is not a multiple of ${s}`);
      }
      return [b, h / s, w / s, c];
    },
    inputShape: ([b, h, w, c]) => [b, h * s, w * s, c],
    apply(x) {
      const [b, , , c] = x.shape;
      return unfold(shrink(shrink(fold(x), 1), 2), b, c); // [b, h/s, w/s, c]
    },
    applyAdjoint(y) {
      const [b, , , c] = y.shape;
      return unfold(expand(expand(fold(y), 2), 1), b, c); // [b, h·s, w·s, c]
    },
  });
}
