/**
 * Blur: zero-padded 'same' convolution of every channel with one 2-D kernel, its exact adjoint,
 * and the usual kernels (Gaussian, linear motion).
 */
import { tf } from '../engine/tf';
import { linearOperator } from './linear';
import { LinearOperator } from './types';

/**
 * A 2-D kernel `k[p][q]` (rows p, columns q), rectangular.
 * @example
 * const box: Kernel2D = [[1 / 4, 1 / 4], [1 / 4, 1 / 4]];
 */
export type Kernel2D = number[][];

/**
 * Options of {@link blur}.
 * @example
 * blur(k, { name: 'camera shake' });
 */
export interface BlurOptions {
  /** Name in errors and tables (default `blur <kh>x<kw>`). */
  name?: string;
}

/** Checks a kernel is a non-empty rectangle of finite numbers; returns it as [kh, kw, flat]. */
function readKernel(kernel: Kernel2D | tf.Tensor2D): { kh: number; kw: number; values: number[] } {
  const rows: number[][] = kernel instanceof tf.Tensor ? (kernel.arraySync() as number[][]) : kernel;
  const kh = rows.length;
  const kw = kh > 0 ? rows[0].length : 0;
  if (kh === 0 || kw === 0 || rows.some((r) => !Array.isArray(r) || r.length !== kw)) {
    const shape = rows.map((r) => (Array.isArray(r) ? r.length : NaN));
    throw new Error(`blur: the kernel must be a non-empty rectangular 2-D array, got rows of lengths [${shape.join(', ')}]`);
  }
  const values = rows.flat();
  if (!values.every(Number.isFinite)) throw new Error(`blur: the ${kh}x${kw} kernel has non-finite entries`);
  return { kh, kw, values };
}

/**
 * Blur with a kernel `k` of size `kh × kw`, the same on every channel, as a zero-padded 'same'
 * convolution (output shape = input shape):
 *
 * `(A x)[b, i, j, c] = Σ_{p<kh, q<kw} k[p, q] · x[b, i − p + ⌊kh/2⌋, j − q + ⌊kw/2⌋, c]`,
 * with `x = 0` outside the image (zero boundary). The kernel's centre is `k[⌊kh/2⌋][⌊kw/2⌋]`
 * (even sizes work too). The exact adjoint is the zero-padded correlation with the same kernel:
 * `(Aᵀ y)[b, i, j, c] = Σ_{p, q} k[p, q] · y[b, i + p − ⌊kh/2⌋, j + q − ⌊kw/2⌋, c]`.
 * Both are one `conv2d` ('valid' after an explicit zero pad) on the channels folded into the batch.
 * For a nonnegative kernel summing to 1, `‖A‖ ≤ 1`.
 * @param kernel `number[][]` or a `tf.Tensor2D` (copied; the operator owns no tensors).
 * @example
 * const A = blur(gaussianKernel(7, 1.6));
 * const y = A.forward(x);   // [b, h, w, c] -> [b, h, w, c]
 * const g = A.adjoint(y);   // Aᵀ y
 */
export function blur(kernel: Kernel2D | tf.Tensor2D, options: BlurOptions = {}): LinearOperator {
  const { kh, kw, values } = readKernel(kernel);
  const name = options.name ?? `blur ${kh}x${kw}`;
  const ph = Math.floor(kh / 2);
  const pw = Math.floor(kw / 2);
  const flipped = values.slice().reverse(); // k[kh-1-p][kw-1-q], row-major
  // Correlation with `filter` after zero-padding [top, bottom] x [left, right], per channel.
  const correlate = (x: tf.Tensor4D, filter: number[], pad: [[number, number], [number, number]]): tf.Tensor4D => {
    const [b, h, w, c] = x.shape;
    const folded = c === 1 ? x : tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [b * c, h, w, 1]); // [b·c, h, w, 1]
    const padded = tf.pad(folded, [[0, 0], pad[0], pad[1], [0, 0]]); // [b·c, h+kh-1, w+kw-1, 1]
    const f = tf.tensor4d(filter, [kh, kw, 1, 1]);
    const out = tf.conv2d(padded as tf.Tensor4D, f, 1, 'valid'); // [b·c, h, w, 1]
    return c === 1 ? out : tf.transpose(tf.reshape(out, [b, c, h, w]) as tf.Tensor4D, [0, 2, 3, 1]); // [b, h, w, c]
  };
  return linearOperator({
    name,
    outputShape: (s) => [...s],
    inputShape: (s) => [...s],
    apply: (x) => correlate(x, flipped, [[kh - 1 - ph, ph], [kw - 1 - pw, pw]]),
    applyAdjoint: (y) => correlate(y, values, [[ph, kh - 1 - ph], [pw, kw - 1 - pw]]),
  });
}

