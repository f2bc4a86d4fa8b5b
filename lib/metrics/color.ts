/**
 * Color conversion, border shaving and the super-resolution evaluation protocol (PSNR / SSIM on
 * the luma channel with `scale` pixels shaved).
 *
 * Luma convention: ITU-R BT.601 "studio swing" Y of YCbCr, the Y that MATLAB's `rgb2ycbcr` gives:
 * for R, G, B in [0, 1], `Y = 16 + 65.481 R + 128.553 G + 24.966 B` on the 0..255 scale
 * (Y ∈ [16, 235]), i.e. `Y / 255` on the 0..1 scale (Y ∈ [16/255, 235/255]).
 */
import { tf } from '../engine/tf';
import { formatShape, toImageBatch64 } from './images';
import { mean } from './mean';
import { psnrOfArrays } from './psnr';
import { ssimPlane, SsimOptions } from './ssim';

/** BT.601 luma weights on the 0..255 scale for R, G, B in [0, 1], and the offset (MATLAB `rgb2ycbcr`). */
export const BT601_Y = { offset: 16, r: 65.481, g: 128.553, b: 24.966 } as const;

/**
 * Y channel of BT.601 YCbCr (MATLAB `rgb2ycbcr` convention) of an RGB image in [0, 1], on the 0..1
 * scale: `Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255`, so that Y ∈ [16/255, 235/255].
 * Computed with tfjs (float32); {@link srMetrics} uses its own float64 path.
 * @param x RGB image(s), `[..., 3]` (e.g. `[b, h, w, 3]` or `[h, w, 3]`), values in [0, 1]
 * @returns the luma, same shape with a last axis of 1
 * @throws if the last axis is not 3
 * @example
 * rgbToY(tf.tensor3d([1, 1, 1], [1, 1, 3])).dataSync(); // [235 / 255]
 */
export function rgbToY<T extends tf.Tensor>(x: T): T {
  const s = x.shape;
  if (s.length < 1 || s[s.length - 1] !== 3) {
    throw new Error(`rgbToY: expected an RGB image with a last axis of 3, got shape ${formatShape(s)}`);
  }
  return tf.tidy(() => {
    const w = tf.tensor1d([BT601_Y.r, BT601_Y.g, BT601_Y.b].map((v) => v / 255));
    const y = tf.add(tf.sum(tf.mul(tf.cast(x, 'float32'), w), -1, true), BT601_Y.offset / 255);
    return y as T;
  });
}

/**
 * Crops `border` pixels from each side (top, bottom, left, right) of an image or a batch.
 * @param x `[b, h, w, c]` or `[h, w, c]`
 * @param border pixels removed on each side (an integer ≥ 0)
 * @returns `[b, h − 2·border, w − 2·border, c]` (or the rank-3 equivalent), a new tensor
 * @throws if `border` is not a non-negative integer or leaves no pixel
 * @example
 * shave(tf.zeros([1, 10, 12, 3]), 2).shape; // [1, 6, 8, 3]
 */
export function shave<T extends tf.Tensor3D | tf.Tensor4D>(x: T, border: number): T {
  const s = x.shape;
  if (s.length !== 3 && s.length !== 4) {
    throw new Error(`shave: expected [h, w, c] or [b, h, w, c], got shape ${formatShape(s)}`);
  }
  if (!Number.isInteger(border) || border < 0) throw new Error(`shave: border must be an integer >= 0, got ${border}`);
  const hAxis = s.length - 3;
  const h = s[hAxis];
  const w = s[hAxis + 1];
  if (2 * border >= h || 2 * border >= w) {
    throw new Error(`shave: border ${border} leaves no pixel of an image of shape ${formatShape(s)}`);
  }
  const begin = s.map(() => 0);
  const size = s.map(() => -1);
  begin[hAxis] = border;
  begin[hAxis + 1] = border;
  size[hAxis] = h - 2 * border;
  size[hAxis + 1] = w - 2 * border;
  return tf.slice(x, begin, size) as T;
}

