/**
 * Evaluating semantic-synthesis methods on CamVid-like (image, label map) pairs: every method
 * synthesises an image from the label map alone; the synthesis is scored by PSNR/SSIM against the
 * real image and by the mIoU of each evaluator segmenter (the inverted `φ`, which a method can
 * fool, and the independent `φ'`, the FCN-score of pix2pix/SPADE). Results go to a table in the
 * long schema plus one mIoU column per evaluator.
 */
import * as path from 'path';
import { tf } from '../engine/tf';
import { mean } from '../metrics/mean';
import { frechetDistanceOfStats, gaussianStats } from '../metrics/frechet';
import { ConfusionMatrix } from '../metrics/segmentation';
import { SegmenterLike } from '../operators/segmentation';
import { progress } from '../report/progress';
import { csvField, MEASURED, tablesDir } from '../report/tables';
import { LearnedSolver } from '../solvers/learned/types';
import { createProblem } from '../tasks/problem';
import { Figure, SERIES_COLORS } from '../report/figures';
import { writeFileAtomic } from '../util/atomic';
import { addPredictions, labelMap, semanticInversion, SemanticSynthesisTask } from './semantic';
import { to8bit } from './sr';

/** A synthesis method: label map → image (8-bit, `[b, h, w, 3]`), optionally with an image per step. */
export interface SemanticMethod {
  readonly name: string;
  /** @returns the 8-bit synthesis and, when `curve`, the 8-bit image after every step (the caller disposes all). */
  synthesize(y: tf.Tensor4D, task: SemanticSynthesisTask, curve: boolean): { output: tf.Tensor4D; steps?: tf.Tensor4D[] };
}

/**
 * The classical MAP inversion as a method: TV + projected gradient descent through φ (default),
 * the library's L-BFGS (`solver: 'lbfgs'`, output clipped to [0, 1]) or the regularised
 * Gauss–Newton (`solver: 'gauss-newton'`, `cgIter` CG steps per iteration).
 * @example
 * semanticTvMethod({ lambda: 0.02, iterations: 100 });
 * semanticTvMethod({ lambda: 0.02, iterations: 100, solver: 'lbfgs' });
 * semanticTvMethod({ lambda: 0.02, iterations: 20, solver: 'gauss-newton', cgIter: 10 });
 */
export function semanticTvMethod(options: { lambda: number; iterations: number; name?: string; solver?: 'gd' | 'lbfgs' | 'gauss-newton'; cgIter?: number }): SemanticMethod {
  const solver = options.solver ?? 'gd';
  const defaultName =
    solver === 'gauss-newton'
      ? `regularized GN through φ (TV, λ=${options.lambda}, ${options.iterations} it)`
      : `TV inversion through φ${solver === 'lbfgs' ? ', L-BFGS' : ''} (λ=${options.lambda}, ${options.iterations} it)`;
  return {
    name: options.name ?? defaultName,
    synthesize(y, task) {
      const r = semanticInversion(task, y, { lambda: options.lambda, iterations: options.iterations, tol: 0, solver, ...(options.cgIter !== undefined ? { solverOptions: { cgIter: options.cgIter } } : {}) });
      const output = to8bit(r.x);
      r.x.dispose();
      return { output };
    },
  };
}

/**
 * A learned solver (RIM, LGD, learned GN) through φ, from the mean-colour start.
 * @example
 * semanticLearnedMethod(rim, 'RIM (ours)');
 */
export function semanticLearnedMethod(solver: LearnedSolver, name: string, steps = solver.config.steps): SemanticMethod {
  return {
    name,
    synthesize(y, task, curve) {
      const x0 = task.input(y);
      try {
        const problem = createProblem({ likelihood: task.likelihood, y });
        const xs = tf.tidy(() => solver.run(y, problem, { x0, steps: curve ? 2 * steps : steps }));
        const output = to8bit(xs[steps - 1]);
        const out = curve ? xs.map((x) => to8bit(x)) : undefined;
        tf.dispose(xs);
        return { output, steps: out };
      } finally {
        x0.dispose();
      }
    },
  };
}

/** One method's scores on a set. */
export interface SemanticScores {
  method: string;
  psnr: number;
  ssim: number;
  /** mIoU, per-class IoU (NaN for a class absent from labels and predictions) and pixel accuracy, by evaluator name. */
  miou: Record<string, number>;
  iou: Record<string, number[]>;
  pixelAccuracy: Record<string, number>;
  /** Fréchet distance between the feature Gaussians of the syntheses and of the real images (with `options.fd`). */
  fd?: number;
  /**
   * Per step (learned methods with curves, over the curve images): mean PSNR, mIoU by evaluator,
   * and the data term: the categorical cross-entropy through φ per labelled pixel.
   */
  curve?: { psnr: number[]; miou: Record<string, number[]>; ce: number[] };
  /** The first images' syntheses, for grids (the caller disposes them). */
  examples: tf.Tensor4D[];
  seconds: number;
}

