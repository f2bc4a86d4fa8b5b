/**
 * The learned-solver experiments: load a trained model from `results/models/<name>/` (or retrain
 * it from `configs/<name>.json`), evaluate it on a test set with a task's benchmark metric, and
 * record PSNR against the step `t = 1..2T` (convergence and stability past the trained horizon).
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { mean } from '../metrics/mean';
import { modelsDir, projectPath, resultsDir } from '../io/paths';
import { Figure, lineFigure, logAxisPosition } from '../report/figures';
import { saveImageGrid, SaveImageGridOptions } from '../report/grid';
import { ResultRow } from '../report/tables';
import { loadLearnedSolver } from '../solvers/learned/io';
import { LearnedSolver } from '../solvers/learned/types';
import { LogEntry, runningMean } from '../training/log';
import { TrainConfigInput } from '../training/config';
import { TrainRecord } from '../training/export';
import { isModelPath, initName, patchesSeen } from '../training/provenance';
import { trainLearnedSolver } from '../training/train';
import { Example } from './classical';
import { evaluate, learnedMethod } from './evaluate';
import { comparisonGridRows } from './figures';
import { Quality, RestorationTask } from './tasks';

/** What `train.json` of an exported model records (written by `exportTrainedModel`). */
export type TrainInfo = TrainRecord;

/** A loaded (or freshly trained) model. */
export interface TrainedModel {
  name: string;
  solver: LearnedSolver;
  /** Its `train.json` (undefined for a folder without one, e.g. a checkpoint). */
  info?: TrainInfo;
  /** Its training log (from `training_log.json`), when present. */
  log?: LogEntry[];
  dir: string;
  /** 'loaded' from the folder, or 'trained' in this call. */
  source: 'loaded' | 'trained';
}

/**
 * Options of {@link loadOrTrainModel}.
 * @example
 * await loadOrTrainModel('rim_gray', { retrain: false });
 */
export interface LoadModelOptions {
  /** Train from `configs/<name>.json` instead of loading (default false). */
  retrain?: boolean;
  /** With `retrain`: override the configured number of steps (quick runs). */
  steps?: number;
  /** With `retrain`: patch size / batch size overrides (quick runs). */
  data?: { patchSize?: number; batchSize?: number; limit?: number };
  /** Folder of the models (default `modelsDir()`: `results/models`); retrained models go to `resultsDir()/models`. */
  dir?: string;
}

/**
 * Whether a trained model `<dir>/<name>/` is there (it has a `model.json`): what a notebook asks
 * before loading a model that may not be committed yet.
 * @example
 * if (hasTrainedModel('lgd_gray_large')) models.push(await loadOrTrainModel('lgd_gray_large'));
 */
export function hasTrainedModel(name: string, dir = modelsDir()): boolean {
  return fs.existsSync(path.join(dir, name, 'model.json'));
}

/**
 * Loads `results/models/<name>/` (checksums verified), or with `retrain` trains it from
 * `configs/<name>.json` (checkpoints in `results/runs/<name>`, resumed when present) and exports it.
 * @throws naming the folder and the command that makes it when the model is missing
 * @example
 * const rim = await loadOrTrainModel('rim_gray');
 * rim.info?.steps; // optimizer steps it was trained for
 */
