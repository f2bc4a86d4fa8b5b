/**
 * Restoration tasks as values: how a clean image is degraded (seeded), what the naive estimate
 * is, how TV restores it and how the benchmark measures it. Notebooks pick a task and a λ; the
 * evaluation, the λ search and the solver comparison are the same code for every task.
 */
import { tf } from '../engine/tf';
import { gaussianLikelihood } from '../likelihoods/gaussian';
import { Likelihood } from '../likelihoods/types';
import { mean } from '../metrics/mean';
import { psnrPerImage } from '../metrics/psnr';
import { ssimPerImage } from '../metrics/ssim';
import { srMetrics } from '../metrics/color';
import { gaussianBlur } from '../operators/blur';
import { downsample } from '../operators/downsample';
import { identity } from '../operators/identity';
import { imresize } from '../operators/imresize';
import { LinearOperator } from '../operators/types';
import { IterationCallback, IterationRecord } from '../solvers/classical/history';
import { bicubic8, luma, modcrop, replaceLuma, to8bit } from './sr';
import { ClassicalSolverName, ClassicalSolverOptions, tvRestore } from './tv';

/**
 * The TV method's hyper-parameters.
 * @example
 * const tv: TvSettings = { lambda: 8, iterations: 20, solver: 'lbfgs' };
 */
export interface TvSettings {
  /** TV weight λ. */
  lambda: number;
  /** Solver iterations. */
  iterations: number;
  /** Default 'lbfgs'. */
  solver?: ClassicalSolverName;
  /** TV smoothing ε (default 1e-2). */
  epsilon?: number;
  /** Relative-step tolerance (default 1e-6). */
  tol?: number;
  /** Passed to the solver. */
  solverOptions?: ClassicalSolverOptions;
}

/**
 * Options of {@link RestorationTask.restore}.
 * @example
 * task.restore(y, { lambda: 8, iterations: 20, truth });
 */
export interface RestoreOptions extends TvSettings {
  /** The clean image (as from `prepare`): the history gets PSNR/SSIM of the solver's variable. */
  truth?: tf.Tensor4D;
  /** The task's naive estimate `input(y)` when already computed (SR starts from it). */
  init?: tf.Tensor4D;
  /** Called with every solver record. */
  onIteration?: IterationCallback;
  /**
   * Measures the finished output (8-bit, shaped like the truth: what the tables measure) after
   * every iteration 1, 2, …; the values come back as `curve`. Costs one `finish` per iteration.
   */
  measureOutput?: (output: tf.Tensor4D) => number;
}

/**
 * What {@link RestorationTask.restore} returns.
 * @example
 * const { output, history } = task.restore(y, tv); output.dispose();
 */
export interface Restoration {
  /** The restored image, clipped to [0, 1] and rounded to 8 bits, shaped like the truth; the caller disposes it. */
  output: tf.Tensor4D;
  /** The solver's history (PSNR/SSIM of the solver's variable when `truth` was given: the luma for SR). */
  history: IterationRecord[];
  /** Why the solver stopped. */
  reason: string;
  /** Values the solver optimised (pixels × channels of its variable). */
  size: number;
  /** `measureOutput` of the finished iterate after iterations 1, 2, … (with `measureOutput`). */
  curve?: number[];
}

/** PSNR (dB) and SSIM of one estimate. */
export interface Quality {
  psnr: number;
  ssim: number;
}

/**
 * A restoration task `y = A(x) + noise` with its benchmark protocol.
 * @example
 * const task = denoisingTask({ sigma: 25 });
 * const truth = task.prepare(image);
 * const y = task.degrade(truth, 7);
 * const { output } = task.restore(y, { lambda: 8, iterations: 20 });
 * task.measure(output, truth); // { psnr, ssim }
 */