/**
 * A normalised Gaussian kernel `k[p][q] ∝ exp(−((p − m)² + (q − m)²) / (2σ²))`, `m = (size − 1)/2`,
 * with `Σ k = 1`.
 * @param size side length (a positive integer; odd keeps it centred on a pixel).
 * @param sigma standard deviation in pixels (> 0).
 * @example
 * const k = gaussianKernel(5, 1); // 5x5, sums to 1
 */
export function gaussianKernel(size: number, sigma: number): Kernel2D {
  if (!Number.isInteger(size) || size < 1) throw new Error(`gaussianKernel: size must be a positive integer, got ${size}`);
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`gaussianKernel: sigma must be a positive number, got ${sigma}`);
  const m = (size - 1) / 2;
  const g = Array.from({ length: size }, (_, i) => Math.exp(-((i - m) ** 2) / (2 * sigma * sigma)));
  const s = g.reduce((a, v) => a + v, 0);
  return g.map((gi) => g.map((gj) => (gi * gj) / (s * s)));
}

/**
 * A normalised linear-motion kernel: the segment of length `length` pixels centred on the kernel's
 * centre pixel, at `angle` degrees counter-clockwise from the horizontal (image rows grow downwards).
 * Each entry is the exact length of the segment inside that pixel's unit square, divided by
 * `length`, so `Σ k = 1` and a horizontal or vertical segment of odd integer length `L` is `L`
 * equal taps `1/L`. The kernel is square and odd-sized, `2r + 1` with the smallest r that holds it.
 * @param length in pixels (≥ 1 is typical; any > 0 works).
 * @param angle in degrees.
 * @example
 * const k = motionKernel(9, 30); // 9-pixel motion at 30°
 */
export function motionKernel(length: number, angle: number): Kernel2D {
  if (!(length > 0) || !Number.isFinite(length)) throw new Error(`motionKernel: length must be a positive number, got ${length}`);
  if (!Number.isFinite(angle)) throw new Error(`motionKernel: angle must be a finite number of degrees, got ${angle}`);
  const t = (angle * Math.PI) / 180;
  // Direction in (column, row) coordinates; snap tiny values so 0°/90° are exactly axis-aligned.
  const snap = (v: number) => (Math.abs(v) < 1e-12 ? 0 : v);
  const dx = snap(Math.cos(t));
  const dy = snap(-Math.sin(t));
  const hx = (length / 2) * Math.abs(dx);
  const hy = (length / 2) * Math.abs(dy);
  const r = Math.max(0, Math.ceil(Math.max(hx, hy) - 0.5 - 1e-9));
  const n = 2 * r + 1;
  const k: Kernel2D = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  // Segment P(s) = s·(dx, dy), s in [-length/2, length/2], relative to the centre pixel (r, r).
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s0 = -length / 2;
      let s1 = length / 2;
      // Clip to the square [j−r−½, j−r+½] × [i−r−½, i−r+½] along each axis (Liang–Barsky).
      for (const [d, c] of [
        [dx, j - r],
        [dy, i - r],
      ]) {
        if (d === 0) {
          if (c - 0.5 > 0 || c + 0.5 <= 0) s1 = s0 - 1; // the line is outside this slab (half-open)
          continue;
        }
        const a = (c - 0.5) / d;
        const b = (c + 0.5) / d;
        s0 = Math.max(s0, Math.min(a, b));
        s1 = Math.min(s1, Math.max(a, b));
      }
      k[i][j] = Math.max(0, s1 - s0) / length;
    }
  }
  const sum = k.flat().reduce((a, v) => a + v, 0);
  return k.map((row) => row.map((v) => v / sum));
}

/**
 * Gaussian blur: {@link blur} with {@link gaussianKernel}`(size, sigma)`.
 * @example
 * const A = gaussianBlur(7, 1.6); // name "gaussian blur 7x7 σ=1.6"
 */
export function gaussianBlur(size: number, sigma: number): LinearOperator {
  return blur(gaussianKernel(size, sigma), { name: `gaussian blur ${size}x${size} σ=${sigma}` });
}

/**
 * Motion blur: {@link blur} with {@link motionKernel}`(length, angle)`.
 * @example
 * const A = motionBlur(9, 30); // name "motion blur L=9 30°"
 */
export function motionBlur(length: number, angle: number): LinearOperator {
  return blur(motionKernel(length, angle), { name: `motion blur L=${length} ${angle}°` });
}

