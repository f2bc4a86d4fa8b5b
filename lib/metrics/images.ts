/**
 * Shared helpers of the metrics: reading tensors as float64 image batches and checking shapes.
 * All metrics work on plain float64 arrays in JavaScript (not tfjs kernels), so that their values
 * do not depend on the backend's float32 arithmetic.
 */
import { formatShape } from '../engine/shapes';
import { tf } from '../engine/tf';

/**
 * A batch of images as one float64 array in NHWC order (`data[((n * height + y) * width + x) * channels + c]`).
 */
export interface ImageBatch64 {
  data: Float64Array;
  batch: number;
  height: number;
  width: number;
  channels: number;
}

export { formatShape };

/**
 * Reads a tensor as a float64 image batch. Accepted layouts: `[b, h, w, c]` (a batch, NHWC),
 * `[h, w, c]` (one image) and `[h, w]` (one gray image).
 * @param x the tensor (any numeric dtype; values are copied with `dataSync`)
 * @param what the tensor's name in error messages
 * @throws if the rank is not 2, 3 or 4, or the tensor has no pixel
 * @example
 * const b = toImageBatch64(tf.zeros([2, 8, 8, 3]), 'x'); // { batch: 2, height: 8, width: 8, channels: 3, ... }
 */
export function toImageBatch64(x: tf.Tensor, what = 'image'): ImageBatch64 {
  const s = x.shape;
  let batch: number, height: number, width: number, channels: number;
  if (s.length === 4) [batch, height, width, channels] = s;
  else if (s.length === 3) [batch, height, width, channels] = [1, s[0], s[1], s[2]];
  else if (s.length === 2) [batch, height, width, channels] = [1, s[0], s[1], 1];
  else throw new Error(`${what}: expected an image [h, w], [h, w, c] or a batch [b, h, w, c], got shape ${formatShape(s)}`);
  if (batch * height * width * channels === 0) {
    throw new Error(`${what}: empty image, shape ${formatShape(s)}`);
  }
  const src = x.dataSync();
  const data = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) data[i] = src[i] as number;
  return { data, batch, height, width, channels };
}

/**
 * Throws unless two tensors have the same shape; the message names the metric and both shapes.
 * @param metric the metric's name, used as the message prefix
 * @param x the tested image
 * @param ref the reference image
 * @example
 * assertSameShape('psnr', x, ref); // Error: psnr: shape mismatch: x [1, 8, 8, 3] vs ref [1, 8, 8, 1]
 */
export function assertSameShape(metric: string, x: tf.Tensor, ref: tf.Tensor): void {
  const a = x.shape;
  const b = ref.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new Error(`${metric}: shape mismatch: x ${formatShape(a)} vs ref ${formatShape(b)}`);
  }
}

/** Throws unless `dataRange` is a finite positive number. */
export function checkDataRange(metric: string, dataRange: number): void {
  if (!(Number.isFinite(dataRange) && dataRange > 0)) {
    throw new Error(`${metric}: dataRange must be a finite number > 0, got ${dataRange}`);
  }
}