/**
 * Throws unless the SR and HR images have the same shape, naming the likely cause: an HR size
 * that is not a multiple of the scale (its LR is `⌊H/s⌋ × ⌊W/s⌋`, whose upscaling is smaller than
 * the HR), or a different number of channels or images.
 */
function checkSrSizes(sr: tf.Tensor, hr: tf.Tensor, scale: number): void {
  const a = sr.shape;
  const b = hr.shape;
  if (a.length === b.length && a.every((d, i) => d === b[i])) return;
  const hw = (s: number[]) => (s.length >= 3 ? s.slice(s.length - 3, s.length - 1) : s);
  const [sh, sw] = hw(a);
  const [hh, hwid] = hw(b);
  const sizes = `the SR image is ${sh}×${sw} (shape ${formatShape(a)}) but the HR image is ${hh}×${hwid} (shape ${formatShape(b)}), scale ${scale}`;
  if (a.length !== b.length || (sh === hh && sw === hwid)) {
    throw new Error(`srMetrics: ${sizes}: they differ in rank, batch or channels`);
  }
  const lh = Math.floor(hh / scale);
  const lw = Math.floor(hwid / scale);
  const cause =
    hh % scale || hwid % scale
      ? `the HR size is not a multiple of ${scale}: its LR is ${lh}×${lw}, which upscales to ${lh * scale}×${lw * scale}; crop the HR to a multiple of the scale (modcrop)`
      : `an LR of ${lh}×${lw} upscaled ×${scale} gives ${hh}×${hwid}, so the SR did not come from this HR's LR at this scale`;
  throw new Error(`srMetrics: ${sizes}: ${cause}`);
}

/** Options of {@link srMetrics}; every choice of the protocol is explicit here. */
export interface SrMetricsOptions {
  /** Pixels cropped from each side before measuring; default: `scale`. */
  shave?: number;
  /**
   * Measure on the BT.601 luma of color images (default true). When false, color images are
   * measured on R, G, B (PSNR over all values, SSIM averaged over channels). Gray images
   * (one channel) are always used as they are.
   */
  yChannel?: boolean;
  /**
   * Value scale of the measured channel and SSIM/PSNR `dataRange`: 255 (default) measures luma on
   * 0..255 (Y ∈ [16, 235]) with `data_range=255`; 1 measures on 0..1 with `data_range=1`. Both give
   * the same PSNR and SSIM up to float rounding; 255 is what the reference (skimage) values use.
   */
  range?: 1 | 255;
  /**
   * Round the 0..255 luma to integers before measuring, as MATLAB's `rgb2ycbcr` does on uint8
   * input (default false: the luma is kept as a float, the skimage-based convention). Only with
   * `yChannel` on color images.
   */
  roundY?: boolean;
  /** SSIM window and constants (see {@link SsimOptions}); `dataRange` is set from `range`. */
  ssim?: Omit<SsimOptions, 'dataRange'>;
}

/** Result of {@link srMetrics}: means over the batch, and the per-image values. */
export interface SrMetricsResult {
  /** Mean PSNR over the batch, dB. */
  psnr: number;
  /** Mean SSIM over the batch. */
  ssim: number;
  /** PSNR of each image of the batch, dB. */
  psnrPerImage: number[];
  /** SSIM of each image of the batch. */
  ssimPerImage: number[];
}

