/**
 * Structural similarity (SSIM, Wang et al. 2004) with the conventions of
 * `skimage.metrics.structural_similarity(im1, im2, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=dataRange, channel_axis=-1)`, computed in plain
 * JavaScript float64 (separable Gaussian filter), not with tfjs kernels.
 */
import { tf } from '../engine/tf';
import { assertSameShape, checkDataRange, toImageBatch64 } from './images';

/** Options of {@link ssim}, {@link ssimPerImage} and {@link ssimPlane}. */
export interface SsimOptions {
  /** Distance between the smallest and largest possible value: 1 for [0, 1] images (default), 255 for [0, 255]. */
  dataRange?: number;
  /** Standard deviation of the Gaussian window, in pixels (default 1.5). */
  sigma?: number;
  /** The window is cut at `truncate · sigma` pixels (default 3.5, which gives 11 taps for sigma 1.5). */
  truncate?: number;
  /** Luminance constant: `C1 = (K1 · dataRange)²` (default 0.01). */
  K1?: number;
  /** Contrast constant: `C2 = (K2 · dataRange)²` (default 0.03). */
  K2?: number;
  /**
   * Scale the (co)variances by `N / (N − 1)`, `N = winSize²` (skimage's own default is true; the
   * default here is false, the population covariance of Wang et al. 2004).
   */
  useSampleCovariance?: boolean;
}

/**
 * The normalised 1-D Gaussian window that `scipy.ndimage.gaussian_filter` uses:
 * radius `r = floor(truncate · sigma + 0.5)`, `w_j = exp(−j² / (2 sigma²)) / Σ_k exp(−k² / (2 sigma²))`
 * for `j = −r … r`.
 * @param sigma standard deviation in pixels (> 0)
 * @param truncate the cut-off in standard deviations
 * @returns the `2r + 1` weights, summing to 1
 * @example
 * gaussianKernel1d(1.5, 3.5).length; // 11
 */
export function gaussianKernel1d(sigma: number, truncate: number): Float64Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`ssim: sigma must be a finite number > 0, got ${sigma}`);
  if (!(truncate >= 0) || !Number.isFinite(truncate)) throw new Error(`ssim: truncate must be a finite number >= 0, got ${truncate}`);
  const r = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let j = -r; j <= r; j++) {
    const v = Math.exp((-0.5 / (sigma * sigma)) * j * j);
    k[j + r] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * Index of sample `i` of a length-`n` signal extended by symmetric reflection with the edge sample
 * repeated (`d c b a | a b c d | d c b a`): scipy.ndimage's `mode='reflect'`.
 */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/**
 * Separable correlation of an `h × w` plane with `kernel` along both axes (axis 0 first, as scipy),
 * reflect boundary. `tmp` and `dst` are caller-provided `h · w` buffers.
 */
function gaussianFilter2d(src: Float64Array, h: number, w: number, kernel: Float64Array, tmp: Float64Array, dst: Float64Array): void {
  const r = (kernel.length - 1) / 2;
  // axis 0 (down the columns)
  tmp.fill(0);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let j = -r; j <= r; j++) {
      const kv = kernel[j + r];
      const srcRow = reflectIndex(y + j, h) * w;
      for (let x = 0; x < w; x++) tmp[row + x] += kv * src[srcRow + x];
    }
  }
  // axis 1 (along the rows)
  const cols = new Int32Array(w + 2 * r);
  for (let x = -r; x < w + r; x++) cols[x + r] = reflectIndex(x, w);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < kernel.length; j++) s += kernel[j] * tmp[row + cols[x + j]];
      dst[row + x] = s;
    }
  }
}

/**
 * Mean SSIM of two 2-D planes (one channel each), row-major `h × w`, in float64.
 *
 * With `μ`, `σ²`, `σ_xy` the Gaussian-weighted local means, variances and covariance
 * (weights {@link gaussianKernel1d}, reflect boundary as `scipy.ndimage.gaussian_filter`,
 * `σ_x² = G∗x² − μ_x²`, `σ_xy = G∗(x·y) − μ_x μ_y`):
 * `S = (2 μ_x μ_y + C1)(2 σ_xy + C2) / ((μ_x² + μ_y² + C1)(σ_x² + σ_y² + C2))`,
 * `C1 = (K1 L)²`, `C2 = (K2 L)²`, `L = dataRange`; the result is the mean of `S` after cropping
 * `(winSize − 1) / 2` pixels from every border (`winSize = 2 · floor(truncate · sigma + 0.5) + 1`),
 * as skimage does.
 * @param x the first plane
 * @param y the second plane
 * @param height rows of both planes
 * @param width columns of both planes
 * @param options constants and window (defaults: dataRange 1, sigma 1.5, truncate 3.5, K1 0.01, K2 0.03)
 * @throws if a side is shorter than the window
 * @example
 * const a = Float64Array.from({ length: 256 }, (_, i) => (i % 16) / 15);
 * ssimPlane(a, a, 16, 16); // 1
 */
