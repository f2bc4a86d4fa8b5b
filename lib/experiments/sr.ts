/**
 * Super-resolution evaluation helpers: benchmark pairs that keep gray files gray, crops that
 * respect the scale, the BT.601 luma the benchmarks measure on, 8-bit outputs, and the bicubic
 * baseline (MATLAB `imresize` upsampling, uint8 output, PSNR/SSIM on Y with `scale` shaved).
 */
import { tf } from '../engine/tf';
import { SrPair, loadSrPairs } from '../io/datasets';
import { rgbToY, srMetrics, SrMetricsOptions, SrMetricsResult } from '../metrics/color';
import { upsampleBicubic } from '../operators/imresize';
import { to8bit } from '../io/image';
import { BT601_Y } from '../metrics/color';

export { to8bit }; // defined with the other 8-bit image helpers (lib/io/image.ts)

/**
 * Loads the HR/LR pairs of Set5 or Set14 at a scale with each file's own channels: color files
 * as RGB `[1, h, w, 3]`, gray files as `[1, h, w, 1]`.
 *
 * Gray files stay gray ({@link loadSrPairs} keeps each file's channels): Set14's img_003 is gray,
 * and the benchmark code measures a gray image directly (no `rgb2ycbcr`), while an RGB copy would
 * be measured on `Y = 16 + 219·v/255`, a compressed range that adds 20·log10(255/219) = 1.32 dB
 * to that image (+0.09 dB on the Set14 mean).
 * @param set 'Set5' or 'Set14'
 * @param scale 2, 3 or 4
 * @param options `limit`: the first n pairs only; `crop`: central HR crop of this side with its LR
 *   pixels ({@link cropSrPair}; for quick runs only)
 * @example
 * const pairs = await loadSrTestPairs('Set14', 3); // pairs[2].hr.shape[3] === 1 (gray file)
 */
export async function loadSrTestPairs(set: 'Set5' | 'Set14', scale: number, options: { limit?: number; crop?: number } = {}): Promise<SrPair[]> {
  const pairs = await loadSrPairs(set, scale, { limit: options.limit });
  if (!options.crop) return pairs;
  return pairs.map((pair) => {
    const cropped = cropSrPair(pair, scale, options.crop as number);
    tf.dispose([pair.hr, pair.lr]);
    return cropped;
  });
}

/**
 * MATLAB's `modcrop`: keeps the top-left `⌊h/s⌋·s × ⌊w/s⌋·s` pixels, so that the image can be
 * shrunk by `s` exactly. Returns a new tensor.
 * @example
 * modcrop(tf.zeros([1, 321, 481, 3]), 4).shape; // [1, 320, 480, 3]
 */
export function modcrop(x: tf.Tensor4D, scale: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const H = h - (h % scale);
  const W = w - (w % scale);
  if (H === 0 || W === 0) throw new Error(`modcrop: image [${x.shape.join(', ')}] is smaller than the scale ${scale}`);
  return tf.slice(x, [0, 0, 0, 0], [-1, H, W, -1]);
}

/**
 * The central `size × size` crop (or less along a side shorter than `size`), with its offset and
 * side lengths multiples of `multiple` (e.g. the SR scale). Returns a new tensor.
 * @param x `[b, h, w, c]`
 * @param size the crop side (rounded down to a multiple of `multiple`)
 * @param multiple default 1
 * @example
 * centerCrop(tf.zeros([1, 321, 481, 1]), 96).shape; // [1, 96, 96, 1]
 */
export function centerCrop(x: tf.Tensor4D, size: number, multiple = 1): tf.Tensor4D {
  const [, h, w] = x.shape;
  const side = (n: number) => Math.floor(Math.min(size, n) / multiple) * multiple;
  const ch = side(h);
  const cw = side(w);
  if (ch === 0 || cw === 0) throw new Error(`centerCrop: image [${x.shape.join(', ')}] has no ${multiple}-aligned ${size}-crop`);
  const top = Math.floor((h - ch) / 2 / multiple) * multiple;
  const left = Math.floor((w - cw) / 2 / multiple) * multiple;
  return tf.slice(x, [0, top, left, 0], [-1, ch, cw, -1]);
}

/**
 * The central crop of an SR pair: the HR crop `size × size` (aligned to the scale) and the LR
 * pixels that cover it (offset and size divided by the scale). The LR pixels next to the crop's
 * border were made from HR pixels outside it, so only use it for quick runs.
 * @example
 * const small = cropSrPair(pair, 4, 96); // hr [1, 96, 96, 3], lr [1, 24, 24, 3]
 */
