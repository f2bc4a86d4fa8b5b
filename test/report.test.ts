import { initEngine } from '../lib/engine';
import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { tf } from '../lib/engine/tf';
import {
  ResultRow,
  TABLE_COLUMNS,
  browserTimings,
  chromiumPath,
  closeBrowser,
  figureHtml,
  hasChromium,
  captionLayout,
  imageGrid,
  wrapLine,
  isNotebook,
  lineFigure,
  SERIES_COLORS,
  pivotTable,
  readTable,
  saveFigure,
  saveImageGrid,
  saveTable,
  showBundle,
  showFigure,
  tableToCsv,
  validateRows,
} from '../lib/report';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngSize(buf: Buffer): { width: number; height: number } {
  assert.ok(buf.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature');
  assert.equal(buf.toString('latin1', 12, 16), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

const ROWS: ResultRow[] = [
  { task: 'denoise', dataset: 'BSD68', setting: 'sigma=25', method: 'LGD', psnr: 28.912345, ssim: 0.8123, source: 'measured' },
  { task: 'denoise', dataset: 'BSD68', setting: 'sigma=25', method: 'DnCNN', psnr: 29.23, ssim: null, source: 'Zhang et al., "Beyond a Gaussian Denoiser" 2017, Table 3' },
  { task: 'denoise', dataset: 'Set12', setting: 'sigma=25', method: 'LGD', psnr: 30.1, ssim: 0.85, source: 'measured' },
  { task: 'denoise', dataset: 'BSD68', setting: 'sigma=50', method: 'LGD', psnr: 25.5, ssim: 0.7, source: 'measured' },
  { task: 'denoise', dataset: 'BSD68', setting: 'sigma=25', method: 'DnCNN', psnr: 29.1, ssim: 0.82, source: 'measured' },
];

describe('report', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-report-'));
  });
  after(async () => {
    await closeBrowser();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('display', () => {
    it('is off outside a tslab kernel and show* calls are no-ops', () => {
      assert.equal(isNotebook(), false);
      assert.equal(showBundle({ 'text/plain': 'x' }), false);
    });
  });

  describe('tables', () => {
    it('round-trips through csv with exact columns and row order', () => {
      const files = saveTable(ROWS, 'denoise', { dir });
      assert.equal(files.csv, path.join(dir, 'denoise.csv'));
      const csv = fs.readFileSync(files.csv, 'utf8');
      const lines = csv.trimEnd().split('\n');
      assert.equal(lines[0], 'task,dataset,setting,method,psnr,ssim,source,params');
      assert.equal(lines.length, ROWS.length + 1);
      assert.equal(lines[1], 'denoise,BSD68,sigma=25,LGD,28.912345,0.8123,measured,');
      assert.equal(lines[2], 'denoise,BSD68,sigma=25,DnCNN,29.23,,"Zhang et al., ""Beyond a Gaussian Denoiser"" 2017, Table 3",');
      assert.deepEqual(readTable('denoise', { dir }), ROWS);
      assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temp files left');
    });

    it('writes a pivoted markdown table with source footnotes', () => {
      saveTable(ROWS, 'denoise-md', { dir, title: 'Gaussian denoising' });
      const md = fs.readFileSync(path.join(dir, 'denoise-md.md'), 'utf8');
      assert.match(md, /^### Gaussian denoising/);
      assert.match(md, /Task: denoise/);
      assert.match(md, /\| dataset \| setting \| LGD \| DnCNN \[1\] \| DnCNN \|/);
      assert.match(md, /\| BSD68 \| sigma=25 \| 28\.91 \/ 0\.8123 \| 29\.23 \/ – \| 29\.10 \/ 0\.8200 \|/);
      assert.match(md, /\| Set12 \| sigma=25 \| 30\.10 \/ 0\.8500 \|  \|  \|/);
      assert.match(md, /\| BSD68 \| sigma=50 \| 25\.50 \/ 0\.7000 \|/);
      assert.match(md, /\[1\] Zhang et al\., "Beyond a Gaussian Denoiser" 2017, Table 3/);
      const p = pivotTable(ROWS);
      assert.deepEqual(p.keyColumns, ['dataset', 'setting']);
      assert.equal(p.rows.length, 3);
    });

    it('adds a task column when there are several tasks', () => {
      const rows = [...ROWS, { task: 'deblur', dataset: 'Set12', setting: 'gauss-1.6', method: 'LGD', psnr: 27, ssim: 0.8, source: 'measured' }];
      assert.deepEqual(pivotTable(rows).keyColumns, ['task', 'dataset', 'setting']);
      assert.match(tableToCsv(rows), /\ndeblur,Set12,gauss-1\.6,LGD,27,0\.8,measured,\n$/);
    });

    it('rejects invalid rows with errors naming row and column', () => {
      const bad = (patch: Record<string, unknown>): ResultRow[] => [ROWS[0], { ...ROWS[2], ...patch } as unknown as ResultRow];
      assert.throws(() => saveTable(bad({ psnr: 'high' }), 'bad', { dir }), /row 1 \(method "LGD"\): column "psnr" must be a finite number or null/);
      assert.throws(() => validateRows(bad({ PSNR: 3 })), /row 1 .*unknown column "PSNR"/);
      assert.throws(() => validateRows(bad({ source: '' })), /row 1 .*column "source" must be a non-empty string/);
      assert.throws(() => validateRows(bad({ ssim: 1.5 })), /column "ssim" = 1\.5 is outside \[-1, 1\]/);
      assert.throws(() => validateRows(bad({ psnr: null, ssim: null })), /both missing/);
      assert.throws(() => validateRows([ROWS[0], ROWS[0]]), /row 1 .*duplicate of row 0/);
      const missing = { ...ROWS[0] } as Partial<ResultRow>;
      delete missing.dataset;
      assert.throws(() => validateRows([missing as ResultRow]), /row 0 .*missing column "dataset"/);
      assert.ok(!fs.existsSync(path.join(dir, 'bad.csv')), 'nothing written for invalid rows');
    });

    it('rejects a csv with a wrong header', () => {
      fs.writeFileSync(path.join(dir, 'wrong.csv'), 'task,dataset,method,psnr\n');
      assert.throws(() => readTable('wrong', { dir }), /header is "task,dataset,method,psnr", expected "task,dataset,setting,method,psnr,ssim,source,params"/);
    });

    it("carries a method's chosen settings (params, e.g. TV's λ) through csv and into the markdown cell; reads seven-column tables too", () => {
      const rows: ResultRow[] = [
        { task: 'denoise', dataset: 'BSD68', setting: 'sigma=25', method: 'TV (L-BFGS)', psnr: 27.45, ssim: 0.75, source: 'measured', params: 'λ=8, ε=0.01' },
        { task: 'denoise', dataset: 'BSD68', setting: 'sigma=50', method: 'TV (L-BFGS)', psnr: 24.74, ssim: 0.64, source: 'measured', params: 'λ=4' },
        { task: 'denoise', dataset: 'BSD68', setting: 'sigma=25', method: 'RIM', psnr: 28.9, ssim: 0.8, source: 'measured' },
      ];
      saveTable(rows, 'params', { dir });
      const csv = fs.readFileSync(path.join(dir, 'params.csv'), 'utf8').trimEnd().split('\n');
      assert.equal(csv[1], 'denoise,BSD68,sigma=25,TV (L-BFGS),27.45,0.75,measured,"λ=8, ε=0.01"');
      assert.equal(csv[3], 'denoise,BSD68,sigma=25,RIM,28.9,0.8,measured,');
      assert.deepEqual(readTable('params', { dir }), rows);
      const md = fs.readFileSync(path.join(dir, 'params.md'), 'utf8');
      assert.match(md, /\| BSD68 \| sigma=25 \| 27\.45 \/ 0\.7500 \(λ=8, ε=0\.01\) \| 28\.90 \/ 0\.8000 \|/);
      assert.match(md, /\| BSD68 \| sigma=50 \| 24\.74 \/ 0\.6400 \(λ=4\) \|/);
      assert.match(md, /chosen settings/);
      fs.writeFileSync(path.join(dir, 'old.csv'), 'task,dataset,setting,method,psnr,ssim,source\ndenoise,BSD68,sigma=25,TV,27.45,0.75,measured\n');
      assert.deepEqual(readTable('old', { dir }), [{ task: 'denoise', dataset: 'BSD68', setting: 'sigma=25', method: 'TV', psnr: 27.45, ssim: 0.75, source: 'measured' }]);
      assert.throws(() => validateRows([{ ...rows[0], params: 'a\nb' }]), /row 0 .*column "params" must be a one-line string/);
    });

    it('loading the whole library and making tables loads neither danfojs nor a second tfjs bundle (the @tensorflow/tfjs-node alias)', () => {
      // A fresh process: what `import 'lgd-workspace'` pulls in, and every table function used once.
      const code = [
        "const lib = require('./lib');",
        "const rows = [{ task: 'denoise', dataset: 'BSD68', setting: 'sigma=25', method: 'TV', psnr: 27.45, ssim: 0.75, source: 'measured' }];",
        'lib.tableToMarkdown(rows); lib.tableToHtml(rows); lib.csvToTable(lib.tableToCsv(rows));',
        "const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](danfojs|@tensorflow[\\\\/]tfjs-node)/.test(f));",
        'console.log(JSON.stringify({ modules: Object.keys(require.cache).length, loaded }));',
      ].join('\n');
      const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8', env: { ...process.env, LGD_ENGINE_QUIET: '1' } });
      const { modules, loaded } = JSON.parse(out.trim().split('\n').pop() as string);
      assert.ok(modules > 50, `the library loaded only ${modules} modules: the probe did not run`);
      assert.deepEqual(loaded, []);
    });
  });

  describe('image grid', () => {
    it('composes gray and color images with captions into a PNG of the expected size', async () => {
      const gray = tf.fill([20, 30, 1], 0.5);
      const color = tf.randomUniform([1, 20, 30, 3]);
      const small = tf.zeros([10, 10, 1]);
      const grid = await imageGrid(
        [
          { label: 'test001', images: [{ tensor: gray, caption: 'clean' }, { tensor: color, caption: 'noisy 20.17 dB' }] },
          { label: 'test002', images: [{ tensor: small, caption: 'LGD 29.84 dB' }, color] },
        ],
        { scale: 2, gap: 4, fontSize: 12 },
      );
      assert.equal(grid.rows, 2);
      assert.equal(grid.columns, 2);
      assert.deepEqual(grid.captions, [['clean', 'noisy 20.17 dB'], ['LGD 29.84 dB', '']]);
      const size = pngSize(grid.png);
      assert.deepEqual(size, { width: grid.width, height: grid.height });
      // 2 columns of 60 px + gaps + label column; 2 rows of 40 px + caption bands + gaps; 'noisy 20.17 dB'
      // and 'LGD 29.84 dB' are too long for 64 px at 12 px (or 9), so each row's band has a second line (15 px).
      assert.equal(grid.height, 4 + (40 + 18 + 15 + 4) * 2);
      assert.ok(grid.width > 4 + (60 + 4) * 2, `width ${grid.width} includes the label column`);
      const meta = await sharp(grid.png).metadata();
      assert.equal(meta.channels, 3);
      const file = await saveImageGrid(grid, 'grid', { dir });
      assert.equal(file, path.join(dir, 'grid.png'));
      assert.deepEqual(pngSize(fs.readFileSync(file)), size);
      tf.dispose([gray, color, small]);
    });

    it('accepts a flat list of tensors as one row', async () => {
      const a = tf.ones([8, 12, 3]);
      const file = await saveImageGrid([a, a, a], 'flat', { dir, gap: 0 });
      assert.deepEqual(pngSize(fs.readFileSync(file)), { width: 36, height: 8 });
      a.dispose();
    });

    it('rejects a non-image', async () => {
      await assert.rejects(imageGrid([{ images: [tf.zeros([4, 4, 2])] }]), /toUint8: expected an image/);
      await assert.rejects(imageGrid([{ images: [{ caption: 'x' } as never] }]), /row 0, image 0 is not an image/);
    });

    it('wraps a title wider than the grid onto several lines instead of cutting it (quick-size grids)', async () => {
      const title = 'Denoising BSD68 (central 96×96; PSNR of the whole image)';
      const img = tf.zeros([96, 96, 1]);
      const rows = [{ label: 'test001', images: [img, img, img] }];
      const wrapped = await imageGrid(rows, { title });
      const plain = await imageGrid(rows);
      assert.ok(wrapped.titleLines.length > 1, `one line: ${wrapped.titleLines}`);
      assert.equal(wrapped.titleLines.join(' '), title, 'every word of the title is drawn, in order');
      // Each line fits the canvas at the bold title size (0.68 em per character, 14 · 1.3 px), gaps excluded.
      for (const line of wrapped.titleLines) assert.ok(line.length * 14 * 1.3 * 0.68 <= wrapped.width - 12, `"${line}" is wider than ${wrapped.width} px`);
      assert.equal(wrapped.width, plain.width, 'the title does not change the grid width');
      assert.ok(wrapped.height - plain.height >= wrapped.titleLines.length * 14 * 1.3, 'room for every title line');
      const band = tf.zeros([40, 800, 1]);
      const wide = await imageGrid([{ images: [band] }], { title });
      assert.deepEqual(wide.titleLines, [title], 'a title that fits stays on one line');
      assert.deepEqual(wrapLine('abcdefghij k', 4), ['abcd', 'efgh', 'ij k']);
      tf.dispose([img, band]);
    });

    it('wraps a caption too long for its column onto more lines at the full size (a long model name stays readable), and the row grows', async () => {
      const long = 'RIM trained without clipping or rounding (ours) 27.45 dB';
      const layout = captionLayout(long, 240, 14);
      assert.equal(layout.size, 14, 'no shrinking while three lines suffice');
      assert.equal(layout.lines.length, 2, `${layout.lines}`);
      assert.equal(layout.lines.join(' '), long, 'every word drawn, in order');
      for (const line of layout.lines) assert.ok(line.length * 14 * 0.6 <= 240, `"${line}" is wider than its column`);
      const narrow = captionLayout(long, 166, 14); // notebook 02's 160 px crops: four lines at 14 px, three at 13.5
      assert.deepEqual(narrow, { lines: ['RIM trained without', 'clipping or rounding', '(ours) 27.45 dB'], size: 13.5 });
      assert.deepEqual(captionLayout('RIM 27.73 dB', 166, 14), { lines: ['RIM 27.73 dB'], size: 14 }, 'a caption that fits stays on one line');
      assert.deepEqual(captionLayout('noisy input 20.53 dB', 150, 14), { lines: ['noisy input 20.53 dB'], size: 12.5 }, 'slightly too long: one line, a little smaller');
      const small = captionLayout(long, 70, 14); // a quick-size 64 px crop
      assert.ok(small.size < 14, 'a column too narrow for three lines at full size: the caption shrinks');
      assert.equal(small.lines.join(' '), long, 'and keeps every word, the PSNR included');
      const tiny = captionLayout(long, 20, 14);
      const letters = (t: string) => t.replace(/ /g, '');
      assert.deepEqual([tiny.size, letters(tiny.lines.join(''))], [6, letters(long)], 'at 6 px it takes more lines (breaking words) rather than drop any');
      const img = tf.zeros([40, 120, 1]);
      const short = await imageGrid([{ images: [{ tensor: img, caption: 'RIM 27.73 dB' }, img] }], { gap: 4, fontSize: 12 });
      const wrapped = await imageGrid([{ images: [{ tensor: img, caption: long }, img] }], { gap: 4, fontSize: 12 });
      assert.equal(short.height, 4 + 40 + 18 + 4);
      assert.ok(wrapped.height >= short.height + 2 * 12, `the caption band holds the extra lines (${wrapped.height} vs ${short.height})`);
      assert.equal(wrapped.width, short.width, 'the columns keep their width');
      img.dispose();
    });
  });

  describe('figures', () => {
    const fig = lineFigure({
      title: 'PSNR vs iteration',
      xLabel: 'iteration',
      yLabel: 'PSNR (dB)',
      series: [
        { name: 'LGD', y: [20.1, 25.3, 27.8, 28.9] },
        { name: 'gradient descent', x: [0, 1, 2, 3], y: [20.1, 21.0, 21.8, 22.5], dash: 'dash' },
      ],
    });

    it('builds line figures and standalone html', () => {
      assert.equal(fig.data.length, 2);
      assert.deepEqual(fig.data[0].x, [0, 1, 2, 3]);
      assert.throws(() => lineFigure({ series: [{ name: 'a', x: [1, 2], y: [1] }] }), /2 x values but 1 y values/);
      const html = figureHtml(fig, 'conv');
      assert.match(html, /^<!doctype html>/);
      assert.match(html, /Plotly\.newPlot\("figure"/);
      assert.ok(html.length > 1e6, 'plotly.js is inlined');
    });

    it('pairs series by colour, hides legend entries, and puts a legend below with room for it', () => {
      const pair = lineFigure({
        legend: 'below',
        series: [
          { name: 'RIM', y: [1, 2], color: SERIES_COLORS[3] },
          { name: 'RIM (φ\')', y: [1, 3], color: SERIES_COLORS[3], dash: 'dash', hideInLegend: true },
          { name: 'LGD', y: [2, 2] },
        ],
      });
      const d = pair.data as Array<{ line: { color?: string; dash?: string }; marker?: { color: string }; showlegend?: boolean }>;
      assert.equal(d[0].line.color, '#d62728');
      assert.deepEqual(d[1].line, { dash: 'dash', color: '#d62728' });
      assert.equal(d[1].marker?.color, '#d62728');
      assert.equal(d[1].showlegend, false);
      assert.ok(!('showlegend' in d[0]) && d[2].line.color === undefined, 'other series keep plotly\'s defaults');
      const legend = pair.layout!.legend as { y: number; yanchor: string };
      assert.ok(legend.y < 0 && legend.yanchor === 'top', 'the legend sits under the x axis');
      assert.equal(pair.layout!.height, 450 + 2 * 22, 'two legend lines below: the figure grows by them');
      assert.equal(lineFigure({ legend: 'below', height: 300, series: [{ name: 'a', y: [1] }, { name: 'b', y: [2] }] }).layout!.height, 300, 'a given height wins');
      assert.equal(fig.layout!.height, undefined, 'legend on the right: default height');
      assert.throws(() => lineFigure({ legend: 'top' as 'below', series: [{ name: 'a', y: [1] }] }), /legend must be 'right' or 'below', got "top"/);
    });

    it('is a no-op to show a figure outside a notebook', async () => {
      assert.equal(await showFigure(fig), false);
    });

    it('exports html, png and svg with headless Chromium', async function () {
      if (!hasChromium()) {
        console.log(`      (skipped: no Chromium at ${chromiumPath()}; install Debian chromium: apt-get install chromium, or set LGD_CHROMIUM)`);
        this.skip();
      }
      const t0 = Date.now();
      const files = await saveFigure(fig, 'convergence', { dir, width: 640, height: 400 });
      const first = Date.now() - t0;
      assert.deepEqual(files, {
        html: path.join(dir, 'convergence.html'),
        png: path.join(dir, 'convergence.png'),
        svg: path.join(dir, 'convergence.svg'),
      });
      assert.deepEqual(pngSize(fs.readFileSync(files.png as string)), { width: 640, height: 400 });
      const svg = fs.readFileSync(files.svg as string, 'utf8');
      assert.ok(svg.startsWith('<svg'), `svg starts with <svg: ${svg.slice(0, 40)}`);
      assert.match(svg, /PSNR vs iteration/);
      const t1 = Date.now();
      const again = await saveFigure(fig, 'convergence2x', { dir, formats: ['png'], scale: 2 });
      const second = Date.now() - t1;
      assert.deepEqual(pngSize(fs.readFileSync(again.png as string)), { width: 1440, height: 900 });
      const t = browserTimings();
      console.log(
        `      timings: chromium launch ${t?.launchMs} ms, plotly load ${t?.plotlyLoadMs} ms, ` +
          `first saveFigure (html+png+svg, incl. launch) ${first} ms, second (png) ${second} ms`,
      );
    });

    it('reports a clear error when Chromium is missing', async () => {
      await closeBrowser();
      const saved = process.env.LGD_CHROMIUM;
      process.env.LGD_CHROMIUM = path.join(dir, 'no-such-chromium');
      try {
        await assert.rejects(saveFigure(fig, 'nochrome', { dir, formats: ['png'] }), /install Debian chromium: apt-get install chromium.*LGD_CHROMIUM/);
      } finally {
        if (saved === undefined) delete process.env.LGD_CHROMIUM;
        else process.env.LGD_CHROMIUM = saved;
      }
    });
  });
});
