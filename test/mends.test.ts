import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { initEngine, tf } from '../lib/engine';
import { decodeBmp } from '../lib/io/bmp';
import { loadSrPairs } from '../lib/io/datasets';
import { srMetrics } from '../lib/metrics/color';
import { mean } from '../lib/metrics/mean';

/** What {@link makeBmp} writes. */
interface BmpSpec {
  width: number;
  height: number;
  bpp: 8 | 24 | 32;
  /** Rows top first; per pixel a palette index (8-bit) or [r, g, b] (24/32-bit). */
  rows: (number | [number, number, number])[][];
  topDown?: boolean;
  /** 8-bit: [r, g, b] per color; `colors` overrides the count written in the header. */
  palette?: [number, number, number][];
  colors?: number;
  /** 32-bit: BI_BITFIELDS with these R, G, B masks. */
  masks?: [number, number, number];
}

/** Writes a BMP byte for byte by the format's definition (BITMAPINFOHEADER, rows padded to 4 bytes). */
function makeBmp(spec: BmpSpec): Uint8Array {
  const { width, height, bpp } = spec;
  const stride = Math.ceil((width * bpp) / 32) * 4;
  const paletteBytes = bpp === 8 ? 4 * (spec.palette?.length ?? 0) : 0;
  const maskBytes = spec.masks ? 12 : 0;
  const offset = 14 + 40 + maskBytes + paletteBytes;
  const bytes = new Uint8Array(offset + stride * height);
  const v = new DataView(bytes.buffer);
  bytes[0] = 0x42;
  bytes[1] = 0x4d;
  v.setUint32(2, bytes.length, true);
  v.setUint32(10, offset, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, spec.topDown ? -height : height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, bpp, true);
  v.setUint32(30, spec.masks ? 3 : 0, true);
  v.setUint32(46, spec.colors ?? (bpp === 8 ? spec.palette?.length ?? 0 : 0), true);
  if (spec.masks) spec.masks.forEach((m, i) => v.setUint32(54 + 4 * i, m, true));
  (spec.palette ?? []).forEach(([r, g, b], i) => bytes.set([b, g, r, 0], 54 + maskBytes + 4 * i));
  spec.rows.forEach((row, y) => {
    const start = offset + (spec.topDown ? y : height - 1 - y) * stride;
    row.forEach((px, x) => {
      if (bpp === 8) bytes[start + x] = px as number;
      else {
        const [r, g, b] = px as [number, number, number];
        bytes.set(bpp === 24 ? [b, g, r] : [b, g, r, 0x7f], start + x * (bpp / 8));
      }
    });
  });
  return bytes;
}

const RGB_ROWS: [number, number, number][][] = [
  [[255, 0, 0], [0, 255, 0], [0, 0, 255]],
  [[10, 20, 30], [200, 100, 50], [1, 2, 3]],
];
const flat = (rows: [number, number, number][][]) => rows.flat(2);