export async function loadOrTrainModel(name: string, options: LoadModelOptions = {}): Promise<TrainedModel> {
  if (options.retrain) {
    const file = projectPath('configs', `${name}.json`);
    if (!fs.existsSync(file)) throw new Error(`loadOrTrainModel: no training config ${file} for model "${name}"`);
    const input = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainConfigInput;
    if (options.steps) input.steps = options.steps;
    if (options.data) input.data = { ...input.data, ...options.data };
    const exportDir = path.join(resultsDir(), 'models', name);
    const result = await trainLearnedSolver(input, { exportDir, command: `loadOrTrainModel('${name}', { retrain: true })` });
    if (result.stopped !== 'completed') {
      result.solver.dispose();
      throw new Error(`loadOrTrainModel: training of ${name} stopped at step ${result.step}`);
    }
    result.solver.dispose();
    const loaded = await loadOrTrainModel(name, { dir: path.join(resultsDir(), 'models') });
    return { ...loaded, source: 'trained' };
  }
  const dir = path.join(options.dir ?? modelsDir(), name);
  if (!hasTrainedModel(name, options.dir)) {
    throw new Error(
      `no trained model "${name}" in ${dir}: train it with \`npm run train -- --config configs/${name}.json\`, or ask the notebook to retrain it`,
    );
  }
  const solver = await loadLearnedSolver(dir);
  const read = <T>(file: string): T | undefined => (fs.existsSync(path.join(dir, file)) ? (JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as T) : undefined);
  const info = read<TrainInfo>('train.json');
  const log = read<{ entries: LogEntry[] }>('training_log.json')?.entries;
  return { name, solver, info, log, dir, source: 'loaded' };
}

/**
 * A model named on a command line: a name under `results/models/` (as {@link loadOrTrainModel}), or a
 * model folder given as a path (absolute, or with a '/'; e.g. a checkpoint exported by
 * `scripts/export-checkpoint.ts`).
 * @throws naming the option value and the folder when the folder holds no model.json
 * @example
 * await loadModelArg('rim_sr48');
 * await loadModelArg('results/runs/rim_sr48/checkpoints/step-004000');
 */
export async function loadModelArg(model: string): Promise<TrainedModel> {
  if (!isModelPath(model)) return loadOrTrainModel(model);
  const dir = path.resolve(model);
  if (!fs.existsSync(path.join(dir, 'model.json'))) throw new Error(`--model ${model}: no saved model in ${dir} (no model.json)`);
  return loadOrTrainModel(path.basename(dir), { dir: path.dirname(dir) });
}

/**
 * Options of {@link evaluateLearned}.
 * @example
 * evaluateLearned({ solver, method: 'RIM', task: denoisingTask({ sigma: 25 }), dataset: 'BSD68', images, seed: 1000 });
 */
export interface LearnedEvaluationOptions {
  solver: LearnedSolver;
  /** Method name in the rows. */
  method: string;
  task: RestorationTask;
  /** Dataset name for the rows (add a quick-run suffix there). */
  dataset: string;
  /** Test images (truths before `prepare`); not disposed. */
  images: ReadonlyArray<{ name: string; image: tf.Tensor4D }>;
  /** Image i is degraded with `seed + i` (default the task's protocol, `task.seed`): the same seeds give the same noise for every method. */
  seed?: number;
  /** Steps whose output is measured (default the solver's trained T). */
  steps?: number;
  /** Record PSNR of every iterate `1..curveSteps` on the first `curveImages` images (default 0: none). */
  curveImages?: number;
  /** Default `2·steps`. */
  curveSteps?: number;
  /** Keep the tensors of the first n images for image grids (default 1). */
  keepExamples?: number;
  /** Progress lines (default true). */
  progress?: boolean;
}

/** What {@link evaluateLearned} returns. */
export interface LearnedEvaluation {
  /** Rows: the input (`task.inputMethod`) and the method, means over the images. */
  rows: ResultRow[];
  perImage: { name: string; input: Quality; output: Quality }[];
  /** Mean PSNR (8-bit iterate) at steps 1..curveSteps over the first `curveImages` images; empty when none. */
  curve: number[];
  examples: Example[];
  seconds: number;
}

/**
 * Runs a learned solver on every test image (one at a time, seeded degradation, the task's
 * likelihood with its nominal σ), measures the 8-bit output of step `steps` with the task's metric,
 * and on the first `curveImages` images runs on to `curveSteps` recording the PSNR of each iterate.
 * @example
 * const ev = evaluateLearned({ solver: rim, method: 'RIM', task, dataset: 'BSD68', images, curveImages: 4 });
 * ev.rows[1].psnr; ev.curve; // PSNR at t = 1..2T
 */
