/**
 * Semantic image synthesis as an inverse problem: the measurement is a label map `y`, the forward
 * map a segmentation network `φ` (logits), the data term the categorical likelihood. This file
 * holds the evaluation task (start image, solver view, metrics: PSNR/SSIM against the real image
 * and mIoU by any segmenter) and the classical inversion (TV + gradient descent / L-BFGS through
 * `φ`, with per-iteration PSNR and mIoU).
 *
 * Why not a `RestorationTask` (./tasks.ts): that type's operator is linear, it carries a Gaussian
 * σ (which `tvMethod`/`restoreTv` build their likelihood from), and it degrades a truth into its
 * measurement. Here the operator is a network, the likelihood is categorical, the measurement is
 * the data set's annotation (never made from the image), and the protocol scores with segmenters
 * besides PSNR/SSIM. So {@link SemanticSynthesisTask} is a separate type that keeps the parts that
 * fit with the same names and meanings (`task`, `setting`, `label`, `inputMethod`, `input`,
 * `measure`, `measurePsnr`, and `view`, whose result is a `SolverView` without σ: learned solvers
 * run on it exactly as `learnedMethod` does) and adds the scoring by segmenters.
 */
import { tf } from '../engine/tf';
import { categoricalLikelihood, checkLabelMap, DEFAULT_IGNORE_LABEL } from '../likelihoods/categorical';
import { Likelihood } from '../likelihoods/types';
import { mean } from '../metrics/mean';
import { psnrPerImage } from '../metrics/psnr';
import { ConfusionMatrix, scoresOf, SegmentationScores } from '../metrics/segmentation';
import { ssimPerImage } from '../metrics/ssim';
import { formatShape } from '../operators/linear';
import { NonlinearOperator } from '../operators/nonlinear';
import { argmaxLabels, segmentationOperator, SegmenterLike } from '../operators/segmentation';
import { totalVariation } from '../priors/total_variation';
import { gradientDescent, GradientDescentOptions } from '../solvers/classical/gradient_descent';
import { IterationRecord } from '../solvers/classical/history';
import { gaussNewton, GaussNewtonOptions } from '../solvers/classical/gauss_newton';
import { lbfgs, LbfgsOptions } from '../solvers/classical/lbfgs';
import { createProblem } from '../tasks/problem';
import { to8bit } from './sr';
import type { Quality, SolverView } from './tasks';

/**
 * A label map as the categorical likelihood's measurement: `[b, h, w]` or `[b, h, w, 1]` of any
 * dtype (e.g. the int32 labels of `camvidTensors`) to float32 `[b, h, w, 1]`. A new tensor.
 * @param labels the label map
 * @example
 * const y = labelMap(camvidTensors(samples).labels); // [b, 180, 240, 1] float32
 */
export function labelMap(labels: tf.Tensor): tf.Tensor4D {
  const s = labels.shape;
  if (!(s.length === 3 || (s.length === 4 && s[3] === 1))) throw new Error(`labelMap: expected [b, h, w] or [b, h, w, 1] labels, got ${formatShape(s)}`);
  return tf.tidy(() => tf.reshape(tf.cast(labels, 'float32'), [s[0], s[1], s[2], 1]) as tf.Tensor4D);
}

/**
 * Mean colours per class, from training images and their label maps ({@link perClassMeanColors}).
 * @example
 * const mc: MeanColors = { colors: [[0.5, 0.5, 0.6], [0.3, 0.2, 0.2]], unlabelled: [0.2, 0.2, 0.2], counts: [100, 50] };
 */
export interface MeanColors {
  /** RGB in [0, 1] of each class 0..K−1 (a class without pixels: the mean of all labelled pixels). */
  colors: number[][];
  /** RGB of the pixels with the ignore label (the mean of all labelled pixels when there are none). */
  unlabelled: number[];
  /** Pixels counted per class. */
  counts: number[];
}

/**
 * Options of {@link perClassMeanColors} and {@link meanColorImage}.
 * @example
 * const opts: ClassColorOptions = { classes: 11, ignoreLabel: 11 };
 */