describe('small mends', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  describe('BMP decoding: 8-, 24- and 32-bit', () => {
    it('decodes an 8-bit paletted BMP (bottom-up, rows padded from 3 to 4 bytes)', () => {
      const palette: [number, number, number][] = [[0, 0, 0], [255, 255, 255], [12, 34, 56], [200, 0, 100]];
      const bmp = makeBmp({ width: 3, height: 2, bpp: 8, palette, rows: [[0, 1, 2], [3, 2, 1]] });
      const out = decodeBmp(bmp, 'p8.bmp');
      assert.deepEqual([out.width, out.height], [3, 2]);
      assert.deepEqual(Array.from(out.data), [0, 1, 2, 3, 2, 1].flatMap((i) => palette[i]));
    });

    it('decodes 24-bit (bottom-up) and 32-bit BI_RGB (top-down, alpha byte ignored) and BI_BITFIELDS', () => {
      const b24 = decodeBmp(makeBmp({ width: 3, height: 2, bpp: 24, rows: RGB_ROWS }));
      assert.deepEqual(Array.from(b24.data), flat(RGB_ROWS));
      const b32 = decodeBmp(makeBmp({ width: 3, height: 2, bpp: 32, rows: RGB_ROWS, topDown: true }));
      assert.deepEqual(Array.from(b32.data), flat(RGB_ROWS));
      const bf = decodeBmp(makeBmp({ width: 3, height: 2, bpp: 32, rows: RGB_ROWS, masks: [0xff0000, 0xff00, 0xff] }));
      assert.deepEqual(Array.from(bf.data), flat(RGB_ROWS));
    });

    it('names a palette index past the palette, with the pixel', () => {
      const bmp = makeBmp({ width: 3, height: 2, bpp: 8, palette: [[0, 0, 0], [9, 9, 9]], rows: [[0, 1, 0], [1, 5, 0]] });
      assert.throws(() => decodeBmp(bmp, 'bad.bmp'), /cannot decode BMP bad\.bmp: pixel \(1, 1\) has palette index 5 but the palette has 2 colors/);
    });

    it('names a palette larger than 256 colors or running into the pixel data', () => {
      const big = makeBmp({ width: 1, height: 1, bpp: 8, palette: [[0, 0, 0]], rows: [[0]], colors: 300 });
      assert.throws(() => decodeBmp(big, 'big.bmp'), /palette of 300 colors \(an 8-bit BMP has at most 256\)/);
      const short = makeBmp({ width: 1, height: 1, bpp: 8, palette: [[0, 0, 0]], rows: [[0]], colors: 4 });
      assert.throws(() => decodeBmp(short, 'short.bmp'), /truncated palette: 4 colors need bytes 54\.\.70 but the pixel data start at 58/);
    });

    it('refuses BI_BITFIELDS masks in another order, naming them', () => {
      const bmp = makeBmp({ width: 1, height: 1, bpp: 32, rows: [[[1, 2, 3]]], masks: [0xff, 0xff00, 0xff0000] });
      assert.throws(() => decodeBmp(bmp, 'rgba.bmp'), /BI_BITFIELDS masks R 0x000000ff, G 0x0000ff00, B 0x00ff0000 are not supported/);
    });
  });

  describe('SR pairs whose sizes disagree with the scale', () => {
    it('srMetrics names the SR and HR sizes, the scale and the cause', () => {
      const hr = tf.zeros([1, 10, 9, 3]); // 9 is not a multiple of 2: its LR is 5×4, upscaled 10×8
      const sr = tf.zeros([1, 10, 8, 3]);
      assert.throws(
        () => srMetrics(sr, hr, 2),
        /srMetrics: the SR image is 10×8 \(shape \[1, 10, 8, 3\]\) but the HR image is 10×9 \(shape \[1, 10, 9, 3\]\), scale 2: the HR size is not a multiple of 2: its LR is 5×4, which upscales to 10×8; crop the HR to a multiple of the scale \(modcrop\)/,
      );
      const hr2 = tf.zeros([1, 12, 12, 3]);
      assert.throws(() => srMetrics(sr, hr2, 2), /an LR of 6×6 upscaled ×2 gives 12×12, so the SR did not come from this HR's LR at this scale/);
      const gray = tf.zeros([1, 10, 8, 1]);
      assert.throws(() => srMetrics(gray, sr, 2), /they differ in rank, batch or channels/);
      tf.dispose([hr, sr, hr2, gray]);
    });

    it('loadSrPairs names both files, their sizes and the scale when HR ≠ LR × scale', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-srpairs-'));
      const saved = process.env.LGD_DATA_DIR;
      try {
        const x2 = path.join(dir, 'sr/test/Set5/x2');
        fs.mkdirSync(x2, { recursive: true });
        const png = (w: number, h: number, file: string) =>
          sharp(Buffer.alloc(w * h * 3, 128), { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(x2, file));
        await png(8, 6, 'img_001_SRF_2_HR.png');
        await png(4, 3, 'img_001_SRF_2_LR.png');
        await png(9, 6, 'img_002_SRF_2_HR.png'); // 9 wide, but its LR is 4 wide
        await png(4, 3, 'img_002_SRF_2_LR.png');
        process.env.LGD_DATA_DIR = dir;
        const before = tf.memory().numTensors;
        const [good] = await loadSrPairs('Set5', 2, { limit: 1 });
        assert.deepEqual([good.hr.shape, good.lr.shape], [[1, 6, 8, 3], [1, 3, 4, 3]]);
        tf.dispose([good.hr, good.lr]);
        await assert.rejects(
          loadSrPairs('Set5', 2),
          /loadSrPairs: Set5 x2: the HR image .*img_002_SRF_2_HR\.png is 6×9 but its LR file .*img_002_SRF_2_LR\.png is 3×4, which at scale 2 stands for 6×8/,
        );
        assert.equal(tf.memory().numTensors, before, 'no tensors left behind by the failed load');
      } finally {
        if (saved === undefined) delete process.env.LGD_DATA_DIR;
        else process.env.LGD_DATA_DIR = saved;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('mean: the one helper (NaN for no values)', () => {
    assert.equal(mean([1, 2, 6]), 3);
    assert.ok(Number.isNaN(mean([])));
  });
});