export function evaluateLearned(options: LearnedEvaluationOptions): LearnedEvaluation {
  const { solver, task } = options;
  if (options.images.length === 0) throw new Error('evaluateLearned: no images');
  const imageChannels = options.images[0].image.shape[3];
  if (task.task !== 'super-resolution' && imageChannels !== solver.config.channels) {
    throw new Error(`evaluateLearned: ${options.method} works on ${solver.config.channels} channel(s) but the ${options.dataset} images have ${imageChannels}`);
  }
  const method = learnedMethod(solver, { name: options.method, steps: options.steps, curveSteps: options.curveSteps });
  const ev = evaluate(task, [method], {
    dataset: options.dataset,
    images: options.images,
    seed: options.seed,
    curveImages: options.curveImages,
    keepExamples: options.keepExamples,
    progress: options.progress,
  });
  const m = ev.methods[0];
  return {
    rows: ev.rows,
    perImage: m.perImage.map((r, i) => ({ name: r.name, input: ev.input[i].quality, output: r.quality })),
    curve: m.curve,
    examples: m.examples,
    seconds: m.seconds,
  };
}

/** One curve of {@link stepCurveFigure}: PSNR at steps (or iterations) 1, 2, … */
export interface StepCurve {
  name: string;
  psnr: readonly number[];
  dash?: 'solid' | 'dot' | 'dash' | 'longdash' | 'dashdot';
  /** The step a learned method's output is taken at (its trained T), marked unless `options.horizon` is given. */
  horizon?: number;
  /** A colour (e.g. one per model, the dash telling its cases apart); default: the cycle. */
  color?: string;
}

/**
 * PSNR against the step, with a dotted vertical line at the trained horizon T (the paper's
 * Figure 2: does the estimate stay good when run past the steps it was trained for?): at
 * `options.horizon`, or else at each distinct `horizon` of the curves (an evaluation's
 * `MethodEvaluation.horizon`: every learned model its own T). With `logX` the step axis is
 * logarithmic and spans the steps of the curves.
 * @example
 * stepCurveFigure(ev.methods.filter((m) => m.curve.length).map((m) => ({ name: m.method, psnr: m.curve, horizon: m.horizon })));
 * stepCurveFigure([{ name: 'RIM', psnr: miouPerStep }], { horizon: 8, yLabel: "mIoU by φ'" }); // another per-step quality
 * stepCurveFigure([{ name: 'RIM', psnr: ev.curve }], { horizon: 8, title: 'BSD68, σ=25' });
 */
export function stepCurveFigure(curves: readonly StepCurve[], options: { horizon?: number | readonly number[]; title?: string; xLabel?: string; yLabel?: string; logX?: boolean; legend?: 'right' | 'below' } = {}): Figure {
  const fig = lineFigure({
    title: options.title,
    xLabel: options.xLabel ?? 'step t',
    yLabel: options.yLabel ?? 'PSNR (dB)', // `psnr` holds another per-step quality when yLabel names it
    series: curves.map((c) => ({ name: c.name, x: c.psnr.map((_, t) => t + 1), y: c.psnr, dash: c.dash, ...(c.color ? { color: c.color } : {}) })),
    markers: curves.every((c) => c.psnr.length <= 40),
    logX: options.logX,
    legend: options.legend,
    showLegend: true, // one curve too: the legend names the model, which the title does not
  });
  const layout = fig.layout as Record<string, unknown>;
  const given = options.horizon === undefined ? curves.flatMap((c) => (c.horizon === undefined ? [] : [c.horizon])) : typeof options.horizon === 'number' ? [options.horizon] : options.horizon;
  const horizons = [...new Set(given)].sort((a, b) => a - b);
  if (horizons.length) {
    layout.shapes = horizons.map((h) => ({ type: 'line', xref: 'x', yref: 'paper', x0: h, x1: h, y0: 0, y1: 1, line: { dash: 'dot', color: '#888' } }));
    // shapes take data values on a log axis, annotations its decades
    const labels = horizonLabels(horizons, Math.max(...horizons, ...curves.map((c) => c.psnr.length)), options.logX ?? false);
    layout.annotations = labels;
    // the title sits in the top margin, over the T labels: a two-line title (a <br><sup> subtitle)
    // and a second row of labels each need room for one more line, or the two overlap
    const secondRow = labels.some((a) => (a.yshift as number) > 0) ? 20 : 0;
    const top = (options.title?.includes('<br>') ? 130 : options.title ? 60 : 20) + secondRow;
    const margin = (layout.margin as Record<string, unknown> | undefined) ?? {};
    if (top > ((margin.t as number | undefined) ?? 0)) layout.margin = { ...margin, t: top };
  }
  return fig;
}

