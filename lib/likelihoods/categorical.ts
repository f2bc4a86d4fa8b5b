/**
 * The categorical likelihood of a label map given per-pixel class logits: the cross-entropy of a
 * segmenter's softmax with the labels, the data term of semantic image synthesis
 * (`y` = label map, `A(x) = φ(x)` the segmenter's logits).
 */
import { tf } from '../engine/tf';
import { formatShape } from '../operators/linear';
import { Operator } from '../operators/types';
import { defineLikelihood } from './define';
import { tfjsSeed } from './noise';
import { Likelihood } from './types';

/** CamVid's Unlabelled label, the default ignore label. */
export const DEFAULT_IGNORE_LABEL = 11;

/**
 * Options of {@link categoricalLikelihood}.
 * @example
 * const opts: CategoricalOptions = { ignoreLabel: 11, classWeights: [0.6, 0.4, 4.2] };
 */
export interface CategoricalOptions {
  /** A label value whose pixels count nowhere (default 11, CamVid's Unlabelled); it may lie outside 0..K−1. */
  ignoreLabel?: number;
  /** A weight `w_k ≥ 0` per class (K values, not all 0): pixel terms are scaled by the weight of their label (default all 1). */
  classWeights?: readonly number[];
}

/** Label maps already checked, with the class count they were checked for (tensors are immutable). */
const checked = new WeakMap<tf.Tensor, string>();

/**
 * Checks that a label map holds only classes `0..K−1` and the ignore label; throws naming the
 * first offending value and its pixel. A tensor checked once (for the same K and ignore label)
 * is not read again.
 * @param who the message prefix
 * @param y the label map `[b, h, w, 1]` (float32 or int32)
 * @param classes K
 * @param ignoreLabel the ignored label value
 * @example
 * checkLabelMap('categorical', y, 11, 11);
 * // Error: categorical: y holds label 12 at image 0, row 3, column 5: expected a class 0..10 or the ignore label 11
 */
export function checkLabelMap(who: string, y: tf.Tensor, classes: number, ignoreLabel: number): void {
  const key = `${classes}/${ignoreLabel}`;
  if (checked.get(y) === key) return;
  if (y.rank !== 4 || y.shape[3] !== 1) throw new Error(`${who}: a label map must be [b, h, w, 1], got ${formatShape(y.shape)}`);
  const [, h, w] = y.shape;
  const d = y.dataSync();
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v === ignoreLabel) continue;
    if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
      const n = Math.floor(i / (h * w));
      const r = Math.floor((i % (h * w)) / w);
      throw new Error(`${who}: y holds label ${v} at image ${n}, row ${r}, column ${i % w}: expected a class 0..${classes - 1} or the ignore label ${ignoreLabel}`);
    }
  }
  checked.set(y, key);
}

/**
 * The categorical negative log-likelihood of a label map `y` given the logits `z = A(x)`
 * `[b, h, w, K]` (the segmenter's, through {@link segmentationOperator}), summed over the labelled
 * pixels of each image:
 *
 * `L(y, x) = Σ_{pixels p, y_p ≠ ignore} w_{y_p} · CE(softmax(z_p), y_p) = −Σ_p w_{y_p} log softmax(z_p)_{y_p}`
 *
 * The measurement `y` is a label map `[b, h, w, 1]`, float32 holding integer labels `0..K−1`
 * and the ignore label (whose pixels add nothing, to the value or the gradient). Labels are
 * checked once per tensor (an unknown class throws, naming the value and its pixel).
 *
 * Gradient: `∂L/∂z_p = w_{y_p} (softmax(z_p) − onehot(y_p))` on labelled pixels, 0 elsewhere,
 * pulled back through the operator's vjp (autodiff through the network).
 *
 * Gauss–Newton weight: the scalar `W = ½ · max_k w_k` (½ without class weights). The Fisher of
 * the softmax at a pixel, `w (diag(p) − p pᵀ)`, is a full K×K matrix, which the diagonal weight of
 * {@link Likelihood.gaussNewtonWeight} cannot hold; its eigenvalues lie in `[0, w/2]` (Gershgorin:
 * row k sums to at most `2 p_k (1 − p_k) ≤ ½`), so `W` is the smallest constant that bounds it
 * for every `x` (Gauss–Newton with it is a majorise–minimise step). Being a constant, it keeps the
 * learned solvers' stabilised gradient (`fisherWeightOnImageGrid`) finite and x-independent:
 * `−∇L/(1 + ε/2)` for the RIM, `2 ∇L` for LGD's normalised gradient, where a softmax-dependent
 * weight `p(1 − p)` would vanish on confidently classified images and blow the latter up.
 *
 * Sampling: each pixel's label is drawn from `softmax(z_p)` (Gumbel-max: `argmax_k z_pk + g_pk`,
 * `g = −log(−log u)`, `u` uniform and seeded, reproducible for every seed, 0 included); the
 * draws never hold the ignore label. For the most likely labels use `argmaxLabels(A.forward(x))`.
 *
 * @param operator the forward map to logits, e.g. `segmentationOperator(φ)` (not owned)
 * @param options the ignore label and class weights
 * @example
 * const lik = categoricalLikelihood(segmentationOperator(phi, { name: 'φ' }), { ignoreLabel: 11 });
 * const nll = lik.value(x, labels);   // scalar, summed over labelled pixels and images
 * const g = lik.grad(x, labels);      // [b, h, w, 3]
 * const drawn = lik.sample(x, 3);     // [b, h, w, 1] labels drawn from the softmax
 */