export function ssimPlane(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  height: number,
  width: number,
  options: SsimOptions = {},
): number {
  const dataRange = options.dataRange ?? 1;
  const K1 = options.K1 ?? 0.01;
  const K2 = options.K2 ?? 0.03;
  checkDataRange('ssim', dataRange);
  if (!(K1 >= 0) || !(K2 >= 0)) throw new Error(`ssim: K1 and K2 must be >= 0, got K1=${K1}, K2=${K2}`);
  const kernel = gaussianKernel1d(options.sigma ?? 1.5, options.truncate ?? 3.5);
  const win = kernel.length;
  if (height < win || width < win) {
    throw new Error(`ssim: image ${height}x${width} is smaller than the ${win}x${win} Gaussian window`);
  }
  const n = height * width;
  if (x.length !== n || y.length !== n) {
    throw new Error(`ssim: planes of ${x.length} and ${y.length} values do not match ${height}x${width}`);
  }
  const a = Float64Array.from(x);
  const b = Float64Array.from(y);
  const prod = new Float64Array(n);
  const tmp = new Float64Array(n);
  const filt = (src: Float64Array): Float64Array => {
    const dst = new Float64Array(n);
    gaussianFilter2d(src, height, width, kernel, tmp, dst);
    return dst;
  };
  const ux = filt(a);
  const uy = filt(b);
  for (let i = 0; i < n; i++) prod[i] = a[i] * a[i];
  const uxx = filt(prod);
  for (let i = 0; i < n; i++) prod[i] = b[i] * b[i];
  const uyy = filt(prod);
  for (let i = 0; i < n; i++) prod[i] = a[i] * b[i];
  const uxy = filt(prod);

  const np = win * win;
  const covNorm = options.useSampleCovariance ? np / (np - 1) : 1;
  const C1 = (K1 * dataRange) ** 2;
  const C2 = (K2 * dataRange) ** 2;
  const pad = (win - 1) / 2;
  let sum = 0;
  for (let r = pad; r < height - pad; r++) {
    for (let c = pad; c < width - pad; c++) {
      const i = r * width + c;
      const mx = ux[i];
      const my = uy[i];
      const vx = covNorm * (uxx[i] - mx * mx);
      const vy = covNorm * (uyy[i] - my * my);
      const vxy = covNorm * (uxy[i] - mx * my);
      const num = (2 * mx * my + C1) * (2 * vxy + C2);
      const den = (mx * mx + my * my + C1) * (vx + vy + C2);
      sum += num / den;
    }
  }
  return sum / ((height - 2 * pad) * (width - 2 * pad));
}

/**
 * SSIM of each image of a batch: for every image, the mean over channels of {@link ssimPlane}
 * on each channel (skimage's `channel_axis=-1`; a gray image is its single plane).
 * Matches `skimage.metrics.structural_similarity(x[n], ref[n], gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=dataRange, channel_axis=-1)` (without `channel_axis`
 * for gray images).
 * @param x the first images, `[b, h, w, c]` (or one image `[h, w, c]` / `[h, w]`)
 * @param ref the second images, same shape (SSIM is symmetric)
 * @param options see {@link SsimOptions}
 * @returns one SSIM per image of the batch
 * @throws if the shapes differ (the message names both shapes) or a side is shorter than the window
 * @example
 * ssimPerImage(noisyBatch, cleanBatch, { dataRange: 1 }); // e.g. [0.62, 0.55]
 */
export function ssimPerImage(x: tf.Tensor, ref: tf.Tensor, options: SsimOptions = {}): number[] {
  assertSameShape('ssim', x, ref);
  const a = toImageBatch64(x, 'ssim x');
  const b = toImageBatch64(ref, 'ssim ref');
  const { batch, height, width, channels } = a;
  const n = height * width;
  const pa = new Float64Array(n);
  const pb = new Float64Array(n);
  const out: number[] = [];
  for (let i = 0; i < batch; i++) {
    const base = i * n * channels;
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < n; p++) {
        pa[p] = a.data[base + p * channels + c];
        pb[p] = b.data[base + p * channels + c];
      }
      sum += ssimPlane(pa, pb, height, width, options);
    }
    out.push(sum / channels);
  }
  return out;
}

/**
 * Mean SSIM over a batch: the mean of {@link ssimPerImage}.
 * @param x the first images, `[b, h, w, c]` (or one image `[h, w, c]` / `[h, w]`)
 * @param ref the second images, same shape
 * @param options see {@link SsimOptions} (default dataRange 1, for images in [0, 1])
 * @throws if the shapes differ (the message names both shapes) or a side is shorter than the window
 * @example
 * const clean = await readImage('test/fixtures/metrics/gray_test001_clean.png');
 * ssim(clean, clean); // 1
 */
export function ssim(x: tf.Tensor, ref: tf.Tensor, options: SsimOptions = {}): number {
  const values = ssimPerImage(x, ref, options);
  return values.reduce((s, v) => s + v, 0) / values.length;
}
