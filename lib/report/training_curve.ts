/**
 * The training curve of a run, drawn from its log (training writes the log; reporting draws it).
 */
import * as fs from 'fs';
import { LogEntry, runningMean } from '../training/log';
import { closeBrowser, Figure, hasChromium, lineFigure, saveFigure } from './figures';

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
 * @param iterates the solver's iterates T in the loss (1: a one-pass model, whose loss is its MSE)
 * @example
 * await saveFigure(trainingCurve(entries, 'rim_gray'), 'training_curve', { dir: runDir });
 */
export function trainingCurve(entries: readonly LogEntry[], title: string, window = 50, iterates?: number, dataWeight?: number): Figure {
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
  return fig;
}

/**
 * Saves a run's training curve as `<dir>/training_curve.html`, plus `.png` when Chromium is
 * installed (the browser is closed afterwards, so a script can exit).
 * @returns the PNG's bytes, or undefined when no PNG was drawn (no Chromium, or an empty log)
 * @example
 * const png = await saveTrainingCurve(result.log, 'rim_gray', result.runDir);
 */
export async function saveTrainingCurve(entries: readonly LogEntry[], title: string, dir: string, iterates?: number, dataWeight?: number): Promise<Uint8Array | undefined> {
  if (entries.length === 0) return undefined;
  const chromium = hasChromium();
  const written = await saveFigure(trainingCurve(entries, title, 50, iterates, dataWeight), 'training_curve', { dir, formats: chromium ? ['html', 'png'] : ['html'] });
  if (chromium) await closeBrowser();
  return written.png ? new Uint8Array(fs.readFileSync(written.png)) : undefined;
}
