/**
 * One evaluation for every method: a task (degradation + test protocol) and a list of methods,
 * each a map `(y, task) → x` — TV with a classical solver, a learned solver, or anything else that
 * implements {@link Method}. Per image: prepare the truth, degrade it with the task's protocol seed
 * (or take the benchmark's measurement), make the naive estimate, run every method on the same
 * `y`, measure with the task's metric; per method optionally the PSNR after every step.
 */
import { tf } from '../engine/tf';
import { SrPair } from '../io/datasets';
import { mean } from '../metrics/mean';
import type { Figure } from '../report/figures';
import { progress, type ProgressOptions } from '../report/progress';
import { MEASURED, ResultRow } from '../report/tables';
import { LearnedSolver } from '../solvers/learned/types';
import { Lgn } from '../solvers/learned/lgn';
import { createProblem } from '../tasks/problem';
import type { Example } from './classical';
import { Quality, RestorationTask, restoreTv, TvSettings } from './tasks';
import { SOLVER_LABELS } from './tv';

/** What a method gets besides `y` and the task. */
export interface MethodContext {
  /** The task's naive estimate `input(y)` (not to be disposed). */
  input: tf.Tensor4D;
  /** The prepared truth (histories and curves use it; never an input of the method's output). */
  truth?: tf.Tensor4D;
  /** Record the PSNR after every step / iteration (the convergence curve). */
  curve?: boolean;
}

/** What a method returns for one image. */
export interface MethodResult {
  /** The 8-bit output shaped like the truth; the evaluation disposes it. */
  output: tf.Tensor4D;
  /** PSNR (the task's metric) after step / iteration 1, 2, … when asked for. */
  curve?: number[];
  /** Values optimised × iterations (classical solvers), for work comparisons. */
  work?: number;
}

/**
 * A restoration method: maps a measurement of a task to an estimate.
 * @example
 * const methods: Method[] = [tvMethod({ lambda: 8, iterations: 20 }), learnedMethod(rim, { name: 'RIM' })];
 */
export interface Method {
  /** The method's name in tables and figures. */
  readonly name: string;
  /** Its chosen settings for the table's `params` column, e.g. `'λ=8'` (optional). */
  readonly params?: string;
  /**
   * The step whose output a learned method returns (its trained horizon T, unless run for other
   * steps); absent for the classical solvers. Step-curve figures mark it.
   */
  readonly horizon?: number;
  restore(y: tf.Tensor4D, task: RestorationTask, context: MethodContext): MethodResult;
}

/**
 * TV with a classical solver ({@link restoreTv}); the curve is the task's PSNR of the finished
 * (8-bit) iterate after every iteration, as the learned methods' curves.
 * @example
 * tvMethod({ lambda: 8, iterations: 20, solver: 'lbfgs' }).name; // 'TV (L-BFGS)'
 */
export function tvMethod(settings: TvSettings, name = `TV (${SOLVER_LABELS[settings.solver ?? 'lbfgs']})`): Method {
  return {
    name,
    params: `λ=${settings.lambda}`,
    restore(y, task, context) {
      // The curve measures what the table measures (the finished 8-bit output, the task's metric),
      // as learnedMethod's does, so that both families share one axis.
      const truth = context.curve ? context.truth : undefined;
      const measureOutput = truth ? (q: tf.Tensor4D) => task.measurePsnr(q, truth) : undefined;
      const r = restoreTv(task, y, { ...settings, init: context.input, measureOutput });
      return { output: r.output, curve: r.curve, work: r.size * Math.max(r.history.length - 1, 0) };
    },
  };
}

/** Options of {@link learnedMethod}. */
export interface LearnedMethodOptions {
  /** Name in the tables (default the solver's kind). */
  name?: string;
  /** Steps T whose output is measured (default the solver's trained T). */
  steps?: number;
  /** Steps run for curves (default 2T: stability past the trained horizon). */
  curveSteps?: number;
}

/**
 * A learned solver (RIM, LGD, …) on the task's view: `solver.run(y, problem)` from the view's
 * start (the bicubic luma for SR, `y` otherwise), output of step T rounded to 8 bits; with
 * curves, runs to `curveSteps` and measures every iterate.
 * @example
 * learnedMethod(rim, { name: 'RIM (ours)' });
 */
