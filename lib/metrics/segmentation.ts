/**
 * Semantic-segmentation metrics over labelled pixels: the confusion matrix, per-class
 * intersection over union (IoU), its mean (mIoU) and pixel accuracy (SegNet/ENet conventions:
 * pixels whose true label is the ignore label, CamVid's 11 = Unlabelled, count nowhere).
 *
 * `IoU_c = TP_c / (TP_c + FP_c + FN_c)`, undefined (NaN) for a class that neither the labels nor
 * the predictions contain; `mIoU` is the mean over the classes where it is defined (numpy's
 * `nanmean`, as the SegNet and torchmetrics scripts do); pixel accuracy `Σ_c TP_c / Σ labelled`.
 */

/**
 * A confusion matrix `counts[t·n + p]` = number of labelled pixels of true class `t` predicted
 * as `p`, accumulated over images with {@link ConfusionMatrix.add}.
 * @example
 * const cm = new ConfusionMatrix(11, 11);
 * cm.add(predictedLabels, trueLabels); // Uint8Array / Int32Array of the same length
 * cm.meanIou(); cm.pixelAccuracy();
 */
export class ConfusionMatrix {
  /** Row-major `[true class, predicted class]` counts. */
  readonly counts: Float64Array;

  /**
   * @param numClasses number of real classes n (predictions and labels in `[0, n)`)
   * @param ignoreLabel a label value that is skipped (default: n, CamVid's 11); any other value ≥ n is an error
   */
  constructor(
    readonly numClasses: number,
    readonly ignoreLabel: number = numClasses,
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`ConfusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /**
   * Adds the pixels of one image (or batch): `predicted[i]` against `labels[i]`; pixels with
   * the ignore label are skipped.
   * @throws when the lengths differ, a label is neither a class nor the ignore label, or a prediction is out of range
   */
  add(predicted: ArrayLike<number>, labels: ArrayLike<number>): this {
    const n = this.numClasses;
    if (predicted.length !== labels.length) throw new Error(`ConfusionMatrix.add: ${predicted.length} predictions for ${labels.length} labels`);
    for (let i = 0; i < labels.length; i++) {
      const t = labels[i];
      if (t === this.ignoreLabel) continue;
      const p = predicted[i];
      if (!(Number.isInteger(t) && t >= 0 && t < n)) throw new Error(`ConfusionMatrix.add: label ${t} at pixel ${i} is not a class in [0, ${n}) nor the ignore label ${this.ignoreLabel}`);
      if (!(Number.isInteger(p) && p >= 0 && p < n)) throw new Error(`ConfusionMatrix.add: prediction ${p} at pixel ${i} is not a class in [0, ${n})`);
      this.counts[t * n + p]++;
    }
    return this;
  }

  /** Adds another matrix of the same size. */
  merge(other: ConfusionMatrix): this {
    if (other.numClasses !== this.numClasses) throw new Error(`ConfusionMatrix.merge: ${other.numClasses} classes vs ${this.numClasses}`);
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  /** Number of labelled pixels counted. */
  total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /** IoU of every class; NaN where the class is in neither labels nor predictions. */
  iou(): number[] {
    const n = this.numClasses;
    const out: number[] = [];
    for (let c = 0; c < n; c++) {
      let row = 0;
      let col = 0;
      for (let k = 0; k < n; k++) {
        row += this.counts[c * n + k];
        col += this.counts[k * n + c];
      }
      const tp = this.counts[c * n + c];
      const union = row + col - tp;
      out.push(union > 0 ? tp / union : NaN);
    }
    return out;
  }

  /** Mean of the defined per-class IoUs (NaN when no pixel was counted). */
  meanIou(): number {
    const defined = this.iou().filter((v) => !Number.isNaN(v));
    return defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : NaN;
  }

  /** Correct labelled pixels over labelled pixels (NaN when none). */
  pixelAccuracy(): number {
    let tp = 0;
    for (let c = 0; c < this.numClasses; c++) tp += this.counts[c * this.numClasses + c];
    const total = this.total();
    return total > 0 ? tp / total : NaN;
  }

  /** Per-class recall (accuracy of each class): `TP_c / (labelled pixels of c)`, NaN for absent classes. */
  classAccuracy(): number[] {
    const n = this.numClasses;
    return Array.from({ length: n }, (_, c) => {
      let row = 0;
      for (let k = 0; k < n; k++) row += this.counts[c * n + k];
      return row > 0 ? this.counts[c * n + c] / row : NaN;
    });
  }
}

/** The segmentation scores of a set of images. */
export interface SegmentationScores {
  /** Mean IoU over the classes present (labels or predictions). */
  miou: number;
  /** IoU per class, NaN where undefined. */
  iou: number[];
  pixelAccuracy: number;
  /** Labelled pixels counted. */
  pixels: number;
}

/**
 * mIoU, per-class IoU and pixel accuracy of predicted label maps against true ones.
 * @param predicted predicted classes, one a pixel
 * @param labels true labels (the ignore label skipped)
 * @param numClasses n (default 11, CamVid)
 * @param ignoreLabel default n
 * @example
 * segmentationScores([0, 1, 1], [0, 1, 11]).miou; // 1 (the third pixel is unlabelled)
 */
export function segmentationScores(predicted: ArrayLike<number>, labels: ArrayLike<number>, numClasses = 11, ignoreLabel = numClasses): SegmentationScores {
  return scoresOf(new ConfusionMatrix(numClasses, ignoreLabel).add(predicted, labels));
}

/** The scores of an accumulated {@link ConfusionMatrix}. */
export function scoresOf(cm: ConfusionMatrix): SegmentationScores {
  return { miou: cm.meanIou(), iou: cm.iou(), pixelAccuracy: cm.pixelAccuracy(), pixels: cm.total() };
}
