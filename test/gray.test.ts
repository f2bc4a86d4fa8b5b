import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { initEngine, tf } from '../lib/engine';
import { readImage, readRaw, rgbToGray8 } from '../lib/io/image';
import { Rng } from '../lib/io';

/** MATLAB's `rgb2gray` on uint8: the first row of inv(NTSC→RGB), in double, rounded. */
const MATLAB_RGB2GRAY = [0.298936021293775, 0.587043074451121, 0.114020904255103];
function matlabGray(r: number, g: number, b: number): number {
  return Math.round(MATLAB_RGB2GRAY[0] * r + MATLAB_RGB2GRAY[1] * g + MATLAB_RGB2GRAY[2] * b);
}

/** Writes interleaved 8-bit pixels as a PNG in a temp folder and returns its path. */
async function writePng(dir: string, name: string, data: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<string> {
  const file = path.join(dir, name);
  let img = sharp(Buffer.from(data), { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w');
  await img.png().toFile(file);
  return file;
}

describe('gray = BT.601 luma (MATLAB rgb2gray)', () => {
  let dir: string;
  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-gray-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rgbToGray8 gives MATLAB rgb2gray values on pixels with known values', () => {
    // MATLAB: rgb2gray(uint8(cat(3, R, G, B))) with 0.2989 R + 0.5870 G + 0.1140 B
    const cases: [number, number, number, number][] = [
      [255, 0, 0, 76], // 76.22
      [0, 255, 0, 150], // 149.70
      [0, 0, 255, 29], // 29.07
      [255, 255, 255, 255],
      [0, 0, 0, 0],
      [100, 150, 200, 141], // 140.74
      [200, 30, 90, 88], // 59.79 + 17.61 + 10.26 = 87.66
    ];
    const rgb = Uint8Array.from(cases.flatMap(([r, g, b]) => [r, g, b]));
    const got = Array.from(rgbToGray8(rgb));
    assert.deepEqual(got, cases.map((c) => c[3]));
    assert.deepEqual(got, cases.map(([r, g, b]) => matlabGray(r, g, b)));
  });

  it('rgbToGray8 agrees with MATLAB rgb2gray to within one level on random colors, and exactly away from rounding ties', () => {
    const rng = new Rng(11);
    const rgb = Uint8Array.from({ length: 3 * 20000 }, () => rng.int(256));
    const got = rgbToGray8(rgb);
    for (let i = 0; i < got.length; i++) {
      const [r, g, b] = [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]];
      const exact = MATLAB_RGB2GRAY[0] * r + MATLAB_RGB2GRAY[1] * g + MATLAB_RGB2GRAY[2] * b;
      const tie = Math.abs(exact - Math.floor(exact) - 0.5) < 0.05;
      if (tie) assert.ok(Math.abs(got[i] - exact) <= 0.55, `pixel ${r},${g},${b}: ${got[i]} vs ${exact}`);
      else assert.equal(got[i], Math.round(exact), `pixel ${r},${g},${b}: ${got[i]} vs MATLAB ${exact}`);
    }
  });

  it('rgbToGray8 names a length that is not RGB', () => {
    assert.throws(() => rgbToGray8(new Uint8Array(4)), /rgbToGray8: expected interleaved RGB .* got 4 values/);
  });

  it('readImage / readRaw with channels: 1 convert a color PNG with BT.601 (not Rec. 709 luminance)', async () => {
    const rng = new Rng(5);
    const w = 40;
    const h = 30;
    const rgb = Uint8Array.from({ length: 3 * w * h }, () => rng.int(256));
    const file = await writePng(dir, 'color.png', rgb, w, h, 3);
    const raw = await readRaw(file, { channels: 1 });
    assert.equal(raw.channels, 1);
    assert.deepEqual(Array.from(raw.data), Array.from(rgbToGray8(rgb)));
    // (libvips's 'b-w' — Rec. 709 luminance in linear light — matches on about a quarter of such pixels)
    let agree = 0;
    for (let i = 0; i < w * h; i++) if (raw.data[i] === matlabGray(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2])) agree++;
    assert.ok(agree >= 0.99 * w * h, `${agree} of ${w * h} pixels match MATLAB rgb2gray`);
    const before = tf.memory().numTensors;
    const x = await readImage(file, { channels: 1 });
    assert.deepEqual(x.shape, [1, h, w, 1]);
    const v = x.dataSync();
    for (let i = 0; i < v.length; i++) assert.equal(Math.round(v[i] * 255), raw.data[i]);
    x.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('leaves a gray PNG read as gray byte for byte as it is (Train400, BSD68, Set12 are gray files)', async () => {
    const rng = new Rng(9);
    const gray = Uint8Array.from({ length: 33 * 17 }, () => rng.int(256));
    const file = await writePng(dir, 'gray.png', gray, 33, 17, 1);
    const asFile = await readRaw(file);
    const asGray = await readRaw(file, { channels: 1 });
    assert.equal(asFile.channels, 1);
    assert.deepEqual(Array.from(asFile.data), Array.from(gray));
    assert.deepEqual(Array.from(asGray.data), Array.from(gray));
    // and read as color, each channel holds the same gray value
    const asColor = await readRaw(file, { channels: 3 });
    for (let i = 0; i < gray.length; i++) assert.deepEqual(Array.from(asColor.data.slice(3 * i, 3 * i + 3)), [gray[i], gray[i], gray[i]]);
  });
});