/**
 * The "T = …" labels over the horizon lines of {@link stepCurveFigure}, placed so that they do not
 * overlap: horizons closer than `minGap` of the axis span (steps 1..`maxStep`, in decades when
 * `logX`) share one label ("T = 8, 10, 16") centred over them; a label near the one before it
 * moves up a row.
 */
export function horizonLabels(horizons: readonly number[], maxStep: number, logX: boolean, minGap = 0.12): Array<Record<string, unknown>> {
  const pos = (h: number) => logAxisPosition(h, logX);
  const span = pos(Math.max(maxStep, ...horizons)) - pos(1) || 1;
  const groups: number[][] = [];
  for (const h of [...horizons].sort((a, b) => a - b)) {
    const last = groups[groups.length - 1];
    if (last && (pos(h) - pos(last[last.length - 1])) / span < minGap) last.push(h);
    else groups.push([h]);
  }
  let row = 0;
  let prev = -Infinity;
  return groups.map((g) => {
    const x = (pos(g[0]) + pos(g[g.length - 1])) / 2;
    // a neighbour within 1.5 gaps (two labels of 40–50 px on a 300 px plot would touch) alternates rows
    row = (x - prev) / span < 1.5 * minGap ? 1 - row : 0;
    prev = x;
    return { x, y: 1, xref: 'x', yref: 'paper', text: `T = ${g.join(', ')}`, showarrow: false, yanchor: 'bottom', xanchor: 'center', yshift: 16 * row };
  });
}

/**
 * Training losses of several models against the step (moving mean over `window` steps, log y).
 * Runs with the same seed see the same batches and noise at every step, so the curves compare
 * the models on identical data.
 * @example
 * trainingComparisonFigure([{ name: 'rim_gray', log: rim.log! }, { name: 'lgd_gray', log: lgd.log! }]);
 */
export function trainingComparisonFigure(runs: ReadonlyArray<{ name: string; log: readonly LogEntry[] }>, options: { window?: number; title?: string; maxStep?: number } = {}): Figure {
  const window = options.window ?? 100;
  return lineFigure({
    title: options.title ?? `Training loss (mean over ${window} steps)`,
    xLabel: 'optimizer step',
    yLabel: 'loss (mean over steps of the MSE)',
    logY: true,
    markers: false,
    series: runs.map((r) => {
      const entries = r.log.filter((e) => options.maxStep === undefined || e.step <= options.maxStep);
      return { name: r.name, x: entries.map((e) => e.step), y: runningMean(entries.map((e) => e.loss), window) };
    }),
  });
}

/** Mean of the logged losses over steps `(from, to]`. */
export function meanLoss(log: readonly LogEntry[], from: number, to: number): number {
  const v = log.filter((e) => e.step > from && e.step <= to).map((e) => e.loss);
  return v.length ? mean(v) : NaN;
}

/**
 * A Markdown section on how each model was trained: steps, training patches seen (steps × batch,
 * and with the models it was started from, when their folders say), wall time, engine,
 * parameters, final loss, weights SHA-256 and the command.
 * @example
 * trainingSummaryMarkdown([rim, lgd]);
 */