export interface ClassColorOptions {
  /** K (default 11, CamVid). */
  classes?: number;
  /** The ignored label (default 11). */
  ignoreLabel?: number;
}

/**
 * The mean RGB colour of each class over training images: `c_k = Σ_{p: y_p = k} x_p / #{p: y_p = k}`
 * (pixels of every image pooled), plus the mean colour of the ignored pixels. Accumulated in
 * float64 one image batch at a time.
 * @param images RGB images in [0, 1], `[b, h, w, 3]` (one batch or a list of batches; not disposed)
 * @param labels their label maps, `[b, h, w]` or `[b, h, w, 1]`, in the same order (not disposed)
 * @param options K and the ignore label
 * @throws naming the batch and both shapes when an image and its labels differ in size, or the label and pixel on an unknown class
 * @example
 * const colors = perClassMeanColors(train.x, train.labels, { classes: 11 });
 * colors.colors[0]; // the mean colour of Sky
 */
export function perClassMeanColors(
  images: tf.Tensor4D | readonly tf.Tensor4D[],
  labels: tf.Tensor | readonly tf.Tensor[],
  options: ClassColorOptions = {},
): MeanColors {
  const K = options.classes ?? 11;
  const ignore = options.ignoreLabel ?? DEFAULT_IGNORE_LABEL;
  const xs = Array.isArray(images) ? images : [images as tf.Tensor4D];
  const ls = Array.isArray(labels) ? labels : [labels as tf.Tensor];
  if (xs.length !== ls.length || xs.length === 0) throw new Error(`perClassMeanColors: ${xs.length} image batches for ${ls.length} label batches`);
  const sums = Array.from({ length: K + 1 }, () => [0, 0, 0]); // index K: the ignored pixels
  const counts = new Array<number>(K + 1).fill(0);
  xs.forEach((x, i) => {
    const l = ls[i];
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`perClassMeanColors: batch ${i}: images must be RGB [b, h, w, 3], got ${formatShape(x.shape)}`);
    if (l.shape[0] !== x.shape[0] || l.shape[1] !== x.shape[1] || l.shape[2] !== x.shape[2]) {
      throw new Error(`perClassMeanColors: batch ${i}: images ${formatShape(x.shape)} but labels ${formatShape(l.shape)} (sizes differ)`);
    }
    const y = labelMap(l);
    try {
      checkLabelMap(`perClassMeanColors: batch ${i}`, y, K, ignore);
      const px = x.dataSync();
      const lab = y.dataSync();
      for (let p = 0; p < lab.length; p++) {
        const k = lab[p] === ignore ? K : lab[p];
        counts[k]++;
        for (let c = 0; c < 3; c++) sums[k][c] += px[p * 3 + c];
      }
    } finally {
      y.dispose();
    }
  });
  const labelled = counts.slice(0, K).reduce((a, b) => a + b, 0);
  const overall = [0, 1, 2].map((c) => (labelled > 0 ? sums.slice(0, K).reduce((s, v) => s + v[c], 0) / labelled : 0.5));
  const avg = (k: number) => (counts[k] > 0 ? sums[k].map((v) => v / counts[k]) : [...overall]);
  return { colors: Array.from({ length: K }, (_, k) => avg(k)), unlabelled: avg(K), counts: counts.slice(0, K) };
}

/**
 * The per-class mean colour image of a label map: pixel `p` gets `c_{y_p}` (ignored pixels: the
 * unlabelled colour). The classical and learned solvers start from it.
 * @param labels `[b, h, w]` or `[b, h, w, 1]`
 * @param colors {@link MeanColors}, or K RGB triples (ignored pixels then get their mean)
 * @param options the ignore label (K comes from the colours)
 * @returns `[b, h, w, 3]` in [0, 1], a new tensor
 * @example
 * const x0 = meanColorImage(y, colors); // [b, h, w, 3]
 */
