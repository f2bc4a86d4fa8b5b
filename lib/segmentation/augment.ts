/**
 * Seeded augmentation of image/label pairs for segmenter training, in JavaScript on the raw
 * pixels (so a batch depends only on the {@link Rng} state, which checkpoints save):
 * random scale and crop (bilinear for the image, nearest for the labels; pixels outside the scaled
 * image are grey and Unlabelled), horizontal flip, colour jitter (brightness, contrast, saturation).
 */
import { tf } from '../engine/tf';
import { Rng } from '../util/rng';
import { CAMVID_IGNORE, CamVidSample } from './camvid';

/** Augmentation settings. */
export interface AugmentConfig {
  /** Horizontal flips with probability ½. */
  flip: boolean;
  /** Scale factor drawn uniformly from `[min, max]` (`[1, 1]`: none). */
  scale: [number, number];
  /** Brightness factor `1 ± brightness`, contrast `1 ± contrast`, saturation `1 ± saturation` (0: none). */
  jitter: { brightness: number; contrast: number; saturation: number };
}

/** No augmentation (crops only). */
export const NO_AUGMENT: AugmentConfig = { flip: false, scale: [1, 1], jitter: { brightness: 0, contrast: 0, saturation: 0 } };

/**
 * One augmented crop of `sample` of size `ch × cw`, written at `offset` pixels into `x` (RGB in
 * [0, 1]) and `labels`. Draws from `rng` in a fixed order: scale, crop offsets, flip, jitter.
 */
export function augmentInto(sample: CamVidSample, rng: Rng, crop: [number, number], aug: AugmentConfig, x: Float32Array, labels: Int32Array, offset: number): void {
  const { data, height: H, width: W } = sample.image;
  const [ch, cw] = crop;
  const s = aug.scale[0] === aug.scale[1] ? aug.scale[0] : rng.uniform(aug.scale[0], aug.scale[1]);
  const sh = H * s;
  const sw = W * s;
  // Offset of the crop in the scaled image: inside it when it fits, else the image lies inside the crop.
  const oy = sh >= ch ? rng.uniform(0, sh - ch) : -rng.uniform(0, ch - sh);
  const ox = sw >= cw ? rng.uniform(0, sw - cw) : -rng.uniform(0, cw - sw);
  const flip = aug.flip && rng.next() < 0.5;
  const j = aug.jitter;
  const brightness = j.brightness > 0 ? rng.uniform(1 - j.brightness, 1 + j.brightness) : 1;
  const contrast = j.contrast > 0 ? rng.uniform(1 - j.contrast, 1 + j.contrast) : 1;
  const saturation = j.saturation > 0 ? rng.uniform(1 - j.saturation, 1 + j.saturation) : 1;
  let graySum = 0;
  let grayCount = 0;
  for (let i = 0; i < ch; i++) {
    for (let k = 0; k < cw; k++) {
      const o = offset + i * cw + (flip ? cw - 1 - k : k);
      // Source coordinates (pixel centres) of the output pixel in the original image.
      const sy = (oy + i + 0.5) / s - 0.5;
      const sx = (ox + k + 0.5) / s - 0.5;
      if (sy < -0.5 || sx < -0.5 || sy > H - 0.5 || sx > W - 0.5) {
        labels[o] = CAMVID_IGNORE;
        x[3 * o] = x[3 * o + 1] = x[3 * o + 2] = 0.5;
        continue;
      }
      labels[o] = sample.labels[Math.min(H - 1, Math.max(0, Math.round(sy))) * W + Math.min(W - 1, Math.max(0, Math.round(sx)))];
      const y0 = Math.min(H - 1, Math.max(0, Math.floor(sy)));
      const x0 = Math.min(W - 1, Math.max(0, Math.floor(sx)));
      const y1 = Math.min(H - 1, y0 + 1);
      const x1 = Math.min(W - 1, x0 + 1);
      const fy = Math.min(1, Math.max(0, sy - y0));
      const fx = Math.min(1, Math.max(0, sx - x0));
      let gray = 0;
      for (let c = 0; c < 3; c++) {
        const v =
          (1 - fy) * ((1 - fx) * data[(y0 * W + x0) * 3 + c] + fx * data[(y0 * W + x1) * 3 + c]) +
          fy * ((1 - fx) * data[(y1 * W + x0) * 3 + c] + fx * data[(y1 * W + x1) * 3 + c]);
        x[3 * o + c] = (v / 255) * brightness;
        gray += x[3 * o + c] / 3;
      }
      graySum += gray;
      grayCount++;
    }
  }
  if (contrast === 1 && saturation === 1) return clamp(x, offset, ch * cw);
  const mean = grayCount ? graySum / grayCount : 0.5;
  for (let p = offset; p < offset + ch * cw; p++) {
    const g = (x[3 * p] + x[3 * p + 1] + x[3 * p + 2]) / 3;
    for (let c = 0; c < 3; c++) {
      const sat = g + saturation * (x[3 * p + c] - g);
      x[3 * p + c] = mean + contrast * (sat - mean);
    }
  }
  clamp(x, offset, ch * cw);
}

function clamp(x: Float32Array, offset: number, pixels: number): void {
  for (let i = 3 * offset; i < 3 * (offset + pixels); i++) x[i] = Math.min(1, Math.max(0, x[i]));
}

/**
 * A training batch: `batchSize` samples drawn with replacement by `rng`, each augmented and cropped.
 * @returns images `[b, ch, cw, 3]` in [0, 1] and labels `[b, ch, cw]` int32 (the caller disposes them)
 * @example
 * const rng = new Rng(1);
 * const { x, labels } = augmentedBatch(train, rng, 4, [176, 224], { flip: true, scale: [0.75, 1.25], jitter: { brightness: 0.2, contrast: 0.2, saturation: 0.2 } });
 */
export function augmentedBatch(samples: readonly CamVidSample[], rng: Rng, batchSize: number, crop: [number, number], aug: AugmentConfig): { x: tf.Tensor4D; labels: tf.Tensor3D } {
  if (samples.length === 0) throw new Error('augmentedBatch: no samples');
  const [ch, cw] = crop;
  const x = new Float32Array(batchSize * ch * cw * 3);
  const labels = new Int32Array(batchSize * ch * cw);
  for (let b = 0; b < batchSize; b++) augmentInto(samples[rng.int(samples.length)], rng, crop, aug, x, labels, b * ch * cw);
  return { x: tf.tensor4d(x, [batchSize, ch, cw, 3]), labels: tf.tensor3d(labels, [batchSize, ch, cw], 'int32') };
}