/** Options of {@link evaluateSemantic}. */
export interface EvaluateSemanticOptions {
  /** Record per-step curves on the first n images (learned methods; default 0). */
  curveImages?: number;
  /** Keep the first n syntheses of each method (default 1). */
  keepExamples?: number;
  progress?: boolean;
  /**
   * A feature extractor (the independent evaluator `φ'`: `Segmenter.features`) for the Fréchet
   * distance between the syntheses and the real images; none: no `fd`.
   */
  fd?: { features(x: tf.Tensor4D): tf.Tensor2D };
}

/** Features of one image as a plain vector (one row). */
function featureRow(fd: NonNullable<EvaluateSemanticOptions['fd']>, x: tf.Tensor4D): Float32Array[] {
  const f = fd.features(x);
  try {
    const [b, d] = f.shape;
    const data = f.dataSync() as Float32Array;
    return Array.from({ length: b }, (_, i) => data.slice(i * d, (i + 1) * d));
  } finally {
    f.dispose();
  }
}

/** The categorical cross-entropy through φ per labelled pixel of one image (the likelihood's value / labelled pixels). */
function crossEntropyPerPixel(task: SemanticSynthesisTask, x: tf.Tensor4D, y: tf.Tensor4D): number {
  return tf.tidy(() => {
    const total = task.likelihood.value(x, y).dataSync()[0];
    const labelled = tf.sum(tf.cast(tf.notEqual(y, task.ignoreLabel), 'float32')).dataSync()[0];
    return labelled > 0 ? total / labelled : NaN;
  });
}

/**
 * Runs every method on every (image, label map) pair, one image at a time.
 * @param pairs `x` `[1, h, w, 3]` real images and their label maps (not disposed)
 * @param evaluators segmenters scoring the syntheses, by name (φ and φ')
 * @example
 * const scores = evaluateSemantic(task, [mean, tv, rim], test, { φ: phi, "φ'": phiPrime }, { fd: phiPrime });
 */
export function evaluateSemantic(
  task: SemanticSynthesisTask,
  methods: readonly SemanticMethod[],
  pairs: ReadonlyArray<{ name: string; x: tf.Tensor4D; labels: tf.Tensor }>,
  evaluators: Readonly<Record<string, SegmenterLike>>,
  options: EvaluateSemanticOptions = {},
): SemanticScores[] {
  const names = Object.keys(evaluators);
  const results = methods.map((m) => ({
    method: m.name,
    psnrs: [] as number[],
    ssims: [] as number[],
    cms: Object.fromEntries(names.map((n) => [n, new ConfusionMatrix(task.classes, task.ignoreLabel)])) as Record<string, ConfusionMatrix>,
    features: [] as Float32Array[],
    curvePsnr: [] as number[][],
    curveCe: [] as number[][],
    curveCms: [] as Record<string, ConfusionMatrix>[],
    examples: [] as tf.Tensor4D[],
    seconds: 0,
  }));
  const realFeatures: Float32Array[] = [];
  const bar = options.progress === false ? undefined : progress(pairs.length, { label: `semantic synthesis: ${methods.map((m) => m.name).join(', ')}` });
  pairs.forEach((p, i) => {
    const y = labelMap(p.labels);
    try {
      if (options.fd) realFeatures.push(...featureRow(options.fd, p.x));
      methods.forEach((m, k) => {
        const r = results[k];
        const t0 = performance.now();
        const curve = i < (options.curveImages ?? 0);
        const { output, steps } = m.synthesize(y, task, curve);
        r.seconds += (performance.now() - t0) / 1000;
        const q = task.measure(output, p.x);
        r.psnrs.push(q.psnr);
        r.ssims.push(q.ssim);
        for (const n of names) addPredictions(evaluators[n], output, y, r.cms[n]);
        if (options.fd) r.features.push(...featureRow(options.fd, output));
        steps?.forEach((s, t) => {
          (r.curvePsnr[t] ??= []).push(task.measurePsnr(s, p.x));
          (r.curveCe[t] ??= []).push(crossEntropyPerPixel(task, s, y));
          r.curveCms[t] ??= Object.fromEntries(names.map((n) => [n, new ConfusionMatrix(task.classes, task.ignoreLabel)]));
          for (const n of names) addPredictions(evaluators[n], s, y, r.curveCms[t][n]);
        });
        tf.dispose(steps ?? []);
        if (r.examples.length < (options.keepExamples ?? 1)) r.examples.push(output);
        else output.dispose();
      });
    } finally {
      y.dispose();
    }
    bar?.tick(p.name);
  });
  const realStats = options.fd && realFeatures.length >= 2 ? gaussianStats(realFeatures, 'real images') : undefined; // once, for every method
  return results.map((r) => ({
    method: r.method,
    psnr: mean(r.psnrs),
    ssim: mean(r.ssims),
    miou: Object.fromEntries(names.map((n) => [n, r.cms[n].meanIou()])),
    iou: Object.fromEntries(names.map((n) => [n, r.cms[n].iou()])),
    pixelAccuracy: Object.fromEntries(names.map((n) => [n, r.cms[n].pixelAccuracy()])),
    ...(realStats && r.features.length >= 2 ? { fd: frechetDistanceOfStats(gaussianStats(r.features, r.method), realStats) } : {}),
    curve: r.curvePsnr.length
      ? { psnr: r.curvePsnr.map(mean), ce: r.curveCe.map(mean), miou: Object.fromEntries(names.map((n) => [n, r.curveCms.map((c) => c[n].meanIou())])) }
      : undefined,
    examples: r.examples,
    seconds: r.seconds,
  }));
}