export function meanColorImage(labels: tf.Tensor, colors: MeanColors | readonly (readonly number[])[], options: { ignoreLabel?: number } = {}): tf.Tensor4D {
  const ignore = options.ignoreLabel ?? DEFAULT_IGNORE_LABEL;
  const table = Array.isArray(colors) ? (colors as readonly (readonly number[])[]) : (colors as MeanColors).colors;
  const K = table.length;
  if (K === 0 || !table.every((c) => c.length === 3)) throw new Error(`meanColorImage: colors must be K RGB triples, got ${JSON.stringify(table)}`);
  const unlabelled = Array.isArray(colors) ? [0, 1, 2].map((c) => mean(table.map((t) => t[c]))) : (colors as MeanColors).unlabelled;
  const y = labelMap(labels);
  try {
    checkLabelMap('meanColorImage', y, K, ignore);
    return tf.tidy(() => {
      const [b, h, w] = y.shape;
      const palette = tf.tensor2d([...table.map((c) => Array.from(c)), unlabelled], [K + 1, 3]);
      const flat = tf.reshape(y, [b, h, w]);
      const index = tf.cast(tf.where(tf.equal(flat, ignore), tf.fill([b, h, w], K), flat), 'int32');
      return tf.gather(palette, index) as tf.Tensor as tf.Tensor4D; // [b, h, w, 3]
    });
  } finally {
    y.dispose();
  }
}

/**
 * Adds a segmenter's predictions on images to a confusion matrix against the label map.
 * @param segmenter any segmenter (`φ`, or the independent `φ'`)
 * @param images `[b, h, w, 3]` in [0, 1]
 * @param labels `[b, h, w]` or `[b, h, w, 1]` (the ignore label skipped)
 * @param into the matrix to add to (default a new one of `segmenter.classes` classes and ignore label 11)
 * @example
 * const cm = new ConfusionMatrix(11, 11);
 * for (const { x, y } of batches) addPredictions(phiPrime, x, y, cm);
 * scoresOf(cm).miou;
 */
export function addPredictions(segmenter: SegmenterLike, images: tf.Tensor4D, labels: tf.Tensor, into?: ConfusionMatrix): ConfusionMatrix {
  const cm = into ?? new ConfusionMatrix(segmenter.classes, DEFAULT_IGNORE_LABEL);
  if (cm.numClasses !== segmenter.classes) throw new Error(`addPredictions: the segmenter has ${segmenter.classes} classes, the matrix ${cm.numClasses}`);
  if (labels.shape[0] !== images.shape[0] || labels.shape[1] !== images.shape[1] || labels.shape[2] !== images.shape[2]) {
    throw new Error(`addPredictions: images ${formatShape(images.shape)} but labels ${formatShape(labels.shape)} (sizes differ)`);
  }
  const predicted = tf.tidy(() => argmaxLabels(segmenter.logits(images)));
  const y = labelMap(labels);
  try {
    cm.add(predicted.dataSync(), y.dataSync());
  } finally {
    tf.dispose([predicted, y]);
  }
  return cm;
}

/**
 * mIoU, per-class IoU and pixel accuracy of a segmenter on images against a label map (one set).
 * @example
 * segmentationQuality(phi, synthesized, y).miou;
 */
export function segmentationQuality(segmenter: SegmenterLike, images: tf.Tensor4D, labels: tf.Tensor, ignoreLabel = DEFAULT_IGNORE_LABEL): SegmentationScores {
  return scoresOf(addPredictions(segmenter, images, labels, new ConfusionMatrix(segmenter.classes, ignoreLabel)));
}

/**
 * The problem a solver works on for one label map ({@link SemanticSynthesisTask.view}): a
 * `SolverView` without σ (the categorical likelihood has no noise level).
 */
export type SemanticView = Omit<SolverView, 'sigma'>;

/**
 * Semantic image synthesis with its evaluation protocol (see the file comment for why it is not a
 * `RestorationTask`).
 * @example
 * const task = semanticSynthesisTask({ segmenter: phi, colors });
 * const y = labelMap(test.labels);
 * const x0 = task.input(y);
 * task.measure(x0, test.x);                 // PSNR/SSIM of the mean-colour start
 * task.score(x0, y, phiPrime).miou;         // mIoU by the independent segmenter
 */