export function learnedMethod(solver: LearnedSolver, options: LearnedMethodOptions = {}): Method {
  const steps = options.steps ?? solver.config.steps;
  const curveSteps = options.curveSteps ?? 2 * steps;
  if (curveSteps < steps) throw new Error(`learnedMethod: curveSteps (${curveSteps}) < steps (${steps})`);
  return {
    name: options.name ?? solver.kind.toUpperCase(),
    horizon: steps,
    restore(y, task, context) {
      const view = task.view(y, context.input, context.truth);
      try {
        if (view.x0.shape[3] !== solver.config.channels) {
          throw new Error(`${options.name ?? solver.kind}: works on ${solver.config.channels} channel(s) but the task's solver space has ${view.x0.shape[3]} (${task.task} ${task.setting})`);
        }
        const n = context.curve ? curveSteps : steps;
        const problem = createProblem({ likelihood: view.likelihood, y: view.y });
        const xs = tf.tidy(() => solver.run(view.y, problem, { steps: n, x0: view.x0 }));
        try {
          let curve: number[] | undefined;
          if (context.curve && context.truth) {
            curve = xs.map((x) => {
              const q = view.finish(x);
              const p = task.measurePsnr(q, context.truth as tf.Tensor4D);
              q.dispose();
              return p;
            });
          }
          return { output: view.finish(xs[steps - 1]), curve };
        } finally {
          tf.dispose(xs);
        }
      } finally {
        view.dispose();
      }
    },
  };
}

/** Options of {@link evaluate}. */
export interface EvaluateSetOptions {
  /** Dataset name for the rows (add a quick-run suffix there). */
  dataset: string;
  /** Test images (truths before `prepare`), not disposed; or give `pairs`. */
  images?: ReadonlyArray<{ name: string; image: tf.Tensor4D }>;
  /** Given measurements, one per image (default `task.degrade`); not disposed. */
  measurements?: readonly tf.Tensor4D[];
  /** SR benchmark pairs (HR = truth, LR = measurement); not disposed. */
  pairs?: readonly SrPair[];
  /** Seed of image 0's degradation (default the task's protocol, `task.seed`); image i uses `seed + i`. */
  seed?: number;
  /** Record every method's curve on the first n images (default 0). */
  curveImages?: number;
  /** Keep the tensors of the first n images per method for grids (default 1). */
  keepExamples?: number;
  /** Progress lines (default true); an object draws them with those options (e.g. `{ stream: process.stderr }`). */
  progress?: boolean | Pick<ProgressOptions, 'stream' | 'intervalMs'>;
}

/** One method's results on a test set. */
export interface MethodEvaluation {
  method: string;
  /** The method's {@link Method.horizon} (learned methods: the step of their output). */
  horizon?: number;
  perImage: { name: string; quality: Quality; seconds: number }[];
  /** Mean PSNR at steps 1, 2, … over the curve images (empty without curves). */
  curve: number[];
  examples: Example[];
  seconds: number;
  work: number;
}

/** What {@link evaluate} returns. */
export interface TaskEvaluation {
  /** Rows: the naive estimate (`task.inputMethod`), then each method; means over the images. */
  rows: ResultRow[];
  input: { name: string; quality: Quality }[];
  methods: MethodEvaluation[];
}

/**
 * One test image as every measurement here is made: the truth `task.prepare(image)`, the
 * measurement (given, e.g. an SR pair's LR image, or `task.degrade(truth, seed)`) and the task's
 * naive estimate from it; `use` sees the three, which are disposed after it (a given measurement
 * is not: the caller owns it).
 */
function withMeasurement<T>(task: RestorationTask, image: tf.Tensor4D, measurement: tf.Tensor4D | undefined, seed: number, use: (truth: tf.Tensor4D, y: tf.Tensor4D, input: tf.Tensor4D) => T): T {
  const truth = task.prepare(image);
  const y = measurement ?? task.degrade(truth, seed);
  const input = task.input(y);
  try {
    return use(truth, y, input);
  } finally {
    tf.dispose([truth, input, ...(measurement ? [] : [y])]);
  }
}

/**
 * Evaluates methods on a test set of a task, all on the same measurements.
 * @example
 * const ev = evaluate(denoisingTask({ sigma: 25 }), [tvMethod(tv), learnedMethod(rim, { name: 'RIM' })], { dataset: 'BSD68', images });
 * ev.rows; // noisy input, TV (L-BFGS), RIM
 */
