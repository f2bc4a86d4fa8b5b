/**
 * Image grids: several images (e.g. clean / noisy / restored) side by side, with captions such as
 * "noisy 20.17 dB" and optional row labels, composed into one PNG by sharp. Captions are an SVG
 * overlay rendered by sharp's librsvg with the system fonts.
 */
import * as path from 'path';
import sharp from 'sharp';
import { tf } from '../engine/tf';
import { RawImage, toUint8, writeFileAtomic } from '../io/image';
import { escapeHtml, isNotebook, showPng } from './display';
import { figuresDir, checkName } from './figures';

/** An image with an optional caption: a tensor `[h, w, c]` / `[1, h, w, c]` in [0, 1] (c = 1 or 3) or 8-bit pixels. */
export interface GridImage {
  /** The image as a tensor in [0, 1] (gray or RGB). */
  tensor?: tf.Tensor;
  /** Or the image as 8-bit pixels (e.g. from `readRaw`). */
  image?: RawImage;
  /** Text under the image, e.g. `"noisy 20.17 dB"`. */
  caption?: string;
}

/** One grid cell: a tensor, raw pixels, or a {@link GridImage} with a caption. */
export type GridCell = tf.Tensor | RawImage | GridImage;

/** One row of a grid, with an optional label drawn at its left. */
export interface GridRow {
  /** Row label, e.g. the test image's name. */
  label?: string;
  /** The row's images, left to right. */
  images: GridCell[];
}

/** Input of {@link imageGrid}: rows, or a flat list of cells (one row). */
export type GridInput = GridRow[] | GridCell[];

/** Options of {@link imageGrid}. */
export interface ImageGridOptions {
  /** Resize factor for every image (default 1). Upscaling uses nearest neighbour (pixels stay visible). */
  scale?: number;
  /** Space between cells and around the grid, in output pixels (default 6). */
  gap?: number;
  /** Caption/label font size in pixels (default 14; captions too long for their column wrap onto up to 3 lines, then shrink). */
  fontSize?: number;
  /** Background colour (CSS colour, default white). */
  background?: string;
  /** Text colour (CSS colour, default black). */
  color?: string;
  /** Optional title drawn above the grid; wrapped onto several lines where the grid is narrower. */
  title?: string;
}

/** A composed grid: PNG bytes and layout facts. */
export interface ImageGrid {
  /** The grid as PNG. */
  png: Buffer;
  /** Width of the PNG in pixels. */
  width: number;
  /** Height of the PNG in pixels. */
  height: number;
  /** Number of rows. */
  rows: number;
  /** Number of columns (the longest row). */
  columns: number;
  /** The captions, by row and column ('' where none). */
  captions: string[][];
  /** The title as drawn: one entry per line ([] without a title). */
  titleLines: string[];
  /** False if no font was available to draw the text (the images are still there). */
  textRendered: boolean;
}

const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

function isTensor(x: unknown): x is tf.Tensor {
  return !!x && typeof x === 'object' && Array.isArray((x as tf.Tensor).shape) && typeof (x as tf.Tensor).dataSync === 'function';
}

function isRaw(x: unknown): x is RawImage {
  const r = x as RawImage;
  return !!r && typeof r === 'object' && r.data instanceof Uint8Array && typeof r.width === 'number' && typeof r.height === 'number';
}

function isRow(x: unknown): x is GridRow {
  return !!x && typeof x === 'object' && Array.isArray((x as GridRow).images);
}

