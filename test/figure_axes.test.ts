import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { lambdaFigure } from '../lib/experiments/figures';
import { horizonLabels, stepCurveFigure } from '../lib/experiments/learned';
import { chromiumPath, closeBrowser, Figure, hasChromium, lineFigure, logAxisPosition, logRange, logTicks, plottedAxes, saveFigure } from '../lib/report/figures';

type Axis = { type?: string; range?: [number, number] };
type Layout = { xaxis: Axis; annotations: { x: number; text: string }[]; shapes: { x0: number; x1: number }[] };

/** PSNR curves like notebook 02's: two models run to 2T, the TV baseline to 100 iterations. */
function convergence(): Figure {
  const curve = (n: number, top: number) => Array.from({ length: n }, (_, t) => top - 3 / (t + 1));
  return stepCurveFigure(
    [
      { name: 'RIM, T=8', psnr: curve(16, 28.6) },
      { name: 'LGD, T=10', psnr: curve(20, 27.4) },
      { name: 'gradient descent (TV)', psnr: curve(100, 27.5), dash: 'dot' },
    ],
    { horizon: [8, 10, 8], logX: true, title: 'PSNR vs step' },
  );
}

/** The x span of the data in decades: [log10(min x), log10(max x)]. */
function dataDecades(fig: Figure): [number, number] {
  const xs = fig.data.flatMap((d) => (d as { x: number[] }).x);
  return [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))];
}

/** Asserts that a log-axis range (decades) stays within the data, up to `slack` decades. */
function assertWithinData(range: [number, number], fig: Figure, slack = 0.1): void {
  const [lo, hi] = dataDecades(fig);
  assert.ok(range[0] >= lo - slack && range[0] <= lo, `range starts at 10^${range[0].toFixed(3)}, data at 10^${lo.toFixed(3)}`);
  assert.ok(range[1] <= hi + slack && range[1] >= hi, `range ends at 10^${range[1].toFixed(3)}, data at 10^${hi.toFixed(3)}`);
}

