/**
 * Class-balanced cross-entropy for segmentation: median-frequency balancing (Eigen & Fergus 2015,
 * as SegNet trains on CamVid) and the weighted cross-entropy over labelled pixels.
 */
import { tf } from '../engine/tf';
import { CAMVID_IGNORE, CAMVID_NUM_CLASSES } from './camvid';

/**
 * Median-frequency class weights: `freq_c = (pixels of c) / (pixels of the images that contain c)`,
 * `w_c = median_c(freq) / freq_c`, over labelled pixels only (the ignore label is neither a class
 * nor counted in the image sizes). A class absent from every map gets weight 0 (and is left out
 * of the median).
 * @param labelMaps one label map per image
 * @example
 * medianFrequencyWeights(train.map((s) => s.labels)); // 11 weights, ~1 for mid-frequency classes
 */
export function medianFrequencyWeights(labelMaps: readonly ArrayLike<number>[], numClasses = CAMVID_NUM_CLASSES, ignoreLabel = CAMVID_IGNORE): number[] {
  const count = new Float64Array(numClasses);
  const present = new Float64Array(numClasses); // labelled pixels of the images containing the class
  for (const map of labelMaps) {
    const local = new Float64Array(numClasses);
    let labelled = 0;
    for (let i = 0; i < map.length; i++) {
      const v = map[i];
      if (v === ignoreLabel) continue;
      if (!(v >= 0 && v < numClasses)) throw new Error(`medianFrequencyWeights: label ${v} is not a class in [0, ${numClasses}) nor the ignore label ${ignoreLabel}`);
      local[v]++;
      labelled++;
    }
    for (let c = 0; c < numClasses; c++) {
      if (local[c] > 0) {
        count[c] += local[c];
        present[c] += labelled;
      }
    }
  }
  const freq = Array.from(count, (n, c) => (n > 0 ? n / present[c] : 0));
  const seen = freq.filter((f) => f > 0).sort((a, b) => a - b);
  if (seen.length === 0) throw new Error('medianFrequencyWeights: no labelled pixel');
  const mid = seen.length >> 1;
  const median = seen.length % 2 ? seen[mid] : (seen[mid - 1] + seen[mid]) / 2;
  return freq.map((f) => (f > 0 ? median / f : 0));
}

/**
 * Weighted cross-entropy over labelled pixels, as PyTorch's `CrossEntropyLoss(weight, ignore_index,
 * reduction='mean')`: `L = −Σ_i w_{y_i} log softmax(z_i)_{y_i} / Σ_i w_{y_i}` over pixels i whose label
 * `y_i` is not the ignore label.
 * @param logits `[b, h, w, n]`
 * @param labels `[b, h, w]` int32, values 0..n (n = ignore)
 * @param weights n class weights (default all 1)
 * @returns a scalar (0 when no pixel is labelled)
 * @example
 * const loss = weightedCrossEntropy(phi.logits(x), labels, classWeights);
 */
export function weightedCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D, weights?: readonly number[]): tf.Scalar {
  const n = logits.shape[3];
  if (labels.shape.length !== 3 || labels.shape.some((d, i) => d !== logits.shape[i])) {
    throw new Error(`weightedCrossEntropy: labels [${labels.shape.join(', ')}] do not match logits [${logits.shape.join(', ')}] (expected [${logits.shape.slice(0, 3).join(', ')}])`);
  }
  if (weights && weights.length !== n) throw new Error(`weightedCrossEntropy: ${weights.length} class weights for ${n} classes`);
  return tf.tidy(() => {
    const oneHot = tf.slice(tf.oneHot(tf.cast(labels, 'int32'), n + 1), [0, 0, 0, 0], [...labels.shape, n]); // [b, h, w, n]; ignored pixels are all zero
    const w = tf.tensor1d(weights ? [...weights] : new Array(n).fill(1)); // [n]
    const pixelWeight = tf.sum(tf.mul(oneHot, w), 3); // [b, h, w]
    const logp = tf.sum(tf.mul(oneHot, tf.logSoftmax(logits, 3)), 3); // [b, h, w]
    const total = tf.sum(pixelWeight);
    return tf.div(tf.neg(tf.sum(tf.mul(pixelWeight, logp))), tf.maximum(total, 1e-12)) as tf.Scalar;
  });
}
