/**
 * The training curve of a run, drawn from its log (training writes the log; reporting draws it).
 */
import * as fs from 'fs';
import type { HorizonChange } from '../training/checkpoint';
import { LogEntry, runningMean } from '../training/log';
import { AXIS_STYLE, closeBrowser, Figure, hasChromium, lineFigure, logAxisTicks, PAGE_STYLE, saveFigure } from './figures';

/** The y label of a training loss over `iterates` iterates (unknown: the learned solvers' mean over iterates). */
export function lossLabel(iterates?: number, dataWeight?: number): string {
  if (dataWeight) {
    // Short enough for the axis: L/|y| is the likelihood's value per entry of y (e.g. CE through φ per pixel).
    const term = `MSE + ${dataWeight}·L/|y|`;
    return iterates === 1 ? `loss (${term})` : `loss (mean of ${iterates ?? 'T'}: ${term})`;
  }
  if (iterates === 1) return 'loss (MSE)';
  return iterates === undefined ? 'loss (mean MSE over iterates)' : `loss (mean MSE over the ${iterates} iterates)`;
}

/**
 * The training curve: the loss per step (log scale) and its running mean over `window` steps, and
 * the validation PSNR on a right-hand axis when the run validated.
 * A run resumed on a new cosine horizon (`--new-horizon`) gets a dotted vertical line at each
 * step where the horizon changed, labelled with the new total steps.
 * @param iterates the solver's iterates T in the loss (1: a one-pass model, whose loss is its MSE)
 * @param horizons the run's horizon changes (a checkpoint's `horizons`); the entry at step 0 is the first horizon and draws nothing
 * @example
 * await saveFigure(trainingCurve(entries, 'rim_gray'), 'training_curve', { dir: runDir });
 */
export function trainingCurve(entries: readonly LogEntry[], title: string, window = 50, iterates?: number, dataWeight?: number, horizons?: readonly HorizonChange[]): Figure {
  const steps = entries.map((e) => e.step);
  const loss = entries.map((e) => e.loss);
  const mean = runningMean(loss, window);
  const fig = lineFigure({
    title: `Training loss: ${title}`,
    xLabel: 'step',
    yLabel: lossLabel(iterates, dataWeight),
    logY: true,
    markers: false,
    series: [
      { name: 'loss', x: steps, y: loss },
      { name: `mean of ${window}`, x: steps, y: mean },
    ],
  });
  // Validation PSNR (held-apart crops), when the run validated: a second y axis on the right.
  const validated = entries.filter((e) => e.valPsnr !== undefined);
  if (validated.length) {
    fig.data.push({ type: 'scatter', mode: 'lines+markers', name: 'validation PSNR (dB)', x: validated.map((e) => e.step), y: validated.map((e) => e.valPsnr), yaxis: 'y2' });
    // The legend goes below the plot: at its default place (right of the plot) it covers the right axis's tick labels.
    fig.layout = {
      ...(fig.layout ?? {}),
      title: { text: `Training loss and validation PSNR: ${title}` },
      yaxis2: { title: { text: 'validation PSNR (dB)' }, overlaying: 'y', side: 'right', showgrid: false, automargin: true },
      legend: { orientation: 'h', x: 0, y: -0.26, yanchor: 'top' },
      margin: { b: 120 },
    };
  }
  // changes inside the logged steps (a snapshot's log may end before a later change)
  const [lo, hi] = [Math.min(...steps), Math.max(...steps)];
  const changes = (horizons ?? []).filter((h) => h.fromStep > 0 && h.fromStep <= hi).sort((a, b) => a.fromStep - b.fromStep);
  if (changes.length) {
    const placed = placeLabels(changes.map((h) => h.fromStep), lo, hi);
    const xaxis = (fig.layout?.xaxis ?? {}) as Record<string, unknown>;
    const margin = (fig.layout?.margin ?? {}) as { t?: number };
    const rows = Math.max(...placed.map((p) => p.row));
    fig.layout = {
      ...(fig.layout ?? {}),
      // each row of labels above the first pushes the title up (plotly's default top margin is 100)
      ...(rows > 0 ? { margin: { ...margin, t: (margin.t ?? 100) + 14 * rows } } : {}),
      // the range stays the logged steps: plotly would otherwise widen it to hold the labels
      xaxis: { ...xaxis, range: [lo, hi], autorange: false },
      shapes: changes.map((h) => ({ type: 'line', xref: 'x', yref: 'paper', x0: h.fromStep, x1: h.fromStep, y0: 0, y1: 1, line: { color: '#555', width: 1, dash: 'dot' } })),
      annotations: changes.map((h, i) => ({
        xref: 'x',
        yref: 'paper',
        x: h.fromStep,
        y: 1,
        yanchor: 'bottom',
        xanchor: placed[i].side,
        yshift: 2 + 13 * placed[i].row,
        showarrow: false,
        text: `horizon → ${h.steps} steps`,
        font: { size: 11, color: '#555' },
      })),
    };
  }
  return fig;
}

/** Where a horizon label goes: `left` = its text starts at the line (right of it), and its row above the plot (0 = lowest). */
export interface LabelPlace {
  side: 'left' | 'right';
  row: number;
}

/**
 * Places labels above the plot at the steps `xs` (ascending) on an x axis from `lo` to `hi`, a
 * label taking about `width` of the axis (a fraction): right of its line where it fits inside the
 * axis, else left of it; a label that would overlap one already placed in a row tries the other
 * side, then the next row up. So no label leaves the plot's width and none prints over another.
 * @example
 * placeLabels([52, 600], 0, 8000); // [{ side: 'left', row: 0 }, { side: 'left', row: 1 }]
 */