export interface SemanticSynthesisTask {
  /** Table task name, `semantic-synthesis`. */
  readonly task: 'semantic-synthesis';
  /** Table setting (default `labels→RGB`). */
  readonly setting: string;
  /** Short label for progress lines and figures. */
  readonly label: string;
  /** Table method name of the start image: `per-class mean colours`. */
  readonly inputMethod: string;
  /** K. */
  readonly classes: number;
  readonly ignoreLabel: number;
  readonly colors: MeanColors;
  /** The inverted segmenter `φ`. */
  readonly segmenter: SegmenterLike;
  /** `A(x) = φ(x)` (does not own `φ`). */
  readonly operator: NonlinearOperator;
  /** The categorical likelihood through `φ`. */
  readonly likelihood: Likelihood;
  /** The per-class mean colour image of a label map `[b, h, w, 1]` (a new tensor). */
  input(y: tf.Tensor4D): tf.Tensor4D;
  /** Mean PSNR/SSIM on [0, 1] (data range 1, SSIM over the RGB channels) of a synthesis against the real images. */
  measure(estimate: tf.Tensor4D, truth: tf.Tensor4D): Quality;
  /** The mean PSNR alone. */
  measurePsnr(estimate: tf.Tensor4D, truth: tf.Tensor4D): number;
  /** mIoU, per-class IoU and pixel accuracy of a segmenter (default `φ`) on a synthesis against the label map. */
  score(estimate: tf.Tensor4D, y: tf.Tensor4D, segmenter?: SegmenterLike): SegmentationScores;
  /**
   * What solvers work on: `y` the label map, `x0` the mean-colour image `input`, the categorical
   * likelihood through `φ`, and `finish` = clip to [0, 1] and round to 8 bits.
   */
  view(y: tf.Tensor4D, input: tf.Tensor4D, truth?: tf.Tensor4D): SemanticView;
  /** Frees the operator (never the segmenter). */
  dispose(): void;
}

/**
 * Options of {@link semanticSynthesisTask}.
 * @example
 * const opts: SemanticSynthesisTaskOptions = { segmenter: phi, colors, name: 'φ' };
 */
export interface SemanticSynthesisTaskOptions {
  /** The segmenter `φ` the solvers differentiate through (not owned). */
  segmenter: SegmenterLike;
  /** The per-class mean colours of the training set ({@link perClassMeanColors}); K colours. */
  colors: MeanColors;
  /** The operator's name in errors (default `φ`). */
  name?: string;
  /** Default 11. */
  ignoreLabel?: number;
  /** Class weights of the likelihood (default none). */
  classWeights?: readonly number[];
  /** Table setting (default `labels→RGB`). */
  setting?: string;
}

/**
 * The semantic synthesis task: restore an RGB image `x` from its label map `y` by inverting a
 * segmenter, `L(y, x) = CE(softmax(φ(x)), y)` over labelled pixels, from the per-class mean
 * colour image; scored by PSNR/SSIM against the real image and by the mIoU of any segmenter
 * (the inverted `φ`, which solvers can fool, and an independent `φ'`).
 * @param options the segmenter, the training set's mean colours, ignore label, class weights
 * @example
 * const task = semanticSynthesisTask({ segmenter: phi, colors: perClassMeanColors(train.x, train.labels) });
 * const view = task.view(y, task.input(y));
 * const problem = createProblem({ likelihood: view.likelihood, y: view.y });
 */