export function trainingSummaryMarkdown(models: readonly TrainedModel[]): string {
  const lines = [
    SUMMARY_HEADING,
    '',
    '| model | kind | parameters | steps | patches seen | wall time | engine | final loss (last 100 steps) | weights SHA-256 | command |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const m of models) {
    const i = m.info;
    if (!i) {
      lines.push(`| ${m.name} | ${m.solver.kind} | ${m.solver.paramCount()} | ? | ? | ? | ? | ? | ? | (no train.json in ${path.basename(m.dir)}) |`);
      continue;
    }
    const horizon = i.horizons?.length ? ` (cosine horizon ${i.horizons.map((h) => `${h.steps} from step ${h.fromStep}`).join(', then ')})` : '';
    const init = i.trainConfig?.init ? `, started from the weights of ${initName(i.trainConfig.init.model)} (its steps and time not counted here)` : '';
    const averaged = i.averagedFrom?.length ? `, weights the mean of its checkpoints at steps ${i.averagedFrom.map((a) => a.step).join(', ')}` : '';
    lines.push(
      `| ${m.name} | ${i.kind} | ${i.paramCount} | ${i.steps}${horizon}${init}${averaged} | ${patchesSeenText(m.dir, i)} | ${(i.wallTimeSeconds / 3600).toFixed(2)} h | ${engineHistory(m.log, i.engine)} | ${i.finalLoss.toExponential(3)} | \`${i.weightsSha256.slice(0, 16)}…\` | ${commandText(i)} |`,
    );
  }
  return lines.join('\n') + '\n';
}

const SUMMARY_HEADING = '## How the models were trained';

/** The model names (first column) of the {@link trainingSummaryMarkdown} section in a table's Markdown; [] when it has none. */
export function trainingSummaryModelNames(md: string): string[] {
  const lines = md.split('\n');
  const at = lines.indexOf(SUMMARY_HEADING);
  if (at < 0) return [];
  const names: string[] = [];
  for (let k = at + 4; k < lines.length && lines[k].startsWith('|'); k++) names.push(lines[k].split('|')[1].trim());
  return names;
}

/**
 * A table's Markdown with its {@link trainingSummaryMarkdown} section replaced by `summary` (the
 * heading, header and rows; everything around it kept as it was), e.g. after the model tables
 * gained a column: `scripts/refresh-training-tables.ts`.
 * @throws when the Markdown has no such section
 */
export function replaceTrainingSummary(md: string, summary: string): string {
  const lines = md.split('\n');
  const at = lines.indexOf(SUMMARY_HEADING);
  if (at < 0 || !lines[at + 2]?.startsWith('| model |')) throw new Error(`no "${SUMMARY_HEADING}" table in this Markdown`);
  let end = at + 4;
  while (end < lines.length && lines[end].startsWith('|')) end++;
  return [...lines.slice(0, at), ...summary.replace(/\n$/, '').split('\n'), ...lines.slice(end)].join('\n');
}

/**
 * The command cell of a model's training table: the command of each training session with its
 * steps (a run resumed with other options, e.g. `--steps N --new-horizon`), and the export command
 * when another script exported it (a checkpoint exported by `scripts/export-checkpoint.ts`); for
 * models of older runs, the one command `train.json` records.
 */
export function commandText(info: Pick<TrainInfo, 'command' | 'sessions' | 'steps'>): string {
  const code = (c: string | null) => (c === null ? 'not recorded' : `\`${c}\``);
  const sessions = info.sessions ?? [];
  if (sessions.length === 0) return code(info.command);
  const parts = sessions.map((s, k) => {
    const to = k + 1 < sessions.length ? sessions[k + 1].fromStep : info.steps;
    return `${code(s.command)} (${k === 0 && s.fromStep === 0 ? 'steps ' : ''}${s.fromStep + 1}–${to})`;
  });
  if (sessions[0].fromStep > 0) parts.unshift(`not recorded (steps 1–${sessions[0].fromStep})`);
  const text = parts.length === 1 ? code(sessions[0].command) : parts.join(', then ');
  const last = sessions[sessions.length - 1].command;
  return info.command !== null && info.command !== last ? `${text}; exported by ${code(info.command)}` : text;
}

/** An engine label as logged, with "(1 threads)" of older logs read "(1 thread)". */
function engineLabelText(engine: string): string {
  return engine.replace(/\(1 threads\)/g, '(1 thread)');
}