/** Normalizes a cell to RGB 8-bit pixels plus caption. */
function cellPixels(cell: GridCell, where: string): { rgb: RawImage; caption: string } {
  let raw: RawImage;
  let caption = '';
  if (isTensor(cell)) raw = toUint8(cell);
  else if (isRaw(cell)) raw = cell;
  else if (cell && typeof cell === 'object' && ('tensor' in cell || 'image' in cell)) {
    const g = cell as GridImage;
    if (g.tensor && isTensor(g.tensor)) raw = toUint8(g.tensor);
    else if (g.image && isRaw(g.image)) raw = g.image;
    else throw new Error(`imageGrid: ${where} needs a tensor or raw image`);
    caption = g.caption ?? '';
  } else {
    throw new Error(`imageGrid: ${where} is not an image (expected a tensor, raw pixels or { tensor, caption })`);
  }
  const { width, height, channels, data } = raw;
  if ((channels as number) !== 1 && (channels as number) !== 3) throw new Error(`imageGrid: ${where} has ${channels} channels (expected 1 or 3)`);
  if (data.length !== width * height * channels) throw new Error(`imageGrid: ${where} has ${data.length} bytes, expected ${width}x${height}x${channels}`);
  if (channels === 3) return { rgb: raw, caption };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i++, j += 3) rgb[j] = rgb[j + 1] = rgb[j + 2] = data[i];
  return { rgb: { data: rgb, width, height, channels: 3 }, caption };
}

let fontCheck: Promise<boolean> | undefined;
let warnedNoFont = false;