export function semanticSynthesisTask(options: SemanticSynthesisTaskOptions): SemanticSynthesisTask {
  const { segmenter, colors } = options;
  const ignoreLabel = options.ignoreLabel ?? DEFAULT_IGNORE_LABEL;
  if (colors.colors.length !== segmenter.classes) {
    throw new Error(`semanticSynthesisTask: ${colors.colors.length} class colours for a segmenter of ${segmenter.classes} classes`);
  }
  const operator = segmentationOperator(segmenter, { name: options.name ?? 'φ' });
  const likelihood = categoricalLikelihood(operator, { ignoreLabel, classWeights: options.classWeights });
  const setting = options.setting ?? 'labels→RGB';
  const measurePsnr = (estimate: tf.Tensor4D, truth: tf.Tensor4D) => mean(psnrPerImage(estimate, truth));
  return {
    task: 'semantic-synthesis',
    setting,
    label: `synthesis through ${operator.name}`,
    inputMethod: 'per-class mean colours',
    classes: segmenter.classes,
    ignoreLabel,
    colors,
    segmenter,
    operator,
    likelihood,
    input: (y) => meanColorImage(y, colors, { ignoreLabel }),
    measure: (estimate, truth) => ({ psnr: measurePsnr(estimate, truth), ssim: mean(ssimPerImage(estimate, truth)) }),
    measurePsnr,
    score: (estimate, y, seg = segmenter) => segmentationQuality(seg, estimate, y, ignoreLabel),
    view(y, input, truth) {
      if (input.shape[0] !== y.shape[0] || input.shape[1] !== y.shape[1] || input.shape[2] !== y.shape[2]) {
        throw new Error(`semantic synthesis: start ${formatShape(input.shape)} and label map ${formatShape(y.shape)} differ in size`);
      }
      return { y, x0: input, truth, likelihood, finish: (x) => to8bit(x), dispose: () => undefined };
    },
    dispose: () => operator.dispose(),
  };
}

/**
 * One iteration of {@link semanticInversion}: the solver's record plus the data term and the
 * segmentation scores of the iterate (clipped to [0, 1]).
 */
export interface SemanticIterationRecord extends IterationRecord {
  /** The categorical data term `L(y, x)` (summed over labelled pixels and images). */
  ce: number;
  /** mIoU by each evaluator, by name. */
  miou: Record<string, number>;
  /** Pixel accuracy by each evaluator, by name. */
  pixelAccuracy: Record<string, number>;
}

/**
 * Options of {@link semanticInversion}.
 * @example
 * const opts: SemanticInversionOptions = { lambda: 0.05, iterations: 50, solver: 'gd', evaluators: { 'φ': phi, "φ'": phiPrime } };
 */
export interface SemanticInversionOptions {
  /** TV weight λ ≥ 0. */
  lambda: number;
  /** Maximum solver iterations. */
  iterations: number;
  /**
   * `gd`: projected gradient descent on the box [0, 1] (default); `lbfgs`: the library's
   * unconstrained L-BFGS (records and output clipped to [0, 1]); `gauss-newton`: the core's
   * regularised Gauss–Newton (CG on `JᵀWJ + α I + H_TV` through Jacobian products of `φ`, the
   * categorical likelihood's scalar Fisher bound as `W`; projected on [0, 1]).
   */
  solver?: 'gd' | 'lbfgs' | 'gauss-newton';
  /** TV smoothing ε (default 1e-2). */
  epsilon?: number;
  /** Start (default the task's mean-colour image of `y`); not disposed. */
  x0?: tf.Tensor4D;
  /** The real images: every record gets PSNR/SSIM. */
  truth?: tf.Tensor4D;
  /** Segmenters whose mIoU of every iterate is recorded, by name (e.g. `φ` and the independent `φ'`); none of them enters the objective besides the task's `φ`. */
  evaluators?: Readonly<Record<string, SegmenterLike>>;
  /** Relative-step tolerance (default 1e-6; 0 runs every iteration). */
  tol?: number;
  /** Passed to the solver. */
  solverOptions?: Partial<GradientDescentOptions & Omit<LbfgsOptions, 'project'> & Omit<GaussNewtonOptions, 'project'>>;
  /** Called with every record (iteration 0 = the start) and the iterate (valid during the call); return false to stop. */
  onIteration?: (record: SemanticIterationRecord, x: tf.Tensor4D) => void | boolean;
}

