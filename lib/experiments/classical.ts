/**
 * The classical-baselines experiment: λ search on training images, evaluation of TV on a test
 * set (result rows for tables) and the solver comparison for convergence plots. Every function
 * works for any {@link RestorationTask}; figures and grids of the results are in `./figures`.
 */
import { tf } from '../engine/tf';
import { NamedImage, SrPair } from '../io/datasets';
import { mean } from '../metrics/mean';
import { progress } from '../report/progress';
import { ResultRow } from '../report/tables';
import { IterationRecord } from '../solvers/classical/history';
import { evaluate, tvMethod } from './evaluate';
import { Quality, RestorationTask, restoreTv, TvSettings } from './tasks';
import { ClassicalSolverName, ClassicalSolverOptions, SOLVER_LABELS } from './tv';


// ---------------------------------------------------------------------------------------------
// λ search
// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link chooseLambda}.
 * @example
 * chooseLambda({ task: denoisingTask({ sigma: 25 }), images: train, lambdas: [4, 8, 16], iterations: 20 });
 */
export interface LambdaSearchOptions extends Omit<TvSettings, 'lambda'> {
  /** The task (degradation, restoration, metric). */
  task: RestorationTask;
  /** Training images (never a test set); not disposed. */
  images: readonly NamedImage[];
  /** Candidate λ values. */
  lambdas: readonly number[];
  /** Seed of the first image's degradation; image i uses `seed + i` (default 10 000). */
  seed?: number;
  /** Show a progress bar (default true). */
  progress?: boolean;
}

/**
 * What {@link chooseLambda} returns.
 * @example
 * const { best, psnr } = chooseLambda(...);
 */
export interface LambdaSearch {
  /** The task's setting and label. */
  setting: string;
  label: string;
  /** The candidates, ascending. */
  lambdas: number[];
  /** Mean PSNR / SSIM over the training images per candidate. */
  psnr: number[];
  ssim: number[];
  /** The candidate with the highest mean PSNR, and that PSNR. */
  best: number;
  bestPsnr: number;
  /** True when the best λ is the smallest or largest candidate (widen the grid). */
  atEdge: boolean;
  /** Wall time, and solver work (Σ optimised values × iterations). */
  seconds: number;
  work: number;
}

/**
 * Grid search of the TV weight: degrades each training image with a fixed seed, restores it with
 * every candidate λ (same solver and iterations as the evaluation) and picks the λ with the best
 * mean PSNR (the task's metric). Deterministic for given images and seed.
 * @param options task, training images, candidates, TV settings
 * @example
 * const search = chooseLambda({ task, images: train, lambdas: [2, 4, 8, 16], iterations: 20 });
 * console.log(search.best);
 */
export function chooseLambda(options: LambdaSearchOptions): LambdaSearch {
  const { task, images } = options;
  const lambdas = [...options.lambdas].sort((a, b) => a - b);
  if (lambdas.length === 0) throw new Error('chooseLambda: no candidate lambdas');
  if (images.length === 0) throw new Error('chooseLambda: no training images');
  const seed = options.seed ?? 10_000;
  const psnrs = lambdas.map(() => [] as number[]);
  const ssims = lambdas.map(() => [] as number[]);
  const bar = options.progress === false ? undefined : progress(images.length * lambdas.length, { label: `λ search ${task.label}` });
  const t0 = performance.now();
  let work = 0;
  images.forEach((im, i) => {
    const truth = task.prepare(im.image);
    const y = task.degrade(truth, seed + i);
    const init = task.input(y);
    lambdas.forEach((lambda, k) => {
      const r = restoreTv(task, y, { ...options, lambda, init });
      const q = task.measure(r.output, truth);
      r.output.dispose();
      work += r.size * Math.max(r.history.length - 1, 0);
      psnrs[k].push(q.psnr);
      ssims[k].push(q.ssim);
      bar?.tick(`${im.name} λ=${lambda}: ${q.psnr.toFixed(2)} dB`);
    });
    tf.dispose([truth, y, init]);
  });
  const psnr = psnrs.map(mean);
  const ssim = ssims.map(mean);
  const k = psnr.indexOf(Math.max(...psnr));
  return {
    setting: task.setting,
    label: task.label,
    lambdas,
    psnr,
    ssim,
    best: lambdas[k],
    bestPsnr: psnr[k],
    atEdge: lambdas.length > 1 && (k === 0 || k === lambdas.length - 1),
    seconds: (performance.now() - t0) / 1000,
    work,
  };
}

