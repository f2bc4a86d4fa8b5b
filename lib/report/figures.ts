/**
 * Plotly figures: inline display in notebooks, and export to standalone HTML, PNG and SVG.
 *
 * PNG/SVG are rendered by headless Chromium (Debian `chromium`, driven by playwright-core) with the
 * local `plotly.js-dist-min` loaded into one page; the browser is launched lazily on first use,
 * reused across calls, and closed by {@link closeBrowser}, after an idle delay outside notebooks
 * (so scripts can exit), or at process exit.
 */
import * as fs from 'fs';
import * as path from 'path';
import { projectRoot, resultsDir } from '../io/paths';
import { setting } from '../settings';
import type { Browser, Page } from 'playwright-core';
import { writeFileAtomic } from '../io/image';
import { escapeHtml, isNotebook, jsonForScript, showBundle } from './display';

/** A plotly.js figure: traces and layout, as passed to `Plotly.newPlot`. */
export interface Figure {
  /** Plotly traces, e.g. `{ type: 'scatter', mode: 'lines', name, x, y }`. */
  data: Array<Record<string, unknown>>;
  /** Plotly layout (use `title: { text }`; plotly.js 3 dropped string titles). */
  layout?: Record<string, unknown>;
  /** Plotly config for interactive views (e.g. `{ displaylogo: false }`). */
  config?: Record<string, unknown>;
}

/** Static image formats Chromium renders. */
export type ImageFormat = 'png' | 'svg';
/** Formats {@link saveFigure} writes. */
export type FigureFormat = 'html' | ImageFormat;

/** Default size of rendered figures, in CSS pixels. */
export const DEFAULT_FIGURE_SIZE = { width: 720, height: 450 } as const;

// ---------------------------------------------------------------------------------------------
// plotly.js source
// ---------------------------------------------------------------------------------------------

let plotlySource: string | undefined;

/** Path of the local plotly.js bundle (`plotly.js-dist-min`). */
export function plotlyPath(): string {
  return require.resolve('plotly.js-dist-min');
}

/** The plotly.js bundle's source (about 4.7 MB), read once. */
function plotlyJs(): string {
  if (plotlySource === undefined) plotlySource = fs.readFileSync(plotlyPath(), 'utf8');
  return plotlySource;
}

/**
 * A `<script>` that defines `window.Plotly` from the local bundle, guarded so that it
 * (a) does nothing if Plotly is already loaded, and (b) sees no CommonJS/AMD globals
 * (`module`, `exports`, `define`, e.g. RequireJS in classic Notebook), so the bundle always
 * installs itself as `window.Plotly` instead of registering as a module.
 */