export function placeLabels(xs: readonly number[], lo: number, hi: number, width = 0.25): LabelPlace[] {
  const span = Math.max(hi - lo, 1e-9);
  const w = width * span;
  const rows: Array<Array<[number, number]>> = [];
  const fits = (a: number, b: number) => a >= lo - 1e-9 && b <= hi + 1e-9;
  const free = (row: number, a: number, b: number) => !(rows[row] ?? []).some(([c, d]) => a < d && c < b);
  return xs.map((x) => {
    const sides = (['left', 'right'] as const).filter((side) => (side === 'left' ? fits(x, x + w) : fits(x - w, x)));
    const order = sides.length ? sides : (['left'] as const);
    for (let row = 0; ; row++) {
      for (const side of order) {
        const [a, b] = side === 'left' ? [x, x + w] : [x - w, x];
        if (free(row, a, b)) {
          (rows[row] ??= []).push([a, b]);
          return { side, row };
        }
      }
    }
  });
}

/**
 * Saves a run's training curve as `<dir>/training_curve.html`, plus `.png` when Chromium is
 * installed (the browser is closed afterwards, so a script can exit).
 * @returns the PNG's bytes, or undefined when no PNG was drawn (no Chromium, or an empty log)
 * @example
 * const png = await saveTrainingCurve(result.log, 'rim_gray', result.runDir);
 */
export async function saveTrainingCurve(entries: readonly LogEntry[], title: string, dir: string, iterates?: number, dataWeight?: number, horizons?: readonly HorizonChange[]): Promise<Uint8Array | undefined> {
  if (entries.length === 0) return undefined;
  const chromium = hasChromium();
  const written = await saveFigure(trainingCurve(entries, title, 50, iterates, dataWeight, horizons), 'training_curve', { dir, formats: chromium ? ['html', 'png'] : ['html'] });
  if (chromium) await closeBrowser();
  return written.png ? new Uint8Array(fs.readFileSync(written.png)) : undefined;
}

/** One run of a {@link runComparison}: its name in the legend and its log. */
export interface ComparedRun {
  name: string;
  entries: readonly LogEntry[];
}

/** Where a log entry sits on a run comparison's x axis: wall time in hours (the run's own clock) or step. */
export function runX(e: LogEntry, x: 'wall' | 'step'): number {
  return x === 'wall' ? e.wallTime / 3600 : e.step;
}

/** Plotly's default colour cycle, so that one run keeps its colour in both panels. */
const RUN_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/**
 * Runs side by side, e.g. two cells at equal wall time: left, the running mean of the training
 * loss (log scale); right, the validation PSNR (for the runs that validated). x is the wall time
 * in hours (`'wall'`, each run's own clock: resumed runs continue it) or the step (`'step'`).
 * @throws if `runs` is empty or a run has no entries
 * @example
 * const fig = runComparison([{ name: 'bench', entries: a }, { name: 'strided', entries: b }], 'wall');
 */
export function runComparison(runs: readonly ComparedRun[], x: 'wall' | 'step' = 'wall', window = 200, title?: string): Figure {
  if (!runs.length) throw new Error('runComparison: no runs given');
  for (const r of runs) if (!r.entries.length) throw new Error(`runComparison: run "${r.name}" has an empty log`);
  if (x !== 'wall' && x !== 'step') throw new Error(`runComparison: x must be 'wall' or 'step', got ${JSON.stringify(x)}`);
  const xOf = (e: LogEntry): number => runX(e, x);
  const xLabel = x === 'wall' ? 'wall time (hours)' : 'step';
  const data: Array<Record<string, unknown>> = [];
  runs.forEach((r, i) => {
    const color = RUN_COLORS[i % RUN_COLORS.length];
    const mean = runningMean(r.entries.map((e) => e.loss), window);
    // every 10th point of the running mean is plenty for a curve over thousands of steps
    const keep = r.entries.map((_, j) => j).filter((j) => j % 10 === 9 || j === r.entries.length - 1);
    data.push({ type: 'scatter', mode: 'lines', name: r.name, legendgroup: r.name, x: keep.map((j) => xOf(r.entries[j])), y: keep.map((j) => mean[j]), line: { color }, xaxis: 'x', yaxis: 'y' });
    const val = r.entries.filter((e) => e.valPsnr !== undefined);
    if (val.length) {
      data.push({ type: 'scatter', mode: 'lines+markers', name: r.name, legendgroup: r.name, showlegend: false, x: val.map(xOf), y: val.map((e) => e.valPsnr), line: { color }, marker: { color, size: 5 }, xaxis: 'x2', yaxis: 'y2' });
    }
  });
  const axis = AXIS_STYLE;
  const lossTicks = logAxisTicks(data.filter((d) => d.yaxis === 'y').flatMap((d) => d.y as number[]));
  return {
    data,
    layout: {
      ...PAGE_STYLE,
      title: { text: title ?? `Runs compared by ${x === 'wall' ? 'wall time' : 'step'}` },
      width: 1000,
      height: 480,
      margin: { l: 70, r: 20, t: 60, b: 110 },
      xaxis: { ...axis, domain: [0, 0.44], title: { text: xLabel } },
      yaxis: { ...axis, type: 'log', ...lossTicks, title: { text: `training loss (mean of ${window} steps)` } },
      xaxis2: { ...axis, domain: [0.56, 1], anchor: 'y2', title: { text: xLabel } },
      yaxis2: { ...axis, anchor: 'x2', title: { text: 'validation PSNR (dB)' } },
      legend: { orientation: 'h', x: 0, y: -0.2, yanchor: 'top' },
    },
  };
}
