/** The training log: one entry per optimizer step, written as CSV and JSON, and its figure. */
import * as path from 'path';
import { writeFileAtomic } from '../io/files';
import { Figure, lineFigure } from '../report/figures';

/** One optimizer step. */
export interface LogEntry {
  /** 1-based step number (steps done after this one). */
  step: number;
  /** The training loss of the step's batch (before the update). */
  loss: number;
  /** The learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Seconds since the run started (resumed runs continue the count). */
  wallTime: number;
  /** Seconds this step took. */
  stepTime: number;
  /** The tfjs backend. */
  engine: string;
}

const COLUMNS: Array<[string, keyof LogEntry]> = [
  ['step', 'step'],
  ['loss', 'loss'],
  ['lr', 'lr'],
  ['grad_norm', 'gradNorm'],
  ['wall_time_s', 'wallTime'],
  ['step_time_s', 'stepTime'],
  ['engine', 'engine'],
];

/**
 * The log as CSV: `step,loss,lr,grad_norm,wall_time_s,step_time_s,engine`, numbers at full
 * precision (the losses round-trip exactly).
 */
export function logToCsv(entries: readonly LogEntry[]): string {
  const lines = [COLUMNS.map(([h]) => h).join(',')];
  for (const e of entries) lines.push(COLUMNS.map(([, k]) => String(e[k])).join(','));
  return lines.join('\n') + '\n';
}

/** The log as JSON: `{ run, entries }` (with any extra top-level fields given). */
export function logToJson(entries: readonly LogEntry[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...extra, entries }, null, 1);
}

/** Writes `<dir>/log.csv` and `<dir>/log.json` atomically. */
export function writeLog(dir: string, entries: readonly LogEntry[], extra: Record<string, unknown> = {}): void {
  writeFileAtomic(path.join(dir, 'log.csv'), logToCsv(entries));
  writeFileAtomic(path.join(dir, 'log.json'), logToJson(entries, extra));
}

/**
 * The running mean of the last `window` values (fewer at the start).
 * @example
 * runningMean([4, 2, 0, 2], 2); // [4, 3, 1, 1]
 */
export function runningMean(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += values[i];
    if (i >= window) acc -= values[i - window];
    out.push(acc / Math.min(i + 1, window));
  }
  return out;
}

/**
 * The training curve: the loss per step (log scale) and its running mean over `window` steps.
 * @example
 * await saveFigure(trainingCurve(entries, 'rim_gray'), 'training_curve', { dir: runDir });
 */
export function trainingCurve(entries: readonly LogEntry[], title: string, window = 50): Figure {
  const steps = entries.map((e) => e.step);
  const loss = entries.map((e) => e.loss);
  const mean = runningMean(loss, window);
  return lineFigure({
    title: `Training loss: ${title}`,
    xLabel: 'step',
    yLabel: 'loss (mean MSE over iterates)',
    logY: true,
    markers: false,
    series: [
      { name: 'loss', x: steps, y: loss },
      { name: `mean of ${window}`, x: steps, y: mean },
    ],
  });
}