export function cropSrPair(pair: SrPair, scale: number, size: number): SrPair {
  const [, h, w] = pair.hr.shape;
  const side = (n: number) => Math.floor(Math.min(size, n) / scale) * scale;
  const ch = side(h);
  const cw = side(w);
  const top = Math.floor((h - ch) / 2 / scale) * scale;
  const left = Math.floor((w - cw) / 2 / scale) * scale;
  return {
    name: pair.name,
    hr: tf.slice(pair.hr, [0, top, left, 0], [-1, ch, cw, -1]),
    lr: tf.slice(pair.lr, [0, top / scale, left / scale, 0], [-1, ch / scale, cw / scale, -1]),
  };
}

/**
 * The image the SR benchmarks measure: BT.601 luma `Y = (16 + 65.481 R + 128.553 G + 24.966 B)/255`
 * of an RGB image (MATLAB `rgb2ycbcr`), or a gray image itself. Returns a new `[b, h, w, 1]` tensor.
 * @example
 * luma(rgb).shape; // [1, h, w, 1]
 */
export function luma(x: tf.Tensor4D): tf.Tensor4D {
  if (x.shape[3] === 1) return tf.clone(x);
  if (x.shape[3] !== 3) throw new Error(`luma: expected 1 or 3 channels, got [${x.shape.join(', ')}]`);
  return rgbToY(x);
}

/**
 * Replaces the luma of `image` by `newLuma`, keeping its chroma (Cb, Cr): adds
 * `(newLuma − luma(image)) · 255/219` to each of R, G, B (the BT.601 luma weights sum to 219/255
 * and the chroma weights to 0). For a gray image, returns `newLuma`. A new tensor.
 * @param image `[b, h, w, 3]` or `[b, h, w, 1]`
 * @param newLuma `[b, h, w, 1]`
 * @param oldLuma `luma(image)` when already computed
 * @example
 * const sr = replaceLuma(bicubic, restoredY); // bicubic chroma, restored luma
 */
export function replaceLuma(image: tf.Tensor4D, newLuma: tf.Tensor4D, oldLuma?: tf.Tensor4D): tf.Tensor4D {
  if (image.shape[3] === 1) return tf.clone(newLuma);
  return tf.tidy(() => {
    const old = oldLuma ?? luma(image);
    const gain = 255 / (BT601_Y.r + BT601_Y.g + BT601_Y.b);
    return tf.add(image, tf.mul(tf.sub(newLuma, old), gain)) as tf.Tensor4D; // [b, h, w, 3]
  });
}

/**
 * Bicubic upsampling as MATLAB's `imresize(lr, scale)` on a uint8 image: bicubic (no
 * antialiasing when enlarging), then clipped and rounded to 8 bits. A new tensor.
 * @example
 * const sr = bicubic8(lr, 3); // [1, 3h, 3w, c]
 */
export function bicubic8(lr: tf.Tensor4D, scale: number): tf.Tensor4D {
  return tf.tidy(() => to8bit(upsampleBicubic(lr, scale)));
}

/**
 * The bicubic SR baseline of a benchmark: each LR image upsampled with MATLAB-compatible bicubic
 * and rounded to 8 bits as MATLAB's uint8 output is ({@link bicubic8}), then PSNR/SSIM with
 * {@link srMetrics} (BT.601 Y of color images, gray images as they are, `scale` pixels shaved).
 * Load the pairs with {@link loadSrTestPairs} so that gray files stay gray.
 * @param pairs HR/LR pairs (not disposed)
 * @param scale the SR factor
 * @param options passed to `srMetrics` (e.g. `{ roundY: true }` to round Y as MATLAB's uint8 `rgb2ycbcr`)
 * @returns mean and per-image PSNR/SSIM
 * @example
 * const pairs = await loadSrTestPairs('Set5', 2);
 * bicubicBaseline(pairs, 2).psnr; // 33.68 (published: 33.66)
 */
export function bicubicBaseline(pairs: readonly SrPair[], scale: number, options: SrMetricsOptions = {}): SrMetricsResult {
  if (pairs.length === 0) throw new Error('bicubicBaseline: no pairs');
  const psnrs: number[] = [];
  const ssims: number[] = [];
  for (const p of pairs) {
    const sr = bicubic8(p.lr, scale);
    if (sr.shape[1] !== p.hr.shape[1] || sr.shape[2] !== p.hr.shape[2]) {
      sr.dispose();
      throw new Error(`bicubicBaseline: ${p.name}: x${scale} of LR [${p.lr.shape.join(', ')}] is not the HR size [${p.hr.shape.join(', ')}]`);
    }
    const m = srMetrics(sr, p.hr, scale, options);
    sr.dispose();
    psnrs.push(m.psnr);
    ssims.push(m.ssim);
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return { psnr: mean(psnrs), ssim: mean(ssims), psnrPerImage: psnrs, ssimPerImage: ssims };
}
