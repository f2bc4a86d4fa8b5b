/** Figures and image grids of the classical-baselines experiment: λ search, convergence, restorations. */
import { tf } from '../engine/tf';
import { Figure, lineFigure } from '../report/figures';
import { GridRow, saveImageGrid, SaveImageGridOptions } from '../report/grid';
import { Example, LambdaSearch, SolverRun } from './classical';
import { centerCrop } from './sr';

/**
 * PSNR on the training images against λ (log axis), one curve per search, the chosen λ in the legend.
 * @example
 * await saveFigure(lambdaFigure(searches, { title: 'TV weight, denoising (Train400)' }), '01_lambda_denoise');
 */
export function lambdaFigure(searches: readonly LambdaSearch[], options: { title?: string } = {}): Figure {
  return lineFigure({
    title: options.title,
    xLabel: 'TV weight λ (log scale)',
    yLabel: 'mean PSNR on training images (dB)',
    series: searches.map((s) => ({ name: `${s.label}: λ = ${Number(s.best.toPrecision(3))}${s.atEdge ? ' (grid edge)' : ''}`, x: s.lambdas, y: s.psnr })),
    markers: true,
    logX: true,
  });
}

/**
 * Convergence plots of {@link compareSolvers}: the relative objective gap
 * `(f(x_k) − f*)/|f*|` (f* = the lowest objective any solver reached; log scale; the point where
 * the gap is 0 is left out) and the PSNR against the iteration. The legends give each solver's
 * wall time.
 * @example
 * const { objective, psnr } = convergenceFigures(runs, { title: 'BSD68 σ=25' });
 */
export function convergenceFigures(runs: readonly SolverRun[], options: { title?: string; psnrLabel?: string } = {}): { objective: Figure; psnr: Figure } {
  const fStar = Math.min(...runs.flatMap((r) => r.history.map((h) => h.objective)));
  const name = (r: SolverRun) => `${r.label} (${r.seconds.toFixed(1)} s)`;
  const objective = lineFigure({
    title: options.title ? `${options.title}: objective` : 'objective',
    xLabel: 'iteration',
    yLabel: '(f(x_k) − f*) / |f*|',
    logY: true,
    markers: false,
    series: runs.map((r) => ({
      name: name(r),
      x: r.history.map((h) => h.iteration),
      y: r.history.map((h) => (h.objective - fStar > 0 ? (h.objective - fStar) / Math.abs(fStar) : NaN)),
    })),
  });
  const psnr = lineFigure({
    title: options.title ? `${options.title}: PSNR` : 'PSNR',
    xLabel: 'iteration',
    yLabel: options.psnrLabel ?? 'PSNR (dB)',
    markers: false,
    series: runs.map((r) => ({ name: name(r), x: r.history.map((h) => h.iteration), y: r.history.map((h) => h.psnr ?? NaN) })),
  });
  return { objective, psnr };
}

/**
 * Image-grid rows comparing methods on the same images: per image `input | method 1 | … | truth`,
 * PSNR captions of the whole images. With `crop`, each image is cut to its central `crop × crop`
 * region; the crops are new tensors, freed by the returned `dispose`.
 * @param groups one list of kept examples per method, for the same images in the same order
 * @throws when a row mixes images
 * @example
 * const { rows, dispose } = comparisonGridRows([lgd.examples, rim.examples], { crop: 128 });
 */
export function comparisonGridRows(groups: ReadonlyArray<readonly Example[]>, options: { crop?: number } = {}): { rows: GridRow[]; dispose: () => void } {
  const made: tf.Tensor[] = [];
  const view = (t: tf.Tensor4D): tf.Tensor4D => {
    if (!options.crop) return t;
    const c = centerCrop(t, options.crop);
    made.push(c);
    return c;
  };
  const n = groups.length ? Math.min(...groups.map((g) => g.length)) : 0;
  const rows: GridRow[] = [];
  for (let i = 0; i < n; i++) {
    const first = groups[0][i];
    const names = groups.map((g) => g[i].name);
    if (names.some((nm) => nm !== first.name)) throw new Error(`comparisonGridRows: row ${i} mixes images ${names.join(', ')}`);
    rows.push({
      label: first.label,
      images: [
        { tensor: view(first.input), caption: `${first.inputMethod} ${first.inputQuality.psnr.toFixed(2)} dB` },
        ...groups.map((g) => ({ tensor: view(g[i].output), caption: `${g[i].method} ${g[i].quality.psnr.toFixed(2)} dB` })),
        { tensor: view(first.truth), caption: 'truth' },
      ],
    });
  }
  return { rows, dispose: () => tf.dispose(made) };
}

/**
 * Image-grid rows `degraded | restored | truth` with PSNR captions, one row per example (see
 * {@link comparisonGridRows}; crops are freed by the returned `dispose`).
 * @example
 * const { rows, dispose } = restorationGridRows(ev.examples, { crop: 128 });
 * await saveImageGrid(rows, '01_grid_denoise'); dispose();
 */
export function restorationGridRows(examples: readonly Example[], options: { crop?: number } = {}): { rows: GridRow[]; dispose: () => void } {
  return comparisonGridRows([examples], options);
}

/**
 * Saves (and, in a notebook, shows) the `degraded | restored | truth` grid of examples as
 * `results/figures/<name>.png`. PSNR captions are of the whole images, also when `crop` shows
 * only their centre.
 * @param examples kept examples of {@link evaluateTask} (not disposed)
 * @param name file name without extension
 * @param options `crop` (central crop side), plus `saveImageGrid` options (`scale`, `title`, ...)
 * @returns the PNG's path
 * @example
 * await saveRestorationGrid(ev.examples, '01_grid_sr', { crop: 128, scale: 2, title: 'Set5 x4' });
 */
export async function saveRestorationGrid(
  examples: readonly Example[],
  name: string,
  options: SaveImageGridOptions & { crop?: number } = {},
): Promise<string> {
  const { crop, ...gridOptions } = options;
  const { rows, dispose } = restorationGridRows(examples, { crop });
  try {
    return await saveImageGrid(rows, name, gridOptions);
  } finally {
    dispose();
  }
}