function plotlyScriptTag(): string {
  const src = plotlyJs();
  if (/<\/script/i.test(src)) throw new Error('plotly.js bundle contains "</script"; cannot inline it');
  return `<script type="text/javascript">if (!window.Plotly) { (function (module, exports, define, require) {\n${src}\n}).call(window); }</script>`;
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium
// ---------------------------------------------------------------------------------------------

/** Chromium flags: headless, no sandbox (root in containers), no network side traffic. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Path of the Chromium binary: `LGD_CHROMIUM` if set, else `/usr/bin/chromium` (Debian package).
 */
export function chromiumPath(): string {
  return setting('LGD_CHROMIUM') ?? '/usr/bin/chromium';
}

/** True if the Chromium binary ({@link chromiumPath}) exists. */
export function hasChromium(): boolean {
  return fs.existsSync(chromiumPath());
}

interface Renderer {
  browser: Browser;
  page: Page;
}

let renderer: Promise<Renderer> | undefined;
let queue: Promise<unknown> = Promise.resolve();
let idleTimer: NodeJS.Timeout | undefined;
let lastTimings: { launchMs: number; plotlyLoadMs: number } | undefined;

/**
 * Idle time after which the browser is closed: `LGD_BROWSER_IDLE_MS` if set; else 10 minutes in a
 * notebook kernel (which lives on) and 2 s elsewhere (an open browser keeps node from exiting).
 */
function idleMs(): number {
  return setting('LGD_BROWSER_IDLE_MS') ?? (isNotebook() ? 10 * 60 * 1000 : 2000);
}

async function launch(): Promise<Renderer> {
  const exe = chromiumPath();
  if (!fs.existsSync(exe)) {
    throw new Error(
      `Chromium not found at ${exe} (needed to render figures to PNG/SVG): install Debian chromium: ` +
        'apt-get install chromium, or set LGD_CHROMIUM to the path of a Chromium/Chrome binary',
    );
  }
  // Loaded lazily: playwright-core is only needed for image export.
  const { chromium } = await import('playwright-core');
  const t0 = Date.now();
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS, timeout: 60000 });
  } catch (err) {
    throw new Error(`cannot launch Chromium at ${exe}: ${(err as Error).message.split('\n')[0]}`);
  }
  const t1 = Date.now();
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>');
    await page.addScriptTag({ content: plotlyJs() });
    const ok = await page.evaluate(() => typeof (window as unknown as { Plotly?: unknown }).Plotly === 'object');
    if (!ok) throw new Error('plotly.js did not load in the page');
    lastTimings = { launchMs: t1 - t0, plotlyLoadMs: Date.now() - t1 };
    browser.on('disconnected', () => {
      renderer = undefined;
    });
    page.on('crash', () => {
      // A crashed renderer cannot be reused: drop this browser; the next render launches a new one.
      renderer = undefined;
      void browser.close().catch(() => undefined);
    });
    return { browser, page };
  } catch (err) {
    await browser.close().catch(() => undefined);
    throw err;
  }
}

/** Whether a browser is open or launching (a function, so TS does not narrow across awaits). */
function browserOpen(): boolean {
  return renderer !== undefined;
}

function scheduleIdleClose(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    void closeBrowser();
  }, idleMs());
}

/** Runs `task` with the shared page, one task at a time. */
function withPage<T>(task: (page: Page) => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    if (idleTimer) {
      clearTimeout(idleTimer);
      idleTimer = undefined;
    }
    if (!renderer) {
      renderer = launch();
      renderer.catch(() => {
        renderer = undefined;
      });
    }
    try {
      const { page } = await renderer;
      return await task(page);
    } finally {
      if (browserOpen()) scheduleIdleClose();
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/**
 * Closes the shared headless browser (no-op if none is open). Call it at the end of scripts/tests;
 * the next render launches a new one.
 */
export async function closeBrowser(): Promise<void> {
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  const current = renderer;
  renderer = undefined;
  if (!current) return;
  try {
    const { browser } = await current;
    await browser.close();
  } catch {
    // launch failed or browser already gone: nothing to close
  }
}

/**
 * Timings of the last browser start, in ms: Chromium launch and loading plotly.js into the page
 * (undefined before the first render).
 */
export function browserTimings(): { launchMs: number; plotlyLoadMs: number } | undefined {
  return lastTimings ? { ...lastTimings } : undefined;
}

/** Options of {@link renderFigure}. */
export interface RenderOptions {
  /** Width in CSS pixels; default: `layout.width`, else 720. */
  width?: number;
  /** Height in CSS pixels; default: `layout.height`, else 450. */
  height?: number;
  /** PNG pixel ratio (2 = twice the pixels, same layout); default 1. Ignored for SVG. */
  scale?: number;
}

function figureSize(fig: Figure, options: RenderOptions): { width: number; height: number } {
  const layout = fig.layout ?? {};
  const width = options.width ?? (typeof layout.width === 'number' ? layout.width : DEFAULT_FIGURE_SIZE.width);
  const height = options.height ?? (typeof layout.height === 'number' ? layout.height : DEFAULT_FIGURE_SIZE.height);
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`figure ${k} must be a positive number, got ${v}`);
  }
  return { width, height };
}

function checkFigure(fig: Figure): void {
  if (!fig || !Array.isArray(fig.data)) throw new Error('a Figure needs a `data` array of plotly traces');
}