export function evaluate(task: RestorationTask, methods: readonly Method[], options: EvaluateSetOptions): TaskEvaluation {
  if (options.pairs && (options.images || options.measurements)) throw new Error('evaluate: give pairs, or images (and measurements), not both');
  const images = options.pairs ? options.pairs.map((p) => ({ name: p.name, image: p.hr })) : (options.images ?? []);
  const measurements = options.pairs ? options.pairs.map((p) => p.lr) : options.measurements;
  if (images.length === 0) throw new Error(`evaluate: no images (${options.dataset})`);
  if (measurements && measurements.length !== images.length) throw new Error(`evaluate: ${measurements.length} measurements for ${images.length} images`);
  if (methods.length === 0) throw new Error('evaluate: no methods');
  const seed = options.seed ?? task.seed;
  const keep = options.keepExamples ?? 1;
  const curveImages = Math.min(options.curveImages ?? 0, images.length);
  const names = methods.map((m) => m.name).join(', ');
  const bar = options.progress === false ? undefined : progress(images.length, { label: `${names} ${options.dataset} ${task.label}`, ...(typeof options.progress === 'object' ? options.progress : {}) });
  const input: TaskEvaluation['input'] = [];
  const results: MethodEvaluation[] = methods.map((m) => ({ method: m.name, ...(m.horizon !== undefined ? { horizon: m.horizon } : {}), perImage: [], curve: [], examples: [], seconds: 0, work: 0 }));
  const curveSums: number[][] = methods.map(() => []);
  images.forEach((im, i) => withMeasurement(task, im.image, measurements?.[i], seed + i, (truth, y, naive) => {
    const inputQuality = task.measure(naive, truth);
    input.push({ name: im.name, quality: inputQuality });
    const parts: string[] = [];
    methods.forEach((m, k) => {
      const t0 = performance.now();
      const r = m.restore(y, task, { input: naive, truth, curve: i < curveImages });
      const seconds = (performance.now() - t0) / 1000;
      const quality = task.measure(r.output, truth);
      const res = results[k];
      res.perImage.push({ name: im.name, quality, seconds });
      res.seconds += seconds;
      res.work += r.work ?? 0;
      r.curve?.forEach((p, t) => (curveSums[k][t] = (curveSums[k][t] ?? 0) + p));
      if (res.examples.length < keep) {
        res.examples.push({ name: im.name, label: `${task.label} ${im.name}`, truth: tf.clone(truth), input: tf.clone(naive), output: r.output, inputMethod: task.inputMethod, method: m.name, inputQuality, quality });
      } else {
        r.output.dispose();
      }
      parts.push(`${m.name} ${quality.psnr.toFixed(2)} dB`);
    });
    bar?.tick(`${im.name} ${parts.join(', ')} (${task.inputMethod} ${inputQuality.psnr.toFixed(2)} dB)`);
  }));
  results.forEach((r, k) => (r.curve = curveImages > 0 ? curveSums[k].map((s) => s / curveImages) : []));
  const row = (method: string, qs: Quality[], params?: string): ResultRow => ({
    task: task.task,
    dataset: options.dataset,
    setting: task.setting,
    method,
    psnr: mean(qs.map((q) => q.psnr)),
    ssim: mean(qs.map((q) => q.ssim)),
    source: MEASURED,
    ...(params ? { params } : {}),
  });
  return {
    rows: [row(task.inputMethod, input.map((r) => r.quality)), ...results.map((r, k) => row(r.method, r.perImage.map((p) => p.quality), methods[k].params))],
    input,
    methods: results,
  };
}

/**
 * Per step t = 1..T, the mean over images of the cosine between a learned Gauss–Newton solver's
 * direction `δ_t` and the negative likelihood gradient at its own iterate `x_t`
 * ({@link Lgn.directionCosines}), on a task's measurements as {@link evaluate} makes them: the SR
 * pairs' LR images, or `task.degrade(truth, seed + i)` of each image. A cosine near 1 says the GN
 * direction tells the network little beyond the gradient it is also given.
 * @example
 * gnDirectionCosines(lgn, superResolutionTask({ scale: 3 }), { pairs }); // [0.99, 0.99, …]
 */