/**
 * A log-spaced grid `centre · factor^j`, `j = −⌊n/2⌋ … `, of `n` values (n = 1 gives the centre).
 * @example
 * lambdaGrid(8, 5, 2); // [2, 4, 8, 16, 32]
 */
export function lambdaGrid(centre: number, n: number, factor = 2): number[] {
  if (!(centre > 0) || !Number.isInteger(n) || n < 1 || !(factor > 1)) {
    throw new Error(`lambdaGrid: need centre > 0, an integer n >= 1 and factor > 1, got ${centre}, ${n}, ${factor}`);
  }
  const lo = -Math.floor((n - 1) / 2);
  return Array.from({ length: n }, (_, j) => Number((centre * factor ** (lo + j)).toPrecision(6)));
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link evaluateTask}.
 * @example
 * evaluateTask({ task, dataset: 'BSD68', images: bsd68, lambda: 8, iterations: 20 }); // noise: the task's protocol seeds
 */
export interface EvaluateOptions extends TvSettings {
  task: RestorationTask;
  /** Dataset name for the rows (add a quick-run suffix there). */
  dataset: string;
  /** Test images (truths before `prepare`), not disposed; or give `pairs`. */
  images?: ReadonlyArray<{ name: string; image: tf.Tensor4D }>;
  /** Given measurements, one per image (e.g. the benchmark's LR files); default `task.degrade`. Not disposed. */
  measurements?: readonly tf.Tensor4D[];
  /** SR benchmark pairs instead of `images` + `measurements` (HR = truth, LR = measurement); not disposed. */
  pairs?: readonly SrPair[];
  /** Seed of the first image's degradation; image i uses `seed + i` (default the task's protocol, `task.seed`, as every method's evaluation). */
  seed?: number;
  /** Keep the tensors of the first n images for image grids (default 1). */
  keepExamples?: number;
  /** Show a progress bar (default true). */
  progress?: boolean;
}

/** One test image's results. */
export interface ImageResult {
  name: string;
  input: Quality;
  tv: Quality;
  /** Seconds of the TV solve. */
  seconds: number;
}

/**
 * The tensors of one evaluated image (for image grids); free them with {@link disposeExamples}.
 */
export interface Example {
  name: string;
  /** Row label of image grids: the task's label and the image's name. */
  label: string;
  truth: tf.Tensor4D;
  input: tf.Tensor4D;
  output: tf.Tensor4D;
  inputMethod: string;
  method: string;
  inputQuality: Quality;
  quality: Quality;
}

/**
 * What {@link evaluateTask} returns.
 * @example
 * const ev = evaluateTask(...); rows.push(...ev.rows); disposeExamples(ev.examples);
 */
export interface Evaluation {
  /** Two rows: the naive estimate (`task.inputMethod`) and TV, means over the images, source 'measured'. */
  rows: ResultRow[];
  perImage: ImageResult[];
  examples: Example[];
  /** The TV method's name in the rows, e.g. 'TV (L-BFGS)'. */
  method: string;
  /** Wall time and solver work (Σ optimised values × iterations). */
  seconds: number;
  work: number;
}

/**
 * The TV method's table name for a solver: 'TV (L-BFGS)'.
 * @example
 * tvMethodName('lbfgs'); // 'TV (L-BFGS)'
 */
export function tvMethodName(solver: ClassicalSolverName = 'lbfgs'): string {
  return `TV (${SOLVER_LABELS[solver]})`;
}

/**
 * Evaluates TV (and the naive estimate) on a test set: per image, degrade (seeded) or take the
 * given measurement, restore with the given λ, measure with the task's benchmark metric. Prints a
 * sparse progress bar. One image at a time; everything but the kept examples is freed.
 * @param options task, data, λ and solver settings
 * @returns rows for the results table, per-image results and the kept examples
 * @example
 * const ev = evaluateTask({ task: denoisingTask({ sigma: 25 }), dataset: 'BSD68', images, lambda: 8, iterations: 20 });
 * ev.rows; // [{ method: 'noisy input', ... }, { method: 'TV (L-BFGS)', psnr: 27.3, ... }]
 */