/** The mean-colour start as a method (the naive estimate of the table). */
export const meanColorMethod: SemanticMethod = {
  name: 'per-class mean colours',
  synthesize: (y, task) => ({ output: tf.tidy(() => to8bit(task.input(y))) }),
};

/** The role of an evaluator in the semantic table. */
export type EvaluatorRole = 'inverted' | 'independent';

/** One row of the semantic-synthesis table: a method scored by one evaluator. */
export interface SemanticTableRow {
  method: string;
  /** `inverted` (`φ`, which the methods differentiate through) or `independent` (`φ'`, never inverted). */
  evaluator: EvaluatorRole;
  miou: number | null;
  pixelAccuracy: number | null;
  /** Against the real images; null for rows without a synthesis (a segmenter on the real images). */
  psnr: number | null;
  ssim: number | null;
  /** Fréchet distance in `φ'` features to the real images (independent rows). */
  fd?: number | null;
  /** The method's chosen settings, e.g. `λ=1, 100 it` (optional). */
  params?: string;
  source?: string;
}

/** Columns of the semantic-synthesis CSV, in file order. */
export const SEMANTIC_COLUMNS = ['task', 'dataset', 'setting', 'method', 'evaluator', 'miou', 'pixel_acc', 'psnr', 'ssim', 'fd', 'source', 'params'] as const;

/**
 * The table rows of scored methods: one row per (method, evaluator), the evaluators named by role;
 * the FD goes on the independent row.
 * @example
 * semanticRows(scores, { inverted: 'φ', independent: "φ'" });
 */
export function semanticRows(scores: readonly SemanticScores[], evaluators: Readonly<Record<EvaluatorRole, string>>, params: Readonly<Record<string, string>> = {}): SemanticTableRow[] {
  return scores.flatMap((s) =>
    (['inverted', 'independent'] as const).map((role) => ({
      method: s.method,
      evaluator: role,
      miou: s.miou[evaluators[role]] ?? null,
      pixelAccuracy: s.pixelAccuracy[evaluators[role]] ?? null,
      psnr: s.psnr,
      ssim: s.ssim,
      fd: role === 'independent' ? (s.fd ?? null) : null,
      ...(params[s.method] ? { params: params[s.method] } : {}),
    })),
  );
}

/**
 * Writes `<dir>/<name>.csv` (columns {@link SEMANTIC_COLUMNS}: one row per method and evaluator
 * role) and a Markdown table (one line per method: PSNR, SSIM, then mIoU / pixel accuracy by each
 * evaluator, FD), atomically. Rows without a synthesis (a segmenter on the real images: the
 * ceiling) leave PSNR/SSIM/FD empty.
 * @throws If a row has an unknown evaluator role or an mIoU / accuracy outside [0, 1].
 * @example
 * saveSemanticTable(semanticRows(scores, { inverted: 'φ', independent: "φ'" }), 'semantic_synthesis', { dataset: 'CamVid test' });
 */