describe('log-x figures: the axis spans the data', () => {
  after(closeBrowser);

  it('logRange pads the decades of [min, max] and names bad bounds', () => {
    assert.deepEqual(logRange(1, 100).map((v) => +v.toFixed(6)), [-0.06, 2.06]);
    assert.deepEqual(logRange(10, 10).map((v) => +v.toFixed(6)), [0.95, 1.05]);
    assert.throws(() => logRange(0, 10), /logRange: expected 0 < min <= max, got min 0, max 10/);
    assert.deepEqual(logTicks(1, 100), [1, 2, 5, 10, 20, 50, 100]);
    assert.deepEqual(logTicks(1, 16), [1, 2, 5, 10]);
    assert.deepEqual(logTicks(2, 9), [2, 3, 5, 7], 'fewer than three 1-2-5 ticks: 1-1.5-2-3-5-7');
    assert.deepEqual(logTicks(0.00057, 0.0031), [0.0007, 0.001, 0.0015, 0.002, 0.003], 'a fine-tune\'s loss: no 0.0008 / 0.0009 crowding under 0.001');
    assert.deepEqual(logTicks(2, 4.5), [2, 3, 4], 'still fewer than three: every 1…9 multiple');
    assert.equal(logAxisPosition(100, true), 2);
    assert.equal(logAxisPosition(100, false), 100);
  });

  it('stepCurveFigure with logX: explicit x range over the steps, T annotations in decades, T lines in steps', () => {
    const fig = convergence();
    const layout = fig.layout as unknown as Layout;
    assert.equal(layout.xaxis.type, 'log');
    assertWithinData(layout.xaxis.range as [number, number], fig);
    assert.deepEqual((layout.xaxis as { tickvals: number[] }).tickvals, [1, 2, 5, 10, 20, 50, 100]);
    assert.deepEqual(layout.shapes.map((s) => s.x0), [8, 10]);
    // 8 and 10 lie 0.1 decade apart on a 2-decade axis: one label centred between their lines, not two overlapping ones
    assert.deepEqual(layout.annotations.map((a) => a.text), ['T = 8, 10']);
    assert.deepEqual(layout.annotations.map((a) => a.x), [(Math.log10(8) + 1) / 2]);
    // a linear step axis keeps data values for the annotations and no fixed range
    const linear = stepCurveFigure([{ name: 'RIM', psnr: [20, 25, 26, 26] }], { horizon: 2 }).layout as unknown as Layout;
    assert.deepEqual(linear.annotations.map((a) => a.x), [2]);
    assert.equal(linear.xaxis.range, undefined);
  });

  it('horizonLabels: close horizons share a label, near neighbours alternate rows, far ones stay apart', () => {
    type Label = { x: number; text: string; yshift: number };
    const labels = (h: number[], max: number, log: boolean) => horizonLabels(h, max, log) as unknown as Label[];
    // notebook 02: T = 8, 10, 16 on steps 1..100 (log): 0.1 and 0.2 decades apart on 2 decades
    assert.deepEqual(labels([16, 8, 10], 100, true).map((a) => a.text), ['T = 8, 10, 16']);
    // 8 and 16: 0.2 of a 1.5-decade axis, far enough for one row; 8 → 12 (0.14 of 1.3 decades) is near: 12 moves up a row, 20 back down
    assert.deepEqual(labels([2, 8, 16], 32, true).map((a) => [a.text, a.yshift]), [['T = 2', 0], ['T = 8', 0], ['T = 16', 0]]);
    assert.deepEqual(labels([2, 8, 12, 20], 20, true).map((a) => [a.text, a.yshift]), [['T = 2', 0], ['T = 8', 0], ['T = 12', 16], ['T = 20', 0]]);
    assert.deepEqual(labels([2, 20], 100, false).map((a) => [a.x, a.yshift]), [[2, 0], [20, 0]]);
    assert.deepEqual(labels([8], 8, true).map((a) => [a.x, a.text]), [[Math.log10(8), 'T = 8']]);
  });

  it('stepCurveFigure: a second row of T labels widens the top margin so it stays under the title', () => {
    type Margined = { margin: { t: number }; annotations: { yshift: number }[] };
    const curves = (n: number) => [{ name: 'a', psnr: Array.from({ length: n }, (_, t) => 20 + t) }];
    // notebook 02 at σ = 70: T = 8, 10 share a label, 16 sits one row up on a 1..32 log axis
    const twoRows = stepCurveFigure(curves(32), { horizon: [8, 10, 16], logX: true, title: 'PSNR vs step' }).layout as unknown as Margined;
    assert.deepEqual(twoRows.annotations.map((a) => a.yshift), [0, 16]);
    assert.equal(twoRows.margin.t, 80);
    const oneRow = stepCurveFigure(curves(100), { horizon: [8, 10, 16], logX: true, title: 'PSNR vs step' }).layout as unknown as Margined;
    assert.equal(oneRow.margin.t, 60);
    const subtitled = stepCurveFigure(curves(32), { horizon: [8, 10, 16], logX: true, title: 'PSNR<br><sup>BSD68</sup>' }).layout as unknown as Margined;
    assert.equal(subtitled.margin.t, 150);
  });

  it('lambdaFigure (log λ) sets its range from the λ grid', () => {
    const fig = lambdaFigure([{ label: 'σ=25', lambdas: [2.83, 4, 5.66, 8, 11.3], psnr: [26, 27, 28, 28.3, 28], best: 8, atEdge: false } as never]);
    const layout = fig.layout as unknown as Layout;
    assert.equal(layout.xaxis.type, 'log');
    assertWithinData(layout.xaxis.range as [number, number], fig);
  });

  it('lineFigure logY labels 1-2-5 values (not the first digit of minor ticks), powers of ten only over many decades', () => {
    const y = (f: ReturnType<typeof lineFigure>) => f.layout!.yaxis as { tickvals?: number[]; ticktext?: string[] };
    const losses = lineFigure({ series: [{ name: 'loss', x: [1, 2, 3], y: [0.009, 2, 0.05] }], logY: true });
    assert.deepEqual(y(losses).tickvals, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2]);
    assert.deepEqual(y(losses).ticktext, ['0.01', '0.02', '0.05', '0.1', '0.2', '0.5', '1', '2']);
    const wide = lineFigure({ series: [{ name: 'a', x: [1, 2], y: [1e-7, 1] }], logY: true });
    assert.deepEqual(y(wide).tickvals, [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1]);
    assert.equal(y(lineFigure({ series: [{ name: 'a', x: [1, 2], y: [1, 2] }] })).tickvals, undefined, 'linear axes keep plotly\'s ticks');
  });

  it('lineFigure logX refuses series without positive x', () => {
    assert.throws(() => lineFigure({ series: [{ name: 'a', x: [0, -1], y: [1, 2] }], logX: true }), /logX needs positive x values/);
  });

  it('plotly, drawing in Chromium, keeps the log step axis within the data — with the range set and with autorange', async function () {
    if (!hasChromium()) {
      console.log(`      (skipped: no Chromium at ${chromiumPath()}; install Debian chromium: apt-get install chromium, or set LGD_CHROMIUM)`);
      this.skip();
    }
    this.timeout(120_000);
    const fig = convergence();
    const drawn = await plottedAxes(fig);
    assert.equal(drawn.xaxis.type, 'log');
    assertWithinData(drawn.xaxis.range, fig);
    // without the explicit range, plotly's autorange also covers the annotations: they must sit
    // at the horizons (in decades), not at 10^8 and 10^10 as they did
    const auto = { ...fig, layout: { ...fig.layout, xaxis: { ...(fig.layout as unknown as Layout).xaxis, range: undefined, autorange: true } } };
    const autoDrawn = await plottedAxes(auto);
    assertWithinData(autoDrawn.xaxis.range, fig, 0.25);
    // the PNG export (what results/figures holds) draws the same figure
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-axes-'));
    try {
      const files = await saveFigure(fig, 'log_step_axis', { dir, formats: ['png'] });
      assert.ok(fs.statSync(files.png as string).size > 1000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a long legend name beside the plot widens the page instead of squeezing the plot (drawn in Chromium)', async function () {
    const long = 'RIM, F = 48 at 12k steps, fine-tuned at T = 16 (ours), T=16';
    const series = [
      { name: 'RIM (ours), T=8', y: [27, 28, 28.5] },
      { name: long, y: [27.5, 28.2, 28.6] },
    ];
    // short names keep the default page; a right-hand legend with a long name grows it, an
    // explicit width or a legend below does not
    assert.equal((lineFigure({ series: [series[0], { name: 'LGD', y: [1, 2, 3] }] }).layout as { width?: number }).width, undefined);
    const wide = lineFigure({ series, title: 'PSNR vs step' });
    assert.ok(((wide.layout as { width?: number }).width ?? 0) > 900, `width ${(wide.layout as { width?: number }).width}`);
    assert.equal((lineFigure({ series, width: 640 }).layout as { width?: number }).width, 640);
    assert.equal((lineFigure({ series, legend: 'below' }).layout as { width?: number }).width, undefined);
    if (!hasChromium()) {
      console.log(`      (drawing skipped: no Chromium at ${chromiumPath()})`);
      return;
    }
    this.timeout(120_000);
    const narrow = await plottedAxes({ ...wide, layout: { ...wide.layout, width: 720 } });
    const drawn = await plottedAxes(wide);
    assert.ok(narrow.plot.width < 300, `at 720 px the plot was ${narrow.plot.width} px wide (the defect this guards against)`);
    assert.ok(drawn.plot.width >= 380, `the widened page leaves the plot ${drawn.plot.width} px`);
  });
});
