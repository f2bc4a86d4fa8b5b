/**
 * A semantic segmentation network as the forward map of an inverse problem: `A(x) = φ(x)`, the
 * per-pixel class logits of an RGB image (semantic image synthesis inverts it).
 */
import { tf } from '../engine/tf';
import { formatShape } from './linear';
import { Disposable, NonlinearOperator } from './nonlinear';

/**
 * What the operator needs from a segmenter: per-pixel logits of RGB images in [0, 1] and the
 * number of classes. The real segmenters (`lib/segmentation`) satisfy it; so does any small
 * network built from differentiable tfjs ops.
 * @example
 * const seg: SegmenterLike = { classes: 3, logits: (x) => tf.conv2d(x, kernel, 1, 'same') as tf.Tensor4D };
 */
export interface SegmenterLike {
  /** Logits `[b, h, w, K]` of images `[b, h, w, 3]` in [0, 1] (differentiable in x). */
  logits(x: tf.Tensor4D): tf.Tensor4D;
  /** The number of classes K. */
  readonly classes: number;
}

/**
 * Options of {@link segmentationOperator}.
 * @example
 * const opts: SegmentationOperatorOptions = { name: 'φ', own: false };
 */
export interface SegmentationOperatorOptions {
  /** Name in errors and tables (default `segmenter`). */
  name?: string;
  /**
   * The operator owns the segmenter: its `dispose()` disposes it (default false: the segmenter
   * is shared, e.g. by the evaluation, and the caller disposes it). Needs a `dispose` method.
   */
  own?: boolean;
}

/**
 * The segmentation operator `A(x) = φ(x)`: RGB images `[b, h, w, 3]` to the segmenter's logits
 * `[b, h, w, K]`, with `vjp(x, v) = J_φ(x)ᵀ v` by reverse-mode autodiff through the network
 * (the gradient is taken with respect to `x` only: the segmenter's weights are read, never
 * changed). The output shape is found by running the segmenter once per new input shape and is
 * checked: the same `b, h, w` as the input and `K = segmenter.classes` channels.
 * @param segmenter the network `φ` (not owned unless `own`)
 * @param options name and ownership
 * @example
 * const A = segmentationOperator(phi, { name: 'φ' });
 * const logits = A.forward(x);                 // [b, h, w, K]
 * const g = A.vjp(x, tf.onesLike(logits));     // [b, h, w, 3]
 */
export function segmentationOperator(segmenter: SegmenterLike & Partial<Disposable>, options: SegmentationOperatorOptions = {}): NonlinearOperator {
  const name = options.name ?? 'segmenter';
  const K = segmenter.classes;
  if (!Number.isInteger(K) || K < 2) throw new Error(`segmentationOperator ${name}: the segmenter's classes must be an integer >= 2, got ${K}`);
  if (options.own && typeof segmenter.dispose !== 'function') {
    throw new Error(`segmentationOperator ${name}: own: true needs a segmenter with a dispose() method`);
  }
  const model = options.own ? (segmenter as Disposable) : undefined;
  return new NonlinearOperator((x) => segmenter.logits(x), {
    name,
    model,
    outputShape: (s) => {
      if (s[3] !== 3) throw new Error(`the segmenter takes RGB images [b, h, w, 3], got ${s[3]} channel(s)`);
      const out = tf.tidy(() => segmenter.logits(tf.zeros(s as [number, number, number, number])).shape.slice());
      if (out.length !== 4 || out[0] !== s[0] || out[1] !== s[1] || out[2] !== s[2] || out[3] !== K) {
        throw new Error(`the segmenter maps it to ${formatShape(out)}, expected [${s[0]}, ${s[1]}, ${s[2]}, ${K}] (logits of ${K} classes per pixel)`);
      }
      return out;
    },
  });
}

/**
 * The most likely class of every pixel, `argmax_k logits[..., k]`, as a float32 label map
 * `[b, h, w, 1]` (the layout of the categorical likelihood's measurement).
 * @param logits `[b, h, w, K]`
 * @example
 * const labels = argmaxLabels(A.forward(x)); // [b, h, w, 1], values 0..K−1
 */
export function argmaxLabels(logits: tf.Tensor4D): tf.Tensor4D {
  if (logits.rank !== 4) throw new Error(`argmaxLabels: logits must be [b, h, w, K], got ${formatShape(logits.shape)}`);
  return tf.tidy(() => tf.expandDims(tf.cast(tf.argMax(logits, 3), 'float32'), 3) as tf.Tensor4D);
}