export function saveSemanticTable(
  rows: readonly SemanticTableRow[],
  name: string,
  options: { dataset: string; setting?: string; title?: string; notes?: string; dir?: string; evaluatorNames?: Readonly<Record<EvaluatorRole, string>> },
): { csv: string; md: string } {
  const dir = options.dir ?? tablesDir();
  const setting = options.setting ?? 'labels→RGB';
  rows.forEach((r, i) => {
    if (r.evaluator !== 'inverted' && r.evaluator !== 'independent') throw new Error(`saveSemanticTable("${name}"): row ${i} (${r.method}): evaluator must be 'inverted' or 'independent', got ${JSON.stringify(r.evaluator)}`);
    for (const [k, v] of [['miou', r.miou], ['pixel_acc', r.pixelAccuracy]] as const) {
      if (v !== null && !(Number.isFinite(v) && v >= 0 && v <= 1)) throw new Error(`saveSemanticTable("${name}"): row ${i} (${r.method}): ${k} = ${v} is outside [0, 1]`);
    }
  });
  const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(v));
  const lines = [SEMANTIC_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      ['semantic-synthesis', options.dataset, setting, r.method, r.evaluator, num(r.miou), num(r.pixelAccuracy), num(r.psnr), num(r.ssim), num(r.fd), r.source ?? MEASURED, r.params ?? '']
        .map((v) => csvField(String(v)))
        .join(','),
    );
  }
  const csv = path.join(dir, `${name}.csv`);
  const md = path.join(dir, `${name}.md`);
  writeFileAtomic(csv, lines.join('\n') + '\n');
  const fmt = (v: number | null | undefined, d: number) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
  const names = options.evaluatorNames ?? { inverted: 'φ', independent: "φ'" };
  const methods = [...new Set(rows.map((r) => r.method))];
  const find = (m: string, role: EvaluatorRole) => rows.find((r) => r.method === m && r.evaluator === role);
  const mdLines = [
    `# ${options.title ?? name}`,
    '',
    `${options.dataset}, ${setting}: PSNR (dB) / SSIM against the real image; mIoU and pixel accuracy of the inverted segmenter ${names.inverted} and of the independent ${names.independent} on the synthesis; FD = Fréchet distance, in the penultimate-layer features of ${names.independent} (image means), between the syntheses and the real images (not FID; lower is closer).`,
    '',
    `| method | PSNR | SSIM | mIoU ${names.inverted} (inverted) | pixel acc. ${names.inverted} | mIoU ${names.independent} (independent) | pixel acc. ${names.independent} | FD in ${names.independent} features |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...methods.map((m) => {
      const a = find(m, 'inverted');
      const b = find(m, 'independent');
      const any = a ?? b;
      const label = any?.params ? `${m} (${any.params})` : m;
      return `| ${label} | ${fmt(any?.psnr, 2)} | ${fmt(any?.ssim, 4)} | ${fmt(a?.miou, 3)} | ${fmt(a?.pixelAccuracy, 3)} | ${fmt(b?.miou, 3)} | ${fmt(b?.pixelAccuracy, 3)} | ${fmt(b?.fd, 2)} |`;
    }),
    ...(options.notes ? ['', options.notes] : []),
    '',
  ];
  writeFileAtomic(md, mdLines.join('\n'));
  return { csv, md };
}

/** The ceiling's bars in {@link perClassIouFigure}: near-black, outside the methods' colour cycle. */
const CEILING_COLOR = '#222222';

/**
 * Grouped bars of the per-class IoU of each method (and optionally a ceiling, e.g. the evaluator
 * on the real images) by one evaluator: which classes a synthesis makes recognisable.
 * @example
 * await saveFigure(perClassIouFigure(scores, "φ'", CAMVID_CLASSES, { ceiling: { name: "φ' on real images", iou: real.iou } }), '04_per_class_iou');
 */
export function perClassIouFigure(
  scores: ReadonlyArray<Pick<SemanticScores, 'method' | 'iou'>>,
  evaluator: string,
  classes: readonly string[],
  options: { ceiling?: { name: string; iou: readonly number[] }; title?: string } = {},
): Figure {
  const series = [...scores.map((s) => ({ name: s.method, iou: s.iou[evaluator] })), ...(options.ceiling ? [options.ceiling] : [])];
  series.forEach((s) => {
    if (!s.iou) throw new Error(`perClassIouFigure: ${s.name} has no IoU by evaluator ${evaluator}`);
    if (s.iou.length !== classes.length) throw new Error(`perClassIouFigure: ${s.name} has ${s.iou.length} IoUs for ${classes.length} classes`);
  });
  return {
    // Methods take the series colours in turn; the ceiling is drawn in near-black, so that it never
    // shares a colour with a method when the colour cycle wraps (10 methods + the ceiling).
    data: series.map((s, k) => ({
      type: 'bar',
      name: s.name,
      x: [...classes],
      y: s.iou.map((v) => (Number.isFinite(v) ? v : null)),
      marker: { color: k < scores.length ? SERIES_COLORS[k % SERIES_COLORS.length] : CEILING_COLOR },
    })),
    layout: {
      title: { text: options.title ?? `Per-class IoU by ${evaluator}` },
      barmode: 'group',
      xaxis: { title: { text: 'class' }, automargin: true },
      yaxis: { title: { text: `IoU by ${evaluator}` }, range: [0, 1] },
      // The legend below the plot, one row per two methods: above it, it ran into the title.
      legend: { orientation: 'h', x: 0, y: -0.22, yanchor: 'top' },
      margin: { t: 60, b: 110 + 24 * Math.ceil(series.length / 2) },
      width: 900,
      height: 480 + 24 * Math.ceil(series.length / 2),
    },
  };
}