export function categoricalLikelihood(operator: Operator, options: CategoricalOptions = {}): Likelihood {
  const ignoreLabel = options.ignoreLabel ?? DEFAULT_IGNORE_LABEL;
  if (!Number.isInteger(ignoreLabel)) throw new Error(`categorical: ignoreLabel must be an integer, got ${ignoreLabel}`);
  const weights = options.classWeights;
  if (weights && (weights.length === 0 || !weights.every((v) => Number.isFinite(v) && v >= 0) || !weights.some((v) => v > 0))) {
    throw new Error(`categorical: classWeights must be finite, >= 0 and not all 0, got ${JSON.stringify(weights)}`);
  }
  const name = `categorical(ignore=${ignoreLabel}${weights ? ', class-weighted' : ''}) ∘ ${operator.name}`;
  const maxWeight = weights ? Math.max(...weights) : 1;

  /** The one-hot label map `𝟙[k = y_p] 𝟙[y_p ≠ ignore]`, `[b, h, w, K]` (labels checked). */
  const oneHot = (y: tf.Tensor4D, K: number): tf.Tensor4D => {
    checkLabelMap(name, y, K, ignoreLabel);
    const [b, h, w] = y.shape;
    const labels = tf.reshape(tf.cast(y, 'float32'), [b, h, w]);
    const mask = tf.notEqual(labels, ignoreLabel); // [b, h, w]
    const index = tf.cast(tf.where(mask, labels, tf.zerosLike(labels)), 'int32');
    return tf.mul(tf.cast(tf.oneHot(index, K), 'float32'), tf.expandDims(tf.cast(mask, 'float32'), 3)) as tf.Tensor4D;
  };

  /** The weighted one-hot targets `t_pk = w_{y_p} 𝟙[k = y_p] 𝟙[y_p ≠ ignore]`, `[b, h, w, K]`. */
  const targets = (z: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D => {
    const K = z.shape[3];
    if (weights && weights.length !== K) throw new Error(`${name}: classWeights has ${weights.length} values but A gives ${K} classes`);
    const t = oneHot(y, K);
    return weights ? (tf.mul(t, tf.tensor1d(Array.from(weights))) as tf.Tensor4D) : t; // w_k on the one-hot's 1s
  };

  return defineLikelihood({
    name,
    operator,
    measurementShape: (zShape) => {
      if (zShape.length !== 4 || !(zShape[3] >= 2)) throw new Error(`${name}: A must give logits [b, h, w, K] with K >= 2, got ${formatShape(zShape)}`);
      return [zShape[0], zShape[1], zShape[2], 1];
    },
    perImage: (z, y) => tf.neg(tf.sum(tf.mul(targets(z, y), tf.logSoftmax(z)), [1, 2, 3])) as tf.Tensor1D,
    dz: (z, y) => {
      const t = targets(z, y);
      return tf.sub(tf.mul(tf.softmax(z), tf.sum(t, 3, true)), t) as tf.Tensor4D; // w (p − onehot) on labelled pixels
    },
    weight: () => tf.scalar(0.5 * maxWeight),
    // The no-gradient ablation's view of y: the one-hot label map (ignored pixels all zero, unweighted).
    measurementOnImageGrid: (y, zShape) => oneHot(y, zShape[3]),
    sample: (z, seed) => {
      const u = tf.randomUniform(z.shape, 1e-7, 1 - 1e-7, 'float32', tfjsSeed(seed));
      const gumbel = tf.neg(tf.log(tf.neg(tf.log(u))));
      return tf.expandDims(tf.cast(tf.argMax(tf.add(z, gumbel), 3), 'float32'), 3) as tf.Tensor4D;
    },
  });
}