/**
 * Renders a figure to PNG bytes or an SVG document with headless Chromium + plotly.js
 * (`Plotly.toImage`). Launches the shared browser on first use.
 * @throws if Chromium is missing (message says how to install it / set `LGD_CHROMIUM`) or plotly fails.
 */
export async function renderFigure(fig: Figure, format: 'png', options?: RenderOptions): Promise<Buffer>;
export async function renderFigure(fig: Figure, format: 'svg', options?: RenderOptions): Promise<string>;
export async function renderFigure(fig: Figure, format: ImageFormat, options: RenderOptions = {}): Promise<Buffer | string> {
  checkFigure(fig);
  const { width, height } = figureSize(fig, options);
  const scale = options.scale ?? 1;
  const figure = { data: fig.data, layout: fig.layout ?? {} };
  const url = await withPage((page) =>
    page
      .evaluate(
        async ({ figure, opts }) => {
          const P = (window as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
          return P.toImage(figure, opts);
        },
        { figure, opts: { format, width, height, scale } },
      )
      .catch((err: Error) => {
        throw new Error(`plotly could not render the figure as ${format}: ${err.message.split('\n')[0]}`);
      }),
  );
  if (format === 'png') {
    const m = /^data:image\/png;base64,(.*)$/s.exec(url);
    if (!m) throw new Error(`unexpected PNG data URL from plotly: ${url.slice(0, 40)}`);
    return Buffer.from(m[1], 'base64');
  }
  const prefix = 'data:image/svg+xml,';
  if (!url.startsWith(prefix)) throw new Error(`unexpected SVG data URL from plotly: ${url.slice(0, 40)}`);
  return decodeURIComponent(url.slice(prefix.length));
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/**
 * A standalone HTML page showing the figure interactively, with plotly.js inlined (about 4.7 MB;
 * opens offline).
 */
export function figureHtml(fig: Figure, title = 'figure', plotlySrc?: string): string {
  checkFigure(fig);
  const config = { responsive: true, displaylogo: false, ...(fig.config ?? {}) };
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>html,body{margin:0;height:100%}#figure{width:100%;height:100%}</style>',
    plotlySrc ? `<script src="${escapeHtml(plotlySrc)}"></script>` : plotlyScriptTag(),
    '</head><body><div id="figure"></div>',
    `<script>Plotly.newPlot("figure", ${jsonForScript(fig.data)}, ${jsonForScript(fig.layout ?? {})}, ${jsonForScript(config)});</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * The `<script src>` that an HTML figure saved in `dir` uses to load plotly: a relative link to
 * the project's installed `plotly.js-dist-min` (so committed figures stay small; they open in a
 * browser from any clone after `npm ci`), or undefined (inline plotly) when `dir` is outside the
 * project.
 */
function plotlyLink(dir: string): string | undefined {
  const rel = path.relative(path.resolve(dir), plotlyPath());
  const inside = !path.relative(projectRoot(), path.resolve(dir)).startsWith('..');
  return inside ? rel.split(path.sep).join('/') : undefined;
}

/** Options of {@link saveFigure}. */
export interface SaveFigureOptions extends RenderOptions {
  /** Inline plotly.js (about 4.8 MB) in the HTML file instead of linking the installed copy (default false; figures saved outside the project always inline it). */
  inlinePlotly?: boolean;
  /** Output folder; default `results/figures` of the project. */
  dir?: string;
  /** Formats to write; default `['html', 'png', 'svg']`. */
  formats?: FigureFormat[];
  /** Also show the figure inline when in a notebook (default true). */
  show?: boolean;
}

/** Default folder of saved figures and image grids. */
/** Where figures go by default: `results/figures` of the project (whatever the cwd; see `resultsDir`). */
export function figuresDir(): string {
  return path.join(resultsDir(), 'figures');
}

/** Checks a file base name: non-empty, no folders, no characters that are unsafe in file names. */
export function checkName(name: string, what: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    throw new Error(`${what}: invalid name ${JSON.stringify(name)} (use letters, digits, '.', '_', '-'; no folders)`);
  }
}

/**
 * Saves a figure as `<dir>/<name>.html` (standalone, plotly inlined), `.png` and `.svg`
 * (rendered by headless Chromium), each written atomically; shows it inline in notebooks.
 * @returns The paths written, by format.
 * @example
 * await saveFigure(lineFigure({ title: 'PSNR vs iteration', xLabel: 'iteration', yLabel: 'PSNR (dB)',
 *   series: [{ name: 'LGD', y: psnrs }] }), 'convergence', { formats: ['png', 'svg'] });
 */
export async function saveFigure(fig: Figure, name: string, options: SaveFigureOptions = {}): Promise<Partial<Record<FigureFormat, string>>> {
  checkName(name, 'saveFigure');
  checkFigure(fig);
  const dir = options.dir ?? figuresDir();
  const formats = options.formats ?? ['html', 'png', 'svg'];
  const known: FigureFormat[] = ['html', 'png', 'svg'];
  for (const f of formats) {
    if (!known.includes(f)) throw new Error(`saveFigure: unknown format ${JSON.stringify(f)} (use ${known.join(', ')})`);
  }
  const written: Partial<Record<FigureFormat, string>> = {};
  let png: Buffer | undefined;
  for (const format of formats) {
    const file = path.join(dir, `${name}.${format}`);
    if (format === 'html') writeFileAtomic(file, figureHtml(fig, name, options.inlinePlotly ? undefined : plotlyLink(dir)));
    else if (format === 'png') writeFileAtomic(file, (png = await renderFigure(fig, 'png', options)));
    else writeFileAtomic(file, await renderFigure(fig, 'svg', options));
    written[format] = file;
  }
  if (options.show !== false && isNotebook()) await showFigure(fig, { ...options, png });
  return written;
}

// ---------------------------------------------------------------------------------------------
// Inline display
// ---------------------------------------------------------------------------------------------

const PLOTLY_LOADED = Symbol.for('lgd.report.plotlyInlined');

/** How {@link showFigure} provides plotly.js to the notebook page. */
export type PlotlyInlineMode = 'once' | 'always' | 'never';

function inlineMode(): PlotlyInlineMode {
  return setting('LGD_PLOTLY_INLINE');
}

/**
 * Sends plotly.js (inlined, about 4.7 MB) to the notebook page as its own output, so interactive
 * figures can draw. {@link showFigure} calls it once per kernel session; call it again after
 * clearing that output or reloading the page if figures show only their static PNG.
 * @returns true if sent; false outside a notebook.
 */
export function loadPlotly(): boolean {
  const shown = showBundle({
    'text/html': plotlyScriptTag(),
    'text/plain': 'plotly.js loaded',
  });
  if (shown) (globalThis as Record<symbol, unknown>)[PLOTLY_LOADED] = true;
  return shown;
}

/** Options of {@link showFigure}. */
export interface ShowFigureOptions extends RenderOptions {
  /** Include the interactive plotly view (default true; `LGD_PLOTLY_INLINE=never` turns it off). */
  interactive?: boolean;
  /** A PNG already rendered for this figure; else one is rendered if Chromium exists. */
  png?: Buffer;
}

let warnedNoChromium = false;

/**
 * Shows a figure inline in a tslab notebook as one output bundle:
 * - `application/vnd.plotly.v1+json` (rendered natively by JupyterLab/VS Code plotly renderers),
 * - `text/html`: a div drawn by plotly.js, which is sent to the page once per kernel session
 *   ({@link loadPlotly}); the div holds the static PNG until Plotly is available,
 * - `image/png` (static viewers, e.g. GitHub, untrusted notebooks), rendered by headless Chromium,
 * - `text/plain` (a one-line summary).
 * No-op outside a notebook.
 * @returns true if shown.
 */
export async function showFigure(fig: Figure, options: ShowFigureOptions = {}): Promise<boolean> {
  checkFigure(fig);
  if (!isNotebook()) return showBundle({ 'text/plain': 'figure' }); // no-op (prints the LGD_DISPLAY_NOTES note)
  const { width, height } = figureSize(fig, options);
  let png = options.png;
  if (!png) {
    if (hasChromium()) png = await renderFigure(fig, 'png', { ...options, width, height });
    else if (!warnedNoChromium) {
      warnedNoChromium = true;
      console.log(`[report] no Chromium at ${chromiumPath()}: figures have no static PNG (apt-get install chromium, or set LGD_CHROMIUM)`);
    }
  }
  const mode = inlineMode();
  const interactive = options.interactive !== false && mode !== 'never';
  const layout = fig.layout ?? {};
  const titleObj = layout.title as { text?: string } | string | undefined;
  const title = typeof titleObj === 'string' ? titleObj : titleObj?.text ?? '';
  const bundle: Record<string, string | Uint8Array | object> = {
    'text/plain': `<Figure${title ? ` "${title}"` : ''}: ${fig.data.length} trace(s)>`,
  };
  if (png) bundle['image/png'] = png;
  if (interactive) {
    if (mode === 'always' || !(globalThis as Record<symbol, unknown>)[PLOTLY_LOADED]) loadPlotly();
    bundle['application/vnd.plotly.v1+json'] = { data: fig.data, layout: { width, height, ...layout }, config: fig.config ?? {} };
    const id = `lgd-figure-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const fallback = png
      ? `<img alt="${escapeHtml(title || 'figure')}" style="max-width:100%" src="data:image/png;base64,${png.toString('base64')}">`
      : '';
    const config = { displaylogo: false, ...(fig.config ?? {}) };
    // Poll for window.Plotly: with lazy output rendering the loader output may render later.
    bundle['text/html'] =
      `<div id="${id}" style="width:${width}px;height:${height}px;max-width:100%">${fallback}</div>\n` +
      `<script type="text/javascript">(function () {\n` +
      `  var id = ${jsonForScript(id)}, data = ${jsonForScript(fig.data)}, layout = ${jsonForScript({ width, height, ...layout })}, config = ${jsonForScript(config)};\n` +
      `  var tries = 0;\n` +
      `  function draw() {\n` +
      `    var el = document.getElementById(id);\n` +
      `    if (!el) { if (++tries < 600) setTimeout(draw, 250); return; }\n` +
      `    if (window.Plotly) { el.innerHTML = ''; window.Plotly.newPlot(el, data, layout, config); return; }\n` +
      `    if (++tries < 1200) setTimeout(draw, 250);\n` +
      `  }\n` +
      `  draw();\n` +
      `})();</script>`;
  }
  return showBundle(bundle, png ? { 'image/png': { width, height } } : {});
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/** One curve of a {@link lineFigure}. */
export interface LineSeries {
  /** Legend name. */
  name: string;
  /** x values; default 0, 1, 2, ... (e.g. iterations). */
  x?: ArrayLike<number>;
  /** y values (e.g. PSNR per iteration). */
  y: ArrayLike<number>;
  /** Line dash style, e.g. `'dash'` for reference values. */
  dash?: 'solid' | 'dot' | 'dash' | 'longdash' | 'dashdot';
  /**
   * Line (and marker) colour, e.g. `SERIES_COLORS[k]`; default: plotly's colour cycle. Give two
   * series the same colour and different `dash` to pair them (one method, two measures).
   */
  color?: string;
  /** Leave this series out of the legend (e.g. the dashed twin of a solid series of the same colour). */
  hideInLegend?: boolean;
}

/**
 * The ten colours of plotly's default cycle, for series that should share a colour (see
 * {@link LineSeries.color}).
 */
export const SERIES_COLORS: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Options of {@link lineFigure}. */
export interface LineFigureOptions {
  /** Figure title. */
  title?: string;
  /** x axis label, e.g. `'iteration'`. */
  xLabel?: string;
  /** y axis label, e.g. `'PSNR (dB)'`. */
  yLabel?: string;
  /** Curves. */
  series: LineSeries[];
  /** Logarithmic y axis (e.g. for losses). */
  logY?: boolean;
  /**
   * Logarithmic x axis (e.g. steps 1…1000, or a weight λ), with its range set to the data's
   * positive x values (padded by 3% of the span in decades), so that annotations or shapes cannot
   * stretch it. Annotations on a log axis take `log10(x)` (see {@link logAxisPosition}).
   */
  logX?: boolean;
  /** Show markers on the points (default: when every series has at most 50 points). */
  markers?: boolean;
  /**
   * Where the legend goes: `'right'` (default, one column beside the plot) or `'below'` (under
   * the x axis, so that long names or many series do not squeeze the plot).
   */
  legend?: 'right' | 'below';
  /**
   * Show the legend (default: when there are at least two series). `true` names even a single
   * curve, where the title alone would not say which model it is.
   */
  showLegend?: boolean;
  /** Width in CSS pixels (default 720, wider when a right-hand legend has a long name: the plot keeps about 420 px). */
  width?: number;
  /** Height in CSS pixels (default 450). */
  height?: number;
}

/**
 * The project's axis style (light grid, outside ticks; `automargin`: long tick labels such as
 * 0.000001 push the margin instead of running into the axis title), for {@link lineFigure} and
 * hand-built layouts such as multi-panel figures.
 */
export const AXIS_STYLE = { showgrid: true, gridcolor: '#e5e5e5', zeroline: false, linecolor: '#444', ticks: 'outside', automargin: true } as const;

/** The project's page style (font, white paper and plot), for {@link lineFigure} and hand-built layouts. */
export const PAGE_STYLE = {
  font: { family: 'DejaVu Sans, Liberation Sans, Arial, sans-serif', size: 13 },
  paper_bgcolor: 'white',
  plot_bgcolor: 'white',
} as const;

/**
 * Builds a line plot, e.g. a convergence plot (quality vs iteration) with one curve per method.
 * @example
 * lineFigure({ title: 'Convergence on Set12, σ=25', xLabel: 'iteration', yLabel: 'PSNR (dB)',
 *   series: [{ name: 'LGD', y: [24.1, 27.9, 29.3] }, { name: 'gradient descent', y: gd }] })
 */
export function lineFigure(options: LineFigureOptions): Figure {
  if (!options || !Array.isArray(options.series) || options.series.length === 0) {
    throw new Error('lineFigure: `series` must be a non-empty array of { name, x?, y }');
  }
  const markers = options.markers ?? options.series.every((s) => s.y.length <= 50);
  if (options.legend !== undefined && options.legend !== 'right' && options.legend !== 'below') {
    throw new Error(`lineFigure: legend must be 'right' or 'below', got ${JSON.stringify(options.legend)}`);
  }
  const below = options.legend === 'below';
  const data = options.series.map((s, i) => {
    if (!s || s.y == null || typeof s.y.length !== 'number') throw new Error(`lineFigure: series ${i} has no y values`);
    const y = Array.from(s.y, Number);
    const x = s.x ? Array.from(s.x, Number) : y.map((_, j) => j);
    if (x.length !== y.length) {
      throw new Error(`lineFigure: series ${i} ("${s.name}") has ${x.length} x values but ${y.length} y values`);
    }
    return {
      type: 'scatter',
      mode: markers ? 'lines+markers' : 'lines',
      name: s.name,
      x,
      y,
      line: { ...(s.dash ? { dash: s.dash } : {}), ...(s.color ? { color: s.color } : {}) },
      ...(s.color ? { marker: { color: s.color } } : {}),
      ...(s.hideInLegend ? { showlegend: false } : {}),
    };
  });
  // Integer x over a short span (e.g. a few iterations): one tick per integer, no "0.5" ticks.
  const xs = data.flatMap((d) => d.x);
  const integerX = xs.length > 0 && xs.every((v) => Number.isInteger(v)) && Math.max(...xs) - Math.min(...xs) <= 12;
  const xaxis: Record<string, unknown> = { title: { text: options.xLabel ?? '' }, ...(integerX && !options.logX ? { dtick: 1 } : {}), ...AXIS_STYLE };
  if (options.logX) {
    const positive = xs.filter((v) => v > 0 && Number.isFinite(v));
    if (positive.length === 0) throw new Error('lineFigure: logX needs positive x values, and no series has any');
    const [lo, hi] = [Math.min(...positive), Math.max(...positive)];
    const tickvals = logTicks(lo, hi);
    // labelled ticks at 1-2-5 values: plotly's own would label minor ticks ('9' for 0.9) on short spans
    Object.assign(xaxis, { type: 'log', range: logRange(lo, hi), tickvals, ticktext: tickvals.map((v) => String(v)) });
  }
  const yaxisLog = options.logY ? logAxisTicks(data.flatMap((d) => d.y)) : {};
  const layout: Record<string, unknown> = {
    ...PAGE_STYLE,
    margin: { l: 70, r: 20, t: options.title ? 60 : 20, b: below ? 80 : 60 },
    xaxis,
    yaxis: {
      title: { text: options.yLabel ?? '' },
      type: options.logY ? 'log' : 'linear',
      ...yaxisLog,
      ...AXIS_STYLE,
    },
    // below: under the x axis title (paper y < 0), left-aligned, one entry per line
    legend: below ? { orientation: 'v', x: 0, xanchor: 'left', y: -0.13, yanchor: 'top' } : { orientation: 'v' },
    showlegend: options.showLegend ?? data.length > 1,
  };
  if (options.title) layout.title = { text: options.title };
  const legendEntries = data.filter((d) => !('showlegend' in d)); // hideInLegend series set showlegend: false
  if (options.width) layout.width = options.width;
  else if (!below && layout.showlegend) {
    // a right-hand legend takes its longest name's width from the plot: a 60-character name
    // (about 7 px a character at 13 px) would leave 200 of the 720 px; widen the page so that the
    // plot keeps about 420 px
    const longest = Math.max(0, ...legendEntries.map((d) => String(d.name ?? '').length));
    const needed = Math.ceil(70 + 420 + 60 + 7 * longest);
    if (needed > DEFAULT_FIGURE_SIZE.width) layout.width = needed;
  }
  if (options.height) layout.height = options.height;
  // a legend below takes its lines from the plot: grow the default height with them
  else if (below) layout.height = 450 + 22 * legendEntries.length;
  return { data, layout };
}

/**
 * The range of a log axis in plotly's units (decades, `log10`) that spans `[min, max]` with
 * `pad` of the span (at least 0.05 decade) on each side.
 * @param min the smallest positive value shown
 * @param max the largest value shown
 * @throws if `min` is not positive or `max < min`
 * @example
 * logRange(1, 100); // [-0.06, 2.06]
 */
export function logRange(min: number, max: number, pad = 0.03): [number, number] {
  if (!(min > 0) || !(max >= min) || !Number.isFinite(max)) throw new Error(`logRange: expected 0 < min <= max, got min ${min}, max ${max}`);
  const lo = Math.log10(min);
  const hi = Math.log10(max);
  const margin = Math.max(pad * (hi - lo), 0.05);
  return [lo - margin, hi + margin];
}

/**
 * Labelled ticks for a log axis over `values` (the positive finite ones): 1-2-5 values, or powers
 * of ten only over many decades. Plotly's own label minor ticks by their first digit ('2' for 0.2
 * beside '0.1'), which reads as a value. Empty when fewer than two ticks would show.
 * @example
 * Object.assign(layout.yaxis, logAxisTicks(losses)); // { tickvals: [0.002, 0.005, 0.01], ticktext: [...] }
 */
export function logAxisTicks(values: readonly unknown[]): { tickvals?: number[]; ticktext?: string[] } {
  const ys = values.filter((v): v is number => typeof v === 'number' && v > 0 && Number.isFinite(v));
  if (ys.length === 0) return {};
  let tickvals = logTicks(Math.min(...ys), Math.max(...ys));
  if (tickvals.length > 12) tickvals = tickvals.filter((v) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
  return tickvals.length >= 2 ? { tickvals, ticktext: tickvals.map((v) => String(v)) } : {};
}

/**
 * Tick values for a log axis over `[min, max]`: the 1-2-5 values of each decade inside it, or, when
 * that gives fewer than three, the 1-1.5-2-3-5-7 values, else every 1…9 multiple of the decades.
 * @example
 * logTicks(1, 100);         // [1, 2, 5, 10, 20, 50, 100]
 * logTicks(0.00057, 0.0031); // [0.0007, 0.001, 0.0015, 0.002, 0.003]
 * logTicks(2, 4.5);         // [2, 3, 4]
 */
export function logTicks(min: number, max: number): number[] {
  const pick = (mantissas: number[]): number[] => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(12));
        if (v >= min * (1 - 1e-12) && v <= max * (1 + 1e-12)) out.push(v);
      }
    }
    return out;
  };
  // 1-2-5 first; then 1-1.5-2-3-5-7 (about evenly spread in log: every 1…9 multiple crowds the top
  // of a decade, 0.0008 / 0.0009 / 0.001 printing into each other); then every 1…9 multiple
  for (const mantissas of [[1, 2, 5], [1, 1.5, 2, 3, 5, 7]]) {
    const ticks = pick(mantissas);
    if (ticks.length >= 3) return ticks;
  }
  return pick([1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

/**
 * Where a value sits on an axis in plotly's coordinates for annotations: `log10(value)` on a log
 * axis (plotly places annotations and axis ranges in decades there, while traces and shapes take
 * data values), the value itself on a linear one.
 * @example
 * { x: logAxisPosition(8, true), xref: 'x', text: 'T = 8' } // x = 0.903
 */
export function logAxisPosition(value: number, log: boolean): number {
  return log ? Math.log10(value) : value;
}

/**
 * The axis ranges and types that plotly computes when it draws `fig` (its `_fullLayout`), read in
 * the headless Chromium that renders PNG/SVG — what the exported images show, autorange included.
 * Ranges of log axes are in decades.
 * @throws if Chromium is missing or plotly fails (as {@link renderFigure})
 * @example
 * const { xaxis } = await plottedAxes(fig); // { type: 'log', range: [-0.06, 2.06] }
 */
export async function plottedAxes(fig: Figure): Promise<{ xaxis: { type: string; range: [number, number] }; yaxis: { type: string; range: [number, number] }; plot: { width: number; height: number } }> {
  checkFigure(fig);
  const { width, height } = figureSize(fig, {});
  const figure = { data: fig.data, layout: { ...(fig.layout ?? {}), width, height } };
  return withPage((page) =>
    page
      .evaluate(async (figure) => {
        type Axis = { type: string; range: [number, number] };
        const P = (window as unknown as { Plotly: { newPlot(el: HTMLElement, d: unknown, l: unknown): Promise<unknown>; purge(el: HTMLElement): void } }).Plotly;
        const el = document.createElement('div');
        document.body.appendChild(el);
        try {
          await P.newPlot(el, figure.data, figure.layout);
          // (no named functions in here: the page does not have the bundler's `__name` helper)
          const { xaxis: x, yaxis: y, _size: size } = (el as unknown as { _fullLayout: { xaxis: Axis; yaxis: Axis; _size: { w: number; h: number } } })._fullLayout;
          return {
            plot: { width: Number(size.w), height: Number(size.h) },
            xaxis: { type: x.type, range: [Number(x.range[0]), Number(x.range[1])] as [number, number] },
            yaxis: { type: y.type, range: [Number(y.range[0]), Number(y.range[1])] as [number, number] },
          };
        } finally {
          P.purge(el);
          el.remove();
        }
      }, figure)
      .catch((err: Error) => {
        throw new Error(`plotly could not draw the figure: ${err.message.split('\n')[0]}`);
      }),
  );
}