export function evaluateTask(options: EvaluateOptions): Evaluation {
  const { task, dataset, images, measurements, pairs, seed, keepExamples, progress: showProgress, ...tv } = options;
  const method = tvMethod(tv);
  const t0 = performance.now();
  const ev = evaluate(task, [method], { dataset, images, measurements, pairs, seed, keepExamples, progress: showProgress });
  const m = ev.methods[0];
  return {
    rows: ev.rows,
    perImage: m.perImage.map((r, i) => ({ name: r.name, input: ev.input[i].quality, tv: r.quality, seconds: r.seconds })),
    examples: m.examples,
    method: method.name,
    seconds: (performance.now() - t0) / 1000,
    work: m.work,
  };
}

/**
 * Frees the tensors of kept examples.
 * @example
 * disposeExamples(ev.examples);
 */
export function disposeExamples(examples: readonly Example[]): void {
  for (const e of examples) tf.dispose([e.truth, e.input, e.output]);
}

// ---------------------------------------------------------------------------------------------
// Solver comparison
// ---------------------------------------------------------------------------------------------

/**
 * One solver of {@link compareSolvers}.
 * @example
 * const spec: SolverRunSpec = { solver: 'gauss-newton', iterations: 15, options: { cgIter: 10 } };
 */
export interface SolverRunSpec {
  solver: ClassicalSolverName;
  iterations: number;
  options?: ClassicalSolverOptions;
  /** Legend label (default the solver's, e.g. 'L-BFGS'): name a variant, e.g. one with `fTol`. */
  label?: string;
}

/** One solver's run on the comparison problem. */
export interface SolverRun {
  solver: ClassicalSolverName;
  label: string;
  /** Objective and PSNR/SSIM (of the solver's variable: the luma for SR) per iteration. */
  history: IterationRecord[];
  /** Why it stopped. */
  reason: string;
  /** Wall time of the solve (PSNR/SSIM bookkeeping included). */
  seconds: number;
  /** The benchmark metric of the final 8-bit output. */
  quality: Quality;
}

/**
 * Options of {@link compareSolvers}.
 * @example
 * compareSolvers({ task, image: bsd68[0].image, lambda: 8, runs: [{ solver: 'gd', iterations: 100 }] });
 */
export interface CompareSolversOptions {
  task: RestorationTask;
  /** The clean image (before `prepare`); not disposed. */
  image: tf.Tensor4D;
  /** A given measurement (default `task.degrade(truth, seed)`); not disposed. */
  measurement?: tf.Tensor4D;
  /** Seed of the degradation (default the task's protocol, `task.seed`: the first test image's noise). */
  seed?: number;
  lambda: number;
  epsilon?: number;
  runs: readonly SolverRunSpec[];
}

/**
 * Runs several solvers on one problem of a task, from the same start and without early stopping
 * (`tol = 0`; a run's own `options.fTol` stops it on a small relative decrease), recording
 * objective and PSNR/SSIM at every iteration: the data of convergence plots.
 * @example
 * const runs = compareSolvers({ task, image, lambda: 8, runs: [
 *   { solver: 'gd', iterations: 100 }, { solver: 'lbfgs', iterations: 100 }, { solver: 'gauss-newton', iterations: 15 }] });
 */
export function compareSolvers(options: CompareSolversOptions): SolverRun[] {
  const { task } = options;
  const truth = task.prepare(options.image);
  const y = options.measurement ?? task.degrade(truth, options.seed ?? task.seed);
  const init = task.input(y);
  const runs = options.runs.map((spec): SolverRun => {
    const t0 = performance.now();
    const r = restoreTv(task, y, {
      lambda: options.lambda,
      epsilon: options.epsilon,
      solver: spec.solver,
      iterations: spec.iterations,
      tol: 0,
      solverOptions: spec.options,
      truth,
      init,
    });
    const seconds = (performance.now() - t0) / 1000;
    const quality = task.measure(r.output, truth);
    r.output.dispose();
    return { solver: spec.solver, label: spec.label ?? SOLVER_LABELS[spec.solver], history: r.history, reason: r.reason, seconds, quality };
  });
  tf.dispose([truth, init, ...(options.measurement ? [] : [y])]);
  return runs;
}
