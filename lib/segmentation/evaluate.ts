/** Scores a segmenter on CamVid images: mIoU, per-class IoU and pixel accuracy over labelled pixels. */
import { tf } from '../engine/tf';
import { ConfusionMatrix, scoresOf, SegmentationScores } from '../metrics/segmentation';
import { CAMVID_CLASSES, CAMVID_IGNORE, CAMVID_NUM_CLASSES, camvidTensors, CamVidSample } from './camvid';
import { Segmenter } from './networks';

/** What {@link evaluateSegmenter} returns. */
export interface SegmenterEvaluation extends SegmentationScores {
  /** IoU by class name (NaN where undefined). */
  perClass: Record<string, number>;
  /** Per-class recall. */
  classAccuracy: number[];
  images: number;
  confusion: ConfusionMatrix;
}

/**
 * Runs the segmenter on every sample (full frames, in batches) and scores its predictions.
 * @param batchSize images per forward pass (default 8)
 * @example
 * const test = await loadCamVid('test');
 * const r = evaluateSegmenter(phi, test); // r.miou, r.perClass.Road, r.pixelAccuracy
 */
export function evaluateSegmenter(segmenter: Segmenter, samples: readonly CamVidSample[], options: { batchSize?: number } = {}): SegmenterEvaluation {
  if (samples.length === 0) throw new Error('evaluateSegmenter: no samples');
  const batchSize = options.batchSize ?? 8;
  const cm = new ConfusionMatrix(CAMVID_NUM_CLASSES, CAMVID_IGNORE);
  for (let i = 0; i < samples.length; i += batchSize) {
    const chunk = samples.slice(i, i + batchSize);
    const predicted = tf.tidy(() => {
      const { x, labels } = camvidTensors(chunk);
      labels.dispose();
      return segmenter.predict(x); // [b, h, w]
    });
    const values = predicted.dataSync();
    predicted.dispose();
    const h = chunk[0].image.height;
    const w = chunk[0].image.width;
    chunk.forEach((s, k) => cm.add(values.subarray(k * h * w, (k + 1) * h * w), s.labels));
  }
  const scores = scoresOf(cm);
  return {
    ...scores,
    perClass: Object.fromEntries(CAMVID_CLASSES.map((name, c) => [name, scores.iou[c]])),
    classAccuracy: cm.classAccuracy(),
    images: samples.length,
    confusion: cm,
  };
}