export function gnDirectionCosines(
  solver: LearnedSolver,
  task: RestorationTask,
  data: { pairs?: readonly SrPair[]; images?: ReadonlyArray<{ image: tf.Tensor4D }>; seed?: number },
): number[] {
  if (!(solver instanceof Lgn)) throw new Error(`gnDirectionCosines: a learned Gauss–Newton solver is needed, got a ${solver.kind}`);
  const seed = data.seed ?? task.seed;
  const items = data.pairs ? data.pairs.map((p) => ({ image: p.hr, y: p.lr })) : (data.images ?? []).map((im) => ({ image: im.image, y: undefined }));
  if (items.length === 0) throw new Error(`gnDirectionCosines: no images (${task.task} ${task.setting})`);
  const sums: number[] = [];
  const counts: number[] = [];
  items.forEach((item, i) => withMeasurement(task, item.image, item.y, seed + i, (truth, y, input) => {
    const view = task.view(y, input, truth);
    try {
      const problem = createProblem({ likelihood: view.likelihood, y: view.y });
      solver.directionCosines(view.y, problem, { x0: view.x0 }).forEach((perImage, t) => {
        for (const c of perImage.filter((v) => Number.isFinite(v))) {
          sums[t] = (sums[t] ?? 0) + c;
          counts[t] = (counts[t] ?? 0) + 1;
        }
      });
    } finally {
      view.dispose();
    }
  }));
  return sums.map((s, t) => s / counts[t]);
}

/**
 * Does a learned Gauss–Newton network use its direction input? Mean PSNR over the images with
 * the model as trained and with its δ weights set to zero ({@link Lgn.ablated}), on the same
 * measurements as {@link evaluate} makes them. A drop near 0 means the network ignores δ.
 * @example
 * const a = gnDirectionAblation(lgn, superResolutionTask({ scale: 3 }), { pairs }); // { withDirection: 33.00, withoutDirection: 33.00 }
 */
export function gnDirectionAblation(
  solver: LearnedSolver,
  task: RestorationTask,
  data: { pairs?: readonly SrPair[]; images?: ReadonlyArray<{ name: string; image: tf.Tensor4D }>; seed?: number; dataset?: string },
): { withDirection: number; withoutDirection: number } {
  if (!(solver instanceof Lgn)) throw new Error(`gnDirectionAblation: a learned Gauss–Newton solver is needed, got a ${solver.kind}`);
  const without = solver.ablated('direction');
  try {
    const ev = evaluate(task, [learnedMethod(solver, { name: 'with δ' }), learnedMethod(without, { name: 'without δ' })], {
      dataset: data.dataset ?? 'ablation',
      ...(data.pairs ? { pairs: data.pairs } : { images: data.images ?? [] }),
      ...(data.seed !== undefined ? { seed: data.seed } : {}),
      keepExamples: 0,
      progress: false,
    });
    return { withDirection: ev.rows[1].psnr as number, withoutDirection: ev.rows[2].psnr as number };
  } finally {
    without.dispose();
  }
}

/**
 * Bars of the PSNR each learned Gauss–Newton model loses when its δ weights are zeroed
 * ({@link gnDirectionAblation}), one bar per model, the value written on it.
 * @example
 * await saveFigure(directionAblationFigure([{ name: 'lgn_deblur', withDirection: 29.15, withoutDirection: 29.15 }]), '05_direction_ablation');
 */
export function directionAblationFigure(entries: ReadonlyArray<{ name: string; withDirection: number; withoutDirection: number }>, options: { title?: string } = {}): Figure {
  if (entries.length === 0) throw new Error('directionAblationFigure: no models');
  const drops = entries.map((e) => e.withDirection - e.withoutDirection).map((d) => (Math.abs(d) < 5e-4 ? 0 : d)); // no "-0.000"
  return {
    data: [{ type: 'bar', x: entries.map((e) => e.name), y: drops, text: drops.map((d) => `${d.toFixed(3)} dB`), textposition: 'outside', marker: { color: '#1f77b4' }, showlegend: false }],
    layout: {
      title: { text: options.title ?? 'PSNR lost when the network\'s δ weights are set to zero' },
      xaxis: { title: { text: 'model (test set)' }, automargin: true, tickangle: 0 },
      yaxis: { title: { text: 'PSNR with δ − PSNR without δ (dB)' }, zeroline: true, zerolinecolor: '#444', rangemode: 'tozero' },
      margin: { t: 60, b: 140 },
    },
  };
}
