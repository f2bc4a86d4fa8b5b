/**
 * Peak signal-to-noise ratio, with the conventions of
 * `skimage.metrics.peak_signal_noise_ratio(ref, x, data_range=dataRange)`.
 */
import { tf } from '../engine/tf';
import { assertSameShape, checkDataRange, toImageBatch64 } from './images';

/** Options of {@link psnr} and {@link psnrPerImage}. */
export interface PsnrOptions {
  /**
   * Distance between the smallest and the largest possible pixel value (the "peak"):
   * 1 for images in [0, 1] (the default), 255 for images in [0, 255].
   */
  dataRange?: number;
}

/**
 * Mean squared error of two equally long arrays, accumulated in float64:
 * `MSE = (1/N) Σ (x_i − ref_i)²`.
 * @param x the tested values
 * @param ref the reference values
 * @param start first index (default 0)
 * @param end one past the last index (default: the length)
 * @example
 * meanSquaredError([0, 1], [0, 0]); // 0.5
 */
export function meanSquaredError(x: ArrayLike<number>, ref: ArrayLike<number>, start = 0, end = x.length): number {
  if (x.length !== ref.length) throw new Error(`meanSquaredError: length mismatch: x ${x.length} vs ref ${ref.length}`);
  if (end <= start) throw new Error('meanSquaredError: empty range');
  let sum = 0;
  for (let i = start; i < end; i++) {
    const d = x[i] - ref[i];
    sum += d * d;
  }
  return sum / (end - start);
}

/**
 * PSNR of two equally long float arrays: `PSNR = 10 · log10(dataRange² / MSE)` in dB;
 * `Infinity` when the arrays are equal (MSE = 0).
 * @param x the tested values
 * @param ref the reference values
 * @param dataRange the peak value range (1 for [0, 1] data)
 * @example
 * psnrOfArrays([0.1, 0.1], [0, 0], 1); // 20
 */
export function psnrOfArrays(x: ArrayLike<number>, ref: ArrayLike<number>, dataRange = 1): number {
  checkDataRange('psnr', dataRange);
  const mse = meanSquaredError(x, ref);
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

/**
 * PSNR of each image of a batch, in dB:
 * `PSNR_n = 10 · log10(dataRange² / MSE_n)`, `MSE_n = mean over h, w, c of (x − ref)²`,
 * accumulated in float64 (the tensors are read with `dataSync`). Equal images give `Infinity`.
 * Matches `skimage.metrics.peak_signal_noise_ratio(ref[n], x[n], data_range=dataRange)`.
 * @param x the tested images, `[b, h, w, c]` (or one image `[h, w, c]` / `[h, w]`)
 * @param ref the reference images, same shape as `x`
 * @param options `dataRange` (default 1)
 * @returns one PSNR per image of the batch
 * @throws if the shapes differ (the message names both shapes)
 * @example
 * const x = tf.fill([2, 4, 4, 1], 0.6), ref = tf.fill([2, 4, 4, 1], 0.5);
 * psnrPerImage(x, ref); // [20, 20] (MSE 0.01)
 */
export function psnrPerImage(x: tf.Tensor, ref: tf.Tensor, options: PsnrOptions = {}): number[] {
  const dataRange = options.dataRange ?? 1;
  checkDataRange('psnr', dataRange);
  assertSameShape('psnr', x, ref);
  const a = toImageBatch64(x, 'psnr x');
  const b = toImageBatch64(ref, 'psnr ref');
  const n = a.height * a.width * a.channels;
  const out: number[] = [];
  for (let i = 0; i < a.batch; i++) {
    const mse = meanSquaredError(a.data, b.data, i * n, (i + 1) * n);
    out.push(mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse));
  }
  return out;
}

/**
 * Mean PSNR over a batch, in dB: the mean of {@link psnrPerImage} (the per-image PSNRs, not the
 * PSNR of the pooled MSE). `Infinity` if any image pair is equal.
 * @param x the tested images, `[b, h, w, c]` (or one image `[h, w, c]` / `[h, w]`)
 * @param ref the reference images, same shape as `x`
 * @param options `dataRange` (default 1)
 * @throws if the shapes differ (the message names both shapes)
 * @example
 * const clean = await readImage('test001.png');
 * const noisy = tf.clipByValue(tf.add(clean, tf.randomNormal(clean.shape, 0, 25 / 255)), 0, 1);
 * psnr(noisy, clean); // ≈ 20.6 dB
 */
export function psnr(x: tf.Tensor, ref: tf.Tensor, options: PsnrOptions = {}): number {
  const values = psnrPerImage(x, ref, options);
  return values.reduce((s, v) => s + v, 0) / values.length;
}