export interface RestorationTask {
  /** Table task name. */
  readonly task: 'denoise' | 'deblur' | 'super-resolution' | (string & {});
  /** Table setting, e.g. 'sigma=25' or 'x3'. */
  readonly setting: string;
  /** Short label for progress lines and figures, e.g. 'σ=25'. */
  readonly label: string;
  /** Table method name of the naive estimate: 'noisy input', 'blurred input', 'bicubic'. */
  readonly inputMethod: string;
  /** The forward map `A`. */
  readonly operator: LinearOperator;
  /** σ of the Gaussian likelihood, [0, 1] scale. */
  readonly sigma: number;
  /** The truth made from a loaded image (SR: cropped to a multiple of the scale). A new tensor. */
  prepare(image: tf.Tensor4D): tf.Tensor4D;
  /** The measurement `y` of a truth, deterministic for a seed. A new tensor. */
  degrade(truth: tf.Tensor4D, seed: number): tf.Tensor4D;
  /** The naive estimate from `y`, shaped like the truth (the measurement itself, or bicubic). A new tensor. */
  input(y: tf.Tensor4D): tf.Tensor4D;
  /** The benchmark's PSNR/SSIM of an estimate against the truth. */
  measure(estimate: tf.Tensor4D, truth: tf.Tensor4D): Quality;
  /** The benchmark's PSNR alone (cheaper: for per-step curves). */
  measurePsnr(estimate: tf.Tensor4D, truth: tf.Tensor4D): number;
  /**
   * The test protocol's noise: image i of a test set is degraded with seed `seed + i`, for every
   * method and in every notebook (denoising: `1000·σ` (+500 quantized); deblurring 5000; SR: no noise).
   */
  readonly seed: number;
  /**
   * What solvers work on: the measurement, the start point and the truth in the solver's space
   * (the luma for SR; the image itself otherwise), the likelihood (operator + noise model), and
   * how an estimate becomes the method's 8-bit output shaped like the truth.
   * @param y the measurement (not disposed)
   * @param input the task's naive estimate `input(y)` (not disposed)
   * @param truth the prepared truth, when known (histories then record PSNR/SSIM)
   */
  view(y: tf.Tensor4D, input: tf.Tensor4D, truth?: tf.Tensor4D): SolverView;
}

/**
 * The problem a method solves for one image ({@link RestorationTask.view}); `dispose()` frees what
 * the view made (never `y`, `input` or `truth`).
 * @example
 * const v = task.view(y, input); const x = v.finish(v.x0); v.dispose();
 */
