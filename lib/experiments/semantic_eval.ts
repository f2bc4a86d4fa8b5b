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
import { ConfusionMatrix } from '../metrics/segmentation';
import { SegmenterLike } from '../operators/segmentation';
import { progress } from '../report/progress';
import { csvField, MEASURED, tablesDir } from '../report/tables';
import { LearnedSolver } from '../solvers/learned/types';
import { createProblem } from '../tasks/problem';
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
 * The classical MAP inversion as a method: TV + projected gradient descent through φ.
 * @example
 * semanticTvMethod({ lambda: 0.02, iterations: 100 });
 */
export function semanticTvMethod(options: { lambda: number; iterations: number; name?: string }): SemanticMethod {
  return {
    name: options.name ?? `TV inversion through φ (λ=${options.lambda}, ${options.iterations} it)`,
    synthesize(y, task) {
      const r = semanticInversion(task, y, { lambda: options.lambda, iterations: options.iterations, tol: 0 });
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
  /** mIoU and pixel accuracy by evaluator name. */
  miou: Record<string, number>;
  pixelAccuracy: Record<string, number>;
  /** Mean PSNR per step (learned methods with curves) and mIoU per step by evaluator. */
  curve?: { psnr: number[]; miou: Record<string, number[]> };
  /** The first images' syntheses, for grids (the caller disposes them). */
  examples: tf.Tensor4D[];
  seconds: number;
}

/**
 * Runs every method on every (image, label map) pair, one image at a time.
 * @param pairs `x` `[1, h, w, 3]` real images and their label maps (not disposed)
 * @param evaluators segmenters scoring the syntheses, by name (φ and φ')
 * @example
 * const scores = evaluateSemantic(task, [mean, tv, rim], test, { φ: phi, "φ'": phiPrime });
 */
export function evaluateSemantic(
  task: SemanticSynthesisTask,
  methods: readonly SemanticMethod[],
  pairs: ReadonlyArray<{ name: string; x: tf.Tensor4D; labels: tf.Tensor }>,
  evaluators: Readonly<Record<string, SegmenterLike>>,
  options: { curveImages?: number; keepExamples?: number; progress?: boolean } = {},
): SemanticScores[] {
  const names = Object.keys(evaluators);
  const results = methods.map((m) => ({
    method: m.name,
    psnrs: [] as number[],
    ssims: [] as number[],
    cms: Object.fromEntries(names.map((n) => [n, new ConfusionMatrix(task.classes, task.ignoreLabel)])) as Record<string, ConfusionMatrix>,
    curvePsnr: [] as number[][],
    curveCms: [] as Record<string, ConfusionMatrix>[],
    examples: [] as tf.Tensor4D[],
    seconds: 0,
  }));
  const bar = options.progress === false ? undefined : progress(pairs.length, { label: `semantic synthesis: ${methods.map((m) => m.name).join(', ')}` });
  pairs.forEach((p, i) => {
    const y = labelMap(p.labels);
    try {
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
        steps?.forEach((s, t) => {
          (r.curvePsnr[t] ??= []).push(task.measurePsnr(s, p.x));
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
  return results.map((r) => ({
    method: r.method,
    psnr: mean(r.psnrs),
    ssim: mean(r.ssims),
    miou: Object.fromEntries(names.map((n) => [n, r.cms[n].meanIou()])),
    pixelAccuracy: Object.fromEntries(names.map((n) => [n, r.cms[n].pixelAccuracy()])),
    curve: r.curvePsnr.length
      ? { psnr: r.curvePsnr.map(mean), miou: Object.fromEntries(names.map((n) => [n, r.curveCms.map((c) => c[n].meanIou())])) }
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

/**
 * Writes `<dir>/<name>.csv` (`task,dataset,setting,method,psnr,ssim,source` and one
 * `miou <evaluator>` column per evaluator) and a Markdown table, atomically. Rows without a
 * synthesis (e.g. a segmenter on real images, the mIoU ceiling) leave PSNR/SSIM empty.
 * @example
 * saveSemanticTable(rows, ['φ', "φ'"], 'semantic_synthesis', { dataset: 'CamVid test' });
 */
export function saveSemanticTable(
  rows: ReadonlyArray<{ method: string; psnr: number | null; ssim: number | null; miou: Record<string, number>; source?: string }>,
  evaluators: readonly string[],
  name: string,
  options: { dataset: string; setting?: string; title?: string; notes?: string; dir?: string },
): { csv: string; md: string } {
  const dir = options.dir ?? tablesDir();
  const setting = options.setting ?? 'labels→RGB';
  const header = ['task', 'dataset', 'setting', 'method', 'psnr', 'ssim', 'source', ...evaluators.map((e) => `miou ${e}`)];
  const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(v));
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) lines.push(['semantic-synthesis', options.dataset, setting, r.method, num(r.psnr), num(r.ssim), r.source ?? MEASURED, ...evaluators.map((e) => num(r.miou[e]))].map((v) => csvField(String(v))).join(','));
  const csv = path.join(dir, `${name}.csv`);
  const md = path.join(dir, `${name}.md`);
  writeFileAtomic(csv, lines.join('\n') + '\n');
  const fmt = (v: number | null | undefined, d: number) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
  const mdLines = [
    `# ${options.title ?? name}`,
    '',
    `${options.dataset}, ${setting}: PSNR (dB) / SSIM against the real image; mIoU of each segmenter on the synthesis.`,
    '',
    `| method | PSNR | SSIM | ${evaluators.map((e) => `mIoU ${e}`).join(' | ')} |`,
    `|---|---|---|${evaluators.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.method} | ${fmt(r.psnr, 2)} | ${fmt(r.ssim, 4)} | ${evaluators.map((e) => fmt(r.miou[e], 3)).join(' | ')} |`),
    ...(options.notes ? ['', options.notes] : []),
    '',
  ];
  writeFileAtomic(md, mdLines.join('\n'));
  return { csv, md };
}