/** What {@link semanticInversion} returns. */
export interface SemanticInversionResult {
  /** The last iterate clipped to [0, 1] (not rounded); the caller disposes it. */
  x: tf.Tensor4D;
  history: SemanticIterationRecord[];
  converged: boolean;
  reason: string;
}

/**
 * Classical MAP inversion of the segmenter:
 *
 * `x̂ = argmin_{x ∈ [0,1]} L(y, x) + λ Σ sqrt(|∇x|² + ε²)`, `L` the categorical likelihood through `φ`,
 *
 * from the per-class mean colour image, by projected gradient descent (Armijo), L-BFGS
 * (unconstrained in this library: its iterates may leave [0, 1]; records and the output use them
 * clipped) or the regularised Gauss–Newton (projected). Every iteration records, besides the
 * solver's objective, step and (with `truth`) PSNR/SSIM: the data term and the mIoU / pixel accuracy by each evaluator, so that one run shows
 * `φ` being fooled (its mIoU rising towards 1) while an independent `φ'` is not.
 * @param task the semantic synthesis task (its `φ`, likelihood and colours)
 * @param y the label map `[b, h, w, 1]` (not disposed)
 * @param options λ, iterations, solver, start, truth, evaluators, callback
 * @example
 * const r = semanticInversion(task, y, { lambda: 0.02, iterations: 100, truth, evaluators: { 'φ': phi, "φ'": phiPrime } });
 * r.history.map((h) => h.miou["φ'"]);
 * r.x.dispose();
 */
export function semanticInversion(task: SemanticSynthesisTask, y: tf.Tensor4D, options: SemanticInversionOptions): SemanticInversionResult {
  const { lambda, iterations } = options;
  const solver = options.solver ?? 'gd';
  if (solver !== 'gd' && solver !== 'lbfgs' && solver !== 'gauss-newton') throw new Error(`semanticInversion: unknown solver "${solver}" (use gd, lbfgs, gauss-newton)`);
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`semanticInversion: iterations must be an integer >= 0, got ${iterations}`);
  const evaluators = Object.entries(options.evaluators ?? {});
  const x0 = options.x0 ?? task.input(y);
  try {
    const problem = createProblem({ likelihood: task.likelihood, y, prior: totalVariation({ lambda, epsilon: options.epsilon }), box: [0, 1] });
    const history: SemanticIterationRecord[] = [];
    const onIteration = (record: IterationRecord, x: tf.Tensor4D): void | boolean => {
      const xc = tf.clipByValue(x, 0, 1) as tf.Tensor4D;
      try {
        const ceT = task.likelihood.value(xc, y);
        const ce = ceT.dataSync()[0];
        ceT.dispose();
        const miou: Record<string, number> = {};
        const pixelAccuracy: Record<string, number> = {};
        for (const [name, seg] of evaluators) {
          const s = segmentationQuality(seg, xc, y, task.ignoreLabel);
          miou[name] = s.miou;
          pixelAccuracy[name] = s.pixelAccuracy;
        }
        const full: SemanticIterationRecord = { ...record, ce, miou, pixelAccuracy };
        history.push(full);
        return options.onIteration?.(full, x);
      } finally {
        xc.dispose();
      }
    };
    const common = { maxIter: iterations, truth: options.truth, ...(options.tol !== undefined ? { tol: options.tol } : {}) };
    const extra = options.solverOptions ?? {};
    const r =
      solver === 'gd'
        ? gradientDescent(problem, x0, { ...extra, ...common, project: true }, onIteration)
        : solver === 'gauss-newton'
          ? gaussNewton(problem, x0, { ...extra, ...common, project: true }, onIteration)
          : lbfgs(problem, x0, { ...extra, ...common }, onIteration);
    const x = tf.clipByValue(r.x, 0, 1) as tf.Tensor4D;
    r.x.dispose();
    return { x, history, converged: r.converged, reason: r.reason };
  } finally {
    if (!options.x0) x0.dispose();
  }
}