export interface SolverView {
  y: tf.Tensor4D;
  x0: tf.Tensor4D;
  truth?: tf.Tensor4D;
  likelihood: Likelihood;
  /** σ of the likelihood ([0, 1] scale). */
  sigma: number;
  /** The 8-bit output shaped like the truth from an estimate `x` of the solver's space (a new tensor). */
  finish(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/**
 * TV restoration of a task's measurement (the classical method of the tables): the task's view
 * (SR: the luma, from the bicubic start), TV with the given settings, the view's 8-bit output.
 * @example
 * const { output } = restoreTv(task, y, { lambda: 8, iterations: 20 }); output.dispose();
 */
export function restoreTv(task: RestorationTask, y: tf.Tensor4D, o: RestoreOptions): Restoration {
  const input = o.init ?? task.input(y);
  const view = task.view(y, input, o.truth);
  try {
    const measure = o.measureOutput;
    const curve: number[] = [];
    const onIteration: IterationCallback | undefined = measure
      ? (record, x) => {
          if (record.iteration > 0) {
            const q = view.finish(x);
            curve.push(measure(q));
            q.dispose();
          }
          return o.onIteration?.(record, x);
        }
      : o.onIteration;
    const r = tvRestore({ ...o, onIteration, operator: view.likelihood.operator, likelihood: view.likelihood, y: view.y, sigma: view.sigma, x0: view.x0, truth: view.truth });
    const output = view.finish(r.x);
    const size = view.x0.size;
    r.x.dispose();
    return { output, history: r.history, reason: r.reason, size, ...(measure ? { curve } : {}) };
  } finally {
    view.dispose();
    if (!o.init) input.dispose();
  }
}

/** Mean PSNR/SSIM on [0, 1] images (data range 1), for the gray tasks. */
function measurePlain(estimate: tf.Tensor4D, truth: tf.Tensor4D): Quality {
  return { psnr: mean(psnrPerImage(estimate, truth)), ssim: mean(ssimPerImage(estimate, truth)) };
}

/** The view of the tasks whose operator maps the image's shape to itself: solve on the image, start at `y`. */
function inPlaceView(operator: LinearOperator, sigma: number) {
  return (y: tf.Tensor4D, _input: tf.Tensor4D, truth?: tf.Tensor4D): SolverView => ({
    y,
    x0: y,
    truth,
    sigma,
    likelihood: gaussianLikelihood(operator, { sigma }),
    finish: (x) => to8bit(x),
    dispose: () => undefined,
  });
}

/**
 * Options of {@link denoisingTask}.
 * @example
 * denoisingTask({ sigma: 25, quantize: false });
 */
export interface DenoisingTaskOptions {
  /** Noise standard deviation on the 0..255 scale. */
  sigma: number;
  /** Round the noisy image to 8 bits (default false: the published tables' main setting). */
  quantize?: boolean;
  /** Seed of test image 0 (default the protocol's `1000·σ`, +500 when quantized). */
  seed?: number;
}

/**
 * Gray (or color) denoising: `y = x + n`, `n ~ N(0, (σ/255)²)` drawn by the Gaussian
 * likelihood's seeded sampler; the noisy image is not clipped or rounded unless `quantize`.
 * Measured with PSNR/SSIM on [0, 1] (data range 1) of the 8-bit output; the noisy input is
 * measured as it is.
 * @example
 * const task = denoisingTask({ sigma: 25 }); // setting 'sigma=25'
 */
export function denoisingTask(options: DenoisingTaskOptions): RestorationTask {
  const s = options.sigma;
  if (!(s > 0)) throw new Error(`denoisingTask: sigma must be > 0 (0..255 scale), got ${s}`);
  const operator = identity();
  const sigma = s / 255;
  const likelihood = gaussianLikelihood(operator, { sigma });
  return {
    task: 'denoise',
    setting: `sigma=${s}${options.quantize ? ', quantized' : ''}`,
    label: `σ=${s}`,
    inputMethod: 'noisy input',
    operator,
    sigma,
    prepare: (image) => tf.clone(image),
    degrade(truth, seed) {
      const y = likelihood.sample(truth, seed);
      if (!options.quantize) return y;
      const q = to8bit(y);
      y.dispose();
      return q;
    },
    input: (y) => tf.clone(y),
    measure: measurePlain,
    measurePsnr: (estimate, truth) => mean(psnrPerImage(estimate, truth)),
    seed: options.seed ?? 1000 * s + (options.quantize ? 500 : 0),
    view: inPlaceView(operator, sigma),
  };
}

/**
 * Options of {@link deblurringTask}.
 * @example
 * deblurringTask({ kernelSize: 9, kernelSigma: 1.6, sigma: 2 });
 */
export interface DeblurringTaskOptions {
  /** Side of the Gaussian kernel in pixels (odd). */
  kernelSize: number;
  /** Standard deviation of the Gaussian kernel in pixels. */
  kernelSigma: number;
  /** Noise standard deviation on the 0..255 scale. */
  sigma: number;
  /** Seed of test image 0 (default the protocol's 5000). */
  seed?: number;
}

/**
 * Gaussian deblurring: `y = k * x + n` with a normalised Gaussian kernel `k` (zero boundary, the
 * same in the simulation and in the model) and `n ~ N(0, (σ/255)²)`, seeded. Starts from `y`;
 * measured like denoising.
 * @example
 * const task = deblurringTask({ kernelSize: 9, kernelSigma: 1.6, sigma: 2 });
 */
export function deblurringTask(options: DeblurringTaskOptions): RestorationTask {
  const { kernelSize, kernelSigma, sigma: s } = options;
  if (!(s > 0)) throw new Error(`deblurringTask: sigma must be > 0 (0..255 scale), got ${s}`);
  return linearTask({
    task: 'deblur',
    setting: `gaussian ${kernelSize}x${kernelSize} s=${kernelSigma}, sigma=${s}`,
    label: `blur ${kernelSize}×${kernelSize} σk=${kernelSigma}, σ=${s}`,
    inputMethod: 'blurred input',
    operator: gaussianBlur(kernelSize, kernelSigma),
    sigma: s,
    seed: options.seed ?? 5000,
  });
}

/**
 * Options of {@link superResolutionTask}.
 * @example
 * superResolutionTask({ scale: 4, sigma: 1 / 255 });
 */
export interface SuperResolutionTaskOptions {
  /** Integer factor. */
  scale: number;
  /** σ of the Gaussian likelihood on [0, 1] (default 1/255: the LR images are only rounded to 8 bits). */
  sigma?: number;
  /** Round Y as MATLAB's uint8 `rgb2ycbcr` does when measuring (default false). */
  roundY?: boolean;
  /**
   * Gaussian noise σ (0..255 scale) added to the 8-bit LR image (then rounded again), for the
   * generalization study (default 0: the benchmark's clean LR files). The likelihood's σ becomes
   * `max(sigma, noise/255)`, and the protocol seeds image i with `1000·noise + 100·scale + i`.
   */
  noise?: number;
}

/**
 * Bicubic super-resolution by an integer factor `s`:
 * - the truth is the HR image cropped to a multiple of `s` ({@link modcrop});
 * - `y = imresize(truth, 1/s)` with MATLAB's 8-bit arithmetic (how the Set5/Set14 LR files were
 *   made; no added noise, the seed is unused);
 * - the naive estimate is bicubic upsampling rounded to 8 bits ({@link bicubic8});
 * - TV restores the luma only, with `A` = {@link downsample}`(s)` (MATLAB's antialiased bicubic
 *   shrink, linear, exact adjoint) and a Gaussian likelihood of small σ, starting from the luma of
 *   the bicubic estimate; the chroma stays bicubic ({@link replaceLuma}), the result is rounded to
 *   8 bits. (The luma of an RGB image is affine in it, so the LR luma is `A` of the HR luma.)
 * - measured with `srMetrics` (Y of color images, gray images as they are, `s` pixels shaved).
 * @example
 * const task = superResolutionTask({ scale: 3 }); // setting 'x3'
 */
export function superResolutionTask(options: SuperResolutionTaskOptions): RestorationTask {
  const s = options.scale;
  if (!Number.isInteger(s) || s < 2) throw new Error(`superResolutionTask: scale must be an integer >= 2, got ${s}`);
  const operator = downsample(s);
  const noise = options.noise ?? 0;
  if (!(noise >= 0)) throw new Error(`superResolutionTask: noise must be >= 0 (0..255 scale), got ${noise}`);
  const sigma = Math.max(options.sigma ?? 1 / 255, noise / 255);
  const noisy = noise > 0 ? gaussianLikelihood(identity(), { sigma: noise / 255 }) : undefined;
  return {
    task: 'super-resolution',
    setting: noise > 0 ? `x${s}, LR noise sigma=${noise}` : `x${s}`,
    label: noise > 0 ? `x${s}, σ=${noise}` : `x${s}`,
    inputMethod: 'bicubic',
    operator,
    sigma,
    prepare: (image) => modcrop(image, s),
    degrade: (truth, seed) => {
      const lr = imresize(truth, 1 / s, { quantize: true });
      if (!noisy) return lr;
      const y = noisy.sample(lr, seed);
      const q = to8bit(y);
      tf.dispose([lr, y]);
      return q;
    },
    input: (y) => bicubic8(y, s),
    seed: noise > 0 ? 1000 * noise + 100 * s : 0,
    view(y, input, truth) {
      const yLuma = luma(y);
      const x0 = luma(input);
      const truthLuma = truth ? luma(truth) : undefined;
      return {
        y: yLuma,
        x0,
        truth: truthLuma,
        sigma,
        likelihood: gaussianLikelihood(operator, { sigma }),
        finish: (x) => tf.tidy(() => to8bit(replaceLuma(input, x, x0))),
        dispose: () => tf.dispose([yLuma, x0, ...(truthLuma ? [truthLuma] : [])]),
      };
    },
    measurePsnr: (estimate, truth) => srMetrics(estimate, truth, s, { roundY: options.roundY }).psnr,
    measure: (estimate, truth) => {
      const m = srMetrics(estimate, truth, s, { roundY: options.roundY });
      return { psnr: m.psnr, ssim: m.ssim };
    },
  };
}

/**
 * Options of {@link linearTask}.
 * @example
 * linearTask({ task: 'inpaint', setting: 'keep=0.5, sigma=5', operator: mask(m), sigma: 5 });
 */
export interface LinearTaskOptions {
  /** Table task name, e.g. 'inpaint'. */
  task: string;
  /** Table setting. */
  setting: string;
  /** Short label (default the setting). */
  label?: string;
  /** The forward map (maps the image's shape to itself: the solvers start at `y`). */
  operator: LinearOperator;
  /** Noise σ on the 0..255 scale. */
  sigma: number;
  /** Seed of test image 0 (default 0). */
  seed?: number;
  /** Name of the naive estimate (default 'degraded input'). */
  inputMethod?: string;
}

/**
 * A task whose operator maps the image's shape to itself (masking, blur, …) with Gaussian noise:
 * `y = A x + n` seeded by the protocol, naive estimate `y`, PSNR/SSIM on [0, 1]. What a new task
 * needs for evaluation beside its training definition (`lib/tasks`).
 * @example
 * const task = linearTask({ task: 'inpaint', setting: 'keep=0.5', operator: mask(randomMask(64, 64, 0.5, 1)), sigma: 5 });
 */
export function linearTask(options: LinearTaskOptions): RestorationTask {
  const sigma = options.sigma / 255;
  if (!(sigma > 0)) throw new Error(`linearTask ${options.task}: sigma must be > 0 (0..255 scale), got ${options.sigma}`);
  const likelihood = gaussianLikelihood(options.operator, { sigma });
  return {
    task: options.task,
    setting: options.setting,
    label: options.label ?? options.setting,
    inputMethod: options.inputMethod ?? 'degraded input',
    operator: options.operator,
    sigma,
    prepare: (image) => tf.clone(image),
    degrade: (truth, seed) => likelihood.sample(truth, seed),
    input: (y) => tf.clone(y),
    measure: measurePlain,
    measurePsnr: (estimate, truth) => mean(psnrPerImage(estimate, truth)),
    seed: options.seed ?? 0,
    view: inPlaceView(options.operator, sigma),
  };
}