/**
 * Super-resolution PSNR and SSIM with the usual protocol: color images are converted to BT.601
 * luma `Y = 16 + 65.481 R + 128.553 G + 24.966 B` (float64, 0..255, not rounded unless `roundY`),
 * gray images are used as they are (scaled to 0..255), `shave` (default `scale`) pixels are cropped
 * from each side, then PSNR = `10 log10(255² / MSE)` and SSIM (Gaussian 11×11, sigma 1.5,
 * `data_range=255`, see {@link ssimPlane}) are computed per image, as
 * `skimage.metrics.peak_signal_noise_ratio(hrY, srY, data_range=255)` and
 * `skimage.metrics.structural_similarity(srY, hrY, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=255)` on the shaved float luma.
 *
 * Published SR tables often come from MATLAB code that quantises Y (and the SR output) to uint8,
 * which can move PSNR by a few hundredths of a dB; set `roundY` to round the luma.
 * @param sr super-resolved images in [0, 1], `[b, h, w, c]` or `[h, w, c]`, c = 1 or 3
 * @param hr ground-truth images, same shape
 * @param scale the upscaling factor (the default shave)
 * @param options see {@link SrMetricsOptions}
 * @throws if the shapes differ (naming the SR and HR sizes, the scale and the likely cause), c is not
 * 1 or 3, or the shave leaves an image smaller than the SSIM window
 * @example
 * const hr = await readImage('Set5/x2/img_001_SRF_2_HR.png');
 * const { psnr, ssim } = srMetrics(model.predict(lr), hr, 2); // Y channel, 2 pixels shaved
 */
export function srMetrics(sr: tf.Tensor, hr: tf.Tensor, scale: number, options: SrMetricsOptions = {}): SrMetricsResult {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`srMetrics: scale must be an integer >= 1, got ${scale}`);
  checkSrSizes(sr, hr, scale);
  const border = options.shave ?? scale;
  if (!Number.isInteger(border) || border < 0) throw new Error(`srMetrics: shave must be an integer >= 0, got ${border}`);
  const range = options.range ?? 255;
  if (range !== 1 && range !== 255) throw new Error(`srMetrics: range must be 1 or 255, got ${range}`);
  const a = toImageBatch64(sr, 'srMetrics sr');
  const b = toImageBatch64(hr, 'srMetrics hr');
  const { batch, height, width, channels } = a;
  if (channels !== 1 && channels !== 3) {
    throw new Error(`srMetrics: expected 1 or 3 channels, got shape ${formatShape(sr.shape)}`);
  }
  const oh = height - 2 * border;
  const ow = width - 2 * border;
  if (oh <= 0 || ow <= 0) throw new Error(`srMetrics: shave ${border} leaves no pixel of shape ${formatShape(sr.shape)}`);
  const useY = channels === 3 && (options.yChannel ?? true);
  const outC = useY ? 1 : channels;
  const roundY = useY && (options.roundY ?? false);
  const ssimOptions: SsimOptions = { ...options.ssim, dataRange: range };

  /** The shaved, converted image `i` as per-channel planes on the chosen scale. */
  const planes = (img: typeof a, i: number): Float64Array[] => {
    const out = Array.from({ length: outC }, () => new Float64Array(oh * ow));
    const base = i * height * width * channels;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const src = base + ((y + border) * width + (x + border)) * channels;
        const dst = y * ow + x;
        if (useY) {
          const d = img.data;
          let v = BT601_Y.offset + BT601_Y.r * d[src] + BT601_Y.g * d[src + 1] + BT601_Y.b * d[src + 2];
          if (roundY) v = Math.round(v);
          out[0][dst] = range === 255 ? v : v / 255;
        } else {
          for (let c = 0; c < outC; c++) out[c][dst] = range === 255 ? img.data[src + c] * 255 : img.data[src + c];
        }
      }
    }
    return out;
  };

  const psnrs: number[] = [];
  const ssims: number[] = [];
  for (let i = 0; i < batch; i++) {
    const pa = planes(a, i);
    const pb = planes(b, i);
    // PSNR over all measured values (interleaving does not change the MSE)
    const all = (ps: Float64Array[]): Float64Array => {
      if (ps.length === 1) return ps[0];
      const v = new Float64Array(ps.length * ps[0].length);
      ps.forEach((p, c) => v.set(p, c * p.length));
      return v;
    };
    psnrs.push(psnrOfArrays(all(pa), all(pb), range));
    let s = 0;
    for (let c = 0; c < outC; c++) s += ssimPlane(pa[c], pb[c], oh, ow, ssimOptions);
    ssims.push(s / outC);
  }
  return { psnr: mean(psnrs), ssim: mean(ssims), psnrPerImage: psnrs, ssimPerImage: ssims };
}