/**
 * The engine cell of a model's training table: the engine of every stretch of its log, in step
 * order, e.g. `wasm + oneDNN 2.6.3 convs: 2 threads for steps 1–1200, 1 thread for 1201–2400`
 * (a run resumed on another engine or thread count), or the one engine when it never changed.
 * Without a log, `fallback` (train.json's engine: that of the last session).
 */
export function engineHistory(log: readonly LogEntry[] | undefined, fallback: string): string {
  const runs: Array<{ engine: string; from: number; to: number }> = [];
  for (const e of log ?? []) {
    const engine = engineLabelText(e.engine ?? fallback);
    const last = runs[runs.length - 1];
    if (last && last.engine === engine) last.to = e.step;
    else runs.push({ engine, from: e.step, to: e.step });
  }
  if (runs.length === 0) return engineLabelText(fallback);
  if (runs.length === 1) return runs[0].engine;
  // one engine with other settings (e.g. thread counts) in every stretch: name it once, then the settings
  const parts = runs.map((r) => /^(.*) \(([^()]*)\)$/.exec(r.engine));
  const prefix = parts[0]?.[1];
  const shared = prefix !== undefined && parts.every((p) => p?.[1] === prefix);
  const label = (k: number) => (shared ? parts[k]![2] : runs[k].engine);
  const sep = shared ? ', ' : '; ';
  let body: string;
  if (runs.length <= 3) {
    body = runs.map((r, k) => `${label(k)} for ${k === 0 ? 'steps ' : ''}${r.from}–${r.to}`).join(sep);
  } else {
    // many switches (a run resumed on whichever core was free): the steps on each setting
    const steps = new Map<string, number>();
    runs.forEach((r, k) => steps.set(label(k), (steps.get(label(k)) ?? 0) + r.to - r.from + 1));
    body = `${[...steps].map(([what, n]) => `${what} for ${n} step${n === 1 ? '' : 's'}`).join(sep)} (in ${runs.length} stretches)`;
  }
  return shared ? `${prefix}: ${body}` : body;
}

/**
 * The "patches seen" cell: the model's own steps × batch, and, when it was started from other
 * weights, the total along that chain as far as the folders say ({@link patchesSeen}), e.g.
 * `96,000 (304,000 with rim_gray's)`.
 */
function patchesSeenText(dir: string, info: TrainInfo): string {
  const seen = patchesSeen(dir, info);
  if (!seen) return '?';
  const fmt = (n: number) => n.toLocaleString('en-US');
  const withNames = seen.names.length ? `${fmt(seen.total)} with ${seen.names.map((n) => `${n}'s`).join(' and ')}` : '';
  if (!seen.stopped) return withNames ? `${fmt(seen.own)} (${withNames})` : fmt(seen.own);
  const known = withNames ? `${withNames}, ` : '';
  // a link the folders say nothing about, or one exported again since: what is known, and whose patches are missing
  const why = seen.stopped.why === 'changed' ? ' as it was then; exported again since' : '';
  return `${fmt(seen.own)} (${known}and those of ${seen.stopped.name}${why})`;
}

/**
 * Saves (and shows in a notebook) a grid comparing methods on the same images: per image one row
 * `input | method 1 | method 2 | … | truth`, PSNR of the whole image in the captions.
 * @param groups one list of kept examples per method, each for the same images in the same order (not disposed)
 * @example
 * await saveComparisonGrid([lgd.examples, rim.examples], '02_grid_bsd68', { crop: 160 });
 */
export async function saveComparisonGrid(groups: ReadonlyArray<readonly Example[]>, name: string, options: SaveImageGridOptions & { crop?: number } = {}): Promise<string> {
  if (groups.length === 0 || groups[0].length === 0) throw new Error('saveComparisonGrid: no examples');
  const { crop, ...gridOptions } = options;
  const { rows, dispose } = comparisonGridRows(groups, { crop });
  try {
    return await saveImageGrid(rows, name, gridOptions);
  } finally {
    dispose();
  }
}