/** Whether librsvg (inside sharp) can draw text with the installed fonts: renders a test string and looks for ink. */
function fontsWork(): Promise<boolean> {
  if (!fontCheck) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="80" height="24"><text x="4" y="18" font-family="${FONT_FAMILY}" font-size="16" fill="#000">Ag 20.1</text></svg>`;
    fontCheck = sharp(Buffer.from(svg))
      .ensureAlpha()
      .raw()
      .toBuffer()
      .then((buf) => {
        for (let i = 3; i < buf.length; i += 4) if (buf[i] > 0) return true;
        return false;
      })
      .catch(() => false);
  }
  return fontCheck;
}

/** Average character width of DejaVu Sans in em (bold ~0.68, see the title). */
const CHAR_EM = 0.6;

/** Rough width of a text line in pixels. */
function textWidth(text: string, fontSize: number): number {
  return Math.ceil(text.length * fontSize * CHAR_EM);
}

/**
 * Breaks `text` into lines of at most `maxChars` characters: at spaces where it can, inside a
 * word only when the word alone is longer than a line. Every character but the spaces broken at is kept.
 * @example
 * wrapLine('σ = 25 | BSD68 (central 96×96; PSNR of the whole image)', 24);
 * // ['σ = 25 | BSD68 (central', '96×96; PSNR of the whole', 'image)']
 */
export function wrapLine(text: string, maxChars: number): string[] {
  const max = Math.max(1, Math.floor(maxChars));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    let w = word;
    if (line && line.length + 1 + w.length <= max) {
      line += ` ${w}`;
      continue;
    }
    if (line) lines.push(line);
    while (w.length > max) {
      lines.push(w.slice(0, max));
      w = w.slice(max);
    }
    line = w;
  }
  if (line) lines.push(line);
  return lines;
}

/** Most lines a caption wraps onto before it shrinks. */
const CAPTION_MAX_LINES = 3;

/**
 * How a caption fits a column `room` pixels wide: on one line at `fontSize` when it can, or at
 * no less than 3/4 of it; else wrapped at spaces onto up to {@link CAPTION_MAX_LINES} lines at `fontSize` (a long model name
 * stays readable instead of shrinking to a few pixels); else wrapped and shrunk, to 6 px at the
 * least, on as many lines as that takes (no word is ever dropped).
 * @example
 * captionLayout('RIM trained without clipping or rounding (ours) 27.45 dB', 240, 14);
 * // { lines: ['RIM trained without clipping', 'or rounding (ours) 27.45 dB'], size: 14 }
 */
export function captionLayout(caption: string, room: number, fontSize: number): { lines: string[]; size: number } {
  const fits = (size: number): string[] | undefined => {
    const maxChars = room / (size * CHAR_EM);
    if (caption.length <= maxChars) return [caption];
    const lines = wrapLine(caption, maxChars);
    return lines.length <= CAPTION_MAX_LINES ? lines : undefined;
  };
  // a little smaller on one line reads better than two lines
  const oneLine = Math.min(fontSize, room / Math.max(1, caption.length * CHAR_EM));
  if (oneLine >= 0.75 * fontSize) return { lines: [caption], size: oneLine };
  for (let size = fontSize; size > 6; size -= 0.5) {
    const lines = fits(size);
    if (lines) return { lines, size };
  }
  return { lines: wrapLine(caption, room / (6 * CHAR_EM)), size: 6 }; // as many lines as it takes: no word is dropped
}

/**
 * Composes images side by side into one PNG: rows of images with captions underneath and
 * optional row labels at the left. Gray and colour images can be mixed (gray is shown as gray).
 * Each column is as wide as its widest image; smaller images are centred in their cell.
 * @example
 * const grid = await imageGrid([{ label: 'test001', images: [
 *   { tensor: clean, caption: 'clean' }, { tensor: noisy, caption: 'noisy 20.17 dB' },
 *   { tensor: restored, caption: 'LGD 29.84 dB' }] }], { scale: 2 });
 */
export async function imageGrid(input: GridInput, options: ImageGridOptions = {}): Promise<ImageGrid> {
  if (!Array.isArray(input) || input.length === 0) throw new Error('imageGrid: expected a non-empty array of rows or images');
  const items = input as unknown[];
  const rowsIn: GridRow[] = items.every(isRow) ? (items as GridRow[]) : [{ images: items as GridCell[] }];
  if (items.some(isRow) && !items.every(isRow)) throw new Error('imageGrid: mix of rows ({ images }) and images; pass one kind');
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`imageGrid: scale must be a positive number, got ${scale}`);
  const gap = Math.max(0, Math.round(options.gap ?? 6));
  const fontSize = options.fontSize ?? 14;
  const background = options.background ?? 'white';
  const color = options.color ?? 'black';

  // Decode and resize every cell.
  const cells = await Promise.all(
    rowsIn.map((row, i) => {
      if (row.images.length === 0) throw new Error(`imageGrid: row ${i} has no images`);
      return Promise.all(
        row.images.map(async (cell, j) => {
          const { rgb, caption } = cellPixels(cell, `row ${i}, image ${j}`);
          const width = Math.max(1, Math.round(rgb.width * scale));
          const height = Math.max(1, Math.round(rgb.height * scale));
          let data = Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength);
          if (width !== rgb.width || height !== rgb.height) {
            data = await sharp(data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
              .resize(width, height, { kernel: scale >= 1 ? 'nearest' : 'lanczos3', fit: 'fill' })
              .raw()
              .toBuffer();
          }
          return { data, width, height, caption };
        }),
      );
    }),
  );

  const columns = Math.max(...cells.map((r) => r.length));
  const colW = Array.from({ length: columns }, (_, j) => Math.max(...cells.map((r) => (r[j] ? r[j].width : 0))));
  const lineH = Math.ceil(fontSize * 1.5);
  const rowImgH = cells.map((r) => Math.max(...r.map((c) => c.height)));
  // Captions wrap onto more lines where a column is too narrow (captionLayout); the row's caption band grows with them.
  const layouts = cells.map((r) => r.map((c, j) => (c.caption ? captionLayout(c.caption, colW[j] + gap, fontSize) : undefined)));
  const lineStep = (size: number): number => Math.ceil(size * 1.2); // between the lines of one caption, at its own size
  const rowCapH = layouts.map((r) => (r.some((l) => l) ? lineH + Math.max(0, ...r.map((l) => (l ? (l.lines.length - 1) * lineStep(l.size) : 0))) : 0));
  const labels = rowsIn.map((r) => r.label ?? '');
  const labelW = labels.some((l) => l) ? Math.max(...labels.map((l) => textWidth(l, fontSize))) + gap : 0;
  const width = gap + labelW + colW.reduce((a, b) => a + b, 0) + gap * columns;
  // The title wraps to the grid's width (a quick-size grid is a few small crops wide).
  const titleSize = fontSize * 1.3;
  const titleLines = options.title ? wrapLine(options.title, (width - 2 * gap) / (titleSize * 0.68)) : [];
  const titleLineH = titleSize * 1.25;
  const titleH = titleLines.length ? Math.ceil(titleLineH * titleLines.length + titleSize * 0.35) : 0;

  const height = gap + titleH + rowImgH.reduce((a, b, i) => a + b + rowCapH[i], 0) + gap * cells.length;

  const composites: sharp.OverlayOptions[] = [];
  const texts: string[] = [];
  const text = (x: number, y: number, s: string, size: number, anchor: 'start' | 'middle' | 'end', weight = 'normal'): void => {
    texts.push(
      `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT_FAMILY}" font-size="${size.toFixed(1)}" ` +
        `font-weight="${weight}" text-anchor="${anchor}" fill="${escapeHtml(color)}">${escapeHtml(s)}</text>`,
    );
  };
  titleLines.forEach((line, k) => text(width / 2, gap + titleSize * 1.1 + k * titleLineH, line, titleSize, 'middle', 'bold'));

  let y = gap + titleH;
  cells.forEach((row, i) => {
    if (labels[i]) text(gap + labelW - gap, y + rowImgH[i] / 2 + fontSize * 0.35, labels[i], fontSize, 'end');
    let x = gap + labelW;
    for (let j = 0; j < columns; j++) {
      const c = row[j];
      if (c) {
        composites.push({
          input: c.data,
          raw: { width: c.width, height: c.height, channels: 3 },
          left: x + Math.floor((colW[j] - c.width) / 2),
          top: y + Math.floor((rowImgH[i] - c.height) / 2),
        });
        const layout = layouts[i][j];
        if (layout) {
          layout.lines.forEach((line, k) => text(x + colW[j] / 2, y + rowImgH[i] + lineH / 2 + layout.size * 0.35 + k * lineStep(layout.size), line, layout.size, 'middle'));
        }
      }
      x += colW[j] + gap;
    }
    y += rowImgH[i] + rowCapH[i] + gap;
  });

  let textRendered = true;
  if (texts.length > 0) {
    textRendered = await fontsWork();
    if (!textRendered && !warnedNoFont) {
      warnedNoFont = true;
      console.warn('[report] no font available to sharp/librsvg: image-grid captions are not drawn (apt-get install fonts-dejavu-core)');
    }
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts.join('')}</svg>`;
    composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  }

  // Composite first, then drop the alpha channel the SVG overlay brings in (sharp applies
  // removeAlpha before composite within one pipeline, hence two steps).
  const composed = await sharp({ create: { width, height, channels: 3, background } })
    .composite(composites)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const png = await sharp(composed.data, { raw: { width, height, channels: composed.info.channels } })
    .removeAlpha()
    .png()
    .toBuffer();
  return {
    png,
    width,
    height,
    rows: cells.length,
    columns,
    captions: cells.map((r) => r.map((c) => c.caption)),
    titleLines,
    textRendered,
  };
}

/** Options of {@link saveImageGrid}. */
export interface SaveImageGridOptions extends ImageGridOptions {
  /** Output folder; default `results/figures`. */
  dir?: string;
  /** Show the grid inline when in a notebook (default true). */
  show?: boolean;
}

function isGrid(x: unknown): x is ImageGrid {
  return !!x && typeof x === 'object' && Buffer.isBuffer((x as ImageGrid).png) && typeof (x as ImageGrid).width === 'number';
}

/**
 * Writes a grid as `<dir>/<name>.png` (atomically) and shows it inline in notebooks.
 * Accepts a grid from {@link imageGrid} or its input (then composed with `options`).
 * @returns The path written.
 */
export async function saveImageGrid(grid: ImageGrid | GridInput, name: string, options: SaveImageGridOptions = {}): Promise<string> {
  checkName(name, 'saveImageGrid');
  const g = isGrid(grid) ? grid : await imageGrid(grid, options);
  const file = path.join(options.dir ?? figuresDir(), `${name}.png`);
  writeFileAtomic(file, g.png);
  if (options.show !== false && isNotebook()) showPng(g.png);
  return file;
}
