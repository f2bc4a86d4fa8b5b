import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../lib/engine/tf';
import { readImage } from '../lib/io/image';
import {
  gaussianKernel1d,
  psnr,
  psnrPerImage,
  rgbToY,
  shave,
  srMetrics,
  ssim,
  ssimPerImage,
  ssimPlane,
} from '../lib/metrics';

const FIXTURES = path.join(__dirname, 'fixtures', 'metrics');

interface RefCase {
  id: string;
  kind: 'gray' | 'color' | 'sr';
  ref: string;
  x: string;
  shape: number[];
  psnr: number;
  ssim: number;
  ssim_sample_cov?: number;
  shave?: number;
  psnr_y?: number;
  ssim_y?: number;
  psnr_y_round?: number;
  ssim_y_round?: number;
}

const reference: { cases: RefCase[] } = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8'));

const PSNR_TOL = 1e-3; // dB
const SSIM_TOL = 1e-4;

/** Largest deviation seen per metric, printed at the end. */
const worst: Record<string, number> = {};
function close(metric: string, actual: number, expected: number, tol: number, id: string): void {
  const d = Math.abs(actual - expected);
  worst[metric] = Math.max(worst[metric] ?? 0, d);
  assert.ok(d <= tol, `${id} ${metric}: ${actual} vs skimage ${expected} (|Δ| = ${d} > ${tol})`);
}

async function load(file: string): Promise<tf.Tensor4D> {
  return readImage(path.join(FIXTURES, file));
}

describe('metrics vs skimage reference values', () => {
  after(() => {
    const line = Object.entries(worst)
      .map(([k, v]) => `${k} ${v.toExponential(2)}`)
      .join(', ');
    console.log(`      max |TS − skimage|: ${line}`);
  });

  for (const c of reference.cases) {
    it(`${c.id} (${c.kind} ${c.shape.join('x')})`, async () => {
      const ref = await load(c.ref);
      const x = await load(c.x);
      const channels = c.shape.length === 3 ? c.shape[2] : 1;
      assert.deepEqual(ref.shape, [1, c.shape[0], c.shape[1], channels]);
      close('psnr', psnr(x, ref), c.psnr, PSNR_TOL, c.id);
      close('ssim', ssim(x, ref), c.ssim, SSIM_TOL, c.id);
      if (c.ssim_sample_cov !== undefined) {
        close('ssim_sample_cov', ssim(x, ref, { useSampleCovariance: true }), c.ssim_sample_cov, SSIM_TOL, c.id);
      }
      if (c.shave !== undefined) {
        const m = srMetrics(x, ref, c.shave);
        close('psnr_y', m.psnr, c.psnr_y!, PSNR_TOL, c.id);
        close('ssim_y', m.ssim, c.ssim_y!, SSIM_TOL, c.id);
        const m1 = srMetrics(x, ref, c.shave, { range: 1 });
        close('psnr_y', m1.psnr, c.psnr_y!, PSNR_TOL, c.id);
        close('ssim_y', m1.ssim, c.ssim_y!, SSIM_TOL, c.id);
        const r = srMetrics(x, ref, c.shave, { roundY: true });
        close('psnr_y_round', r.psnr, c.psnr_y_round!, PSNR_TOL, c.id);
        close('ssim_y_round', r.ssim, c.ssim_y_round!, SSIM_TOL, c.id);
      }
      tf.dispose([ref, x]);
    });
  }

  it('batches: per-image values and their mean', async () => {
    const gray = reference.cases.filter((c) => c.kind === 'gray' && c.shape[0] === 96 && c.shape[1] === 96);
    assert.ok(gray.length >= 2);
    const refs = await Promise.all(gray.map((c) => load(c.ref)));
    const xs = await Promise.all(gray.map((c) => load(c.x)));
    const ref = tf.concat(refs, 0);
    const x = tf.concat(xs, 0);
    const p = psnrPerImage(x, ref);
    const s = ssimPerImage(x, ref);
    gray.forEach((c, i) => {
      close('psnr', p[i], c.psnr, PSNR_TOL, `batch ${c.id}`);
      close('ssim', s[i], c.ssim, SSIM_TOL, `batch ${c.id}`);
    });
    const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
    assert.equal(psnr(x, ref), mean(p));
    assert.equal(ssim(x, ref), mean(s));
    // a rank-3 image [h, w, c] is one image
    close('psnr', psnr(tf.squeeze(xs[0], [0]), tf.squeeze(refs[0], [0])), gray[0].psnr, PSNR_TOL, 'rank 3');
    close('ssim', ssim(tf.squeeze(xs[0], [0]), tf.squeeze(refs[0], [0])), gray[0].ssim, SSIM_TOL, 'rank 3');
    tf.dispose([...refs, ...xs, ref, x]);
  });
});

describe('metrics closed forms', () => {
  it('identical images: PSNR Infinity, SSIM 1', async () => {
    const img = await load('color_a_s15_ref.png');
    assert.equal(psnr(img, img), Infinity);
    assert.deepEqual(psnrPerImage(img, img), [Infinity]);
    assert.ok(Math.abs(ssim(img, img) - 1) < 1e-12);
    const m = srMetrics(img, img, 2);
    assert.equal(m.psnr, Infinity);
    assert.ok(Math.abs(m.ssim - 1) < 1e-12);
    img.dispose();
  });

  it('constant offset d gives PSNR = 20 log10(dataRange / d)', () => {
    // multiples of 1/256 in [0, 0.75): adding 0.125 is exact in float32
    const ref = tf.div(tf.floor(tf.randomUniform([2, 16, 20, 3], 0, 192, 'float32', 7)), 256);
    const x = tf.add(ref, 0.125);
    assert.ok(Math.abs(psnr(x, ref) - 20 * Math.log10(1 / 0.125)) < 1e-9);
    psnrPerImage(x, ref).forEach((v) => assert.ok(Math.abs(v - 18.061799739838872) < 1e-9));
    assert.ok(Math.abs(psnr(tf.mul(x, 255), tf.mul(ref, 255), { dataRange: 255 }) - 18.061799739838872) < 1e-4);
    tf.dispose([ref, x]);
  });

  it('SSIM of constant images follows the luminance term', () => {
    // constant a vs constant b: all variances 0, S = (2ab + C1) / (a² + b² + C1)
    const a = 0.25;
    const b = 0.5;
    const C1 = 0.01 ** 2;
    const expected = (2 * a * b + C1) / (a * a + b * b + C1);
    assert.ok(Math.abs(ssim(tf.fill([1, 13, 17, 1], a), tf.fill([1, 13, 17, 1], b)) - expected) < 1e-12);
  });

  it('Gaussian window: 11 taps for sigma 1.5, truncate 3.5, normalised, symmetric', () => {
    const k = gaussianKernel1d(1.5, 3.5);
    assert.equal(k.length, 11);
    assert.ok(Math.abs(k.reduce((s, v) => s + v, 0) - 1) < 1e-15);
    for (let i = 0; i < 5; i++) assert.equal(k[i], k[10 - i]);
    assert.ok(Math.abs(k[5] / k[4] - Math.exp(0.5 / 2.25)) < 1e-12);
  });

  it('SSIM is symmetric and <= 1', async () => {
    const ref = await load('gray_test003_s50_ref.png');
    const x = await load('gray_test003_s50_x.png');
    const s1 = ssim(x, ref);
    const s2 = ssim(ref, x);
    assert.ok(Math.abs(s1 - s2) < 1e-12 && s1 < 1);
    tf.dispose([ref, x]);
  });

  it('rgbToY: BT.601 studio-swing luma of [0, 1] RGB', () => {
    const rgb = tf.tensor4d([0, 0, 0, 1, 1, 1, 1, 0, 0, 0.5, 0.25, 1], [1, 2, 2, 3]);
    const y = rgbToY(rgb);
    assert.deepEqual(y.shape, [1, 2, 2, 1]);
    const expected = [16, 235, 16 + 65.481, 16 + 65.481 * 0.5 + 128.553 * 0.25 + 24.966].map((v) => v / 255);
    Array.from(y.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${v} vs ${expected[i]}`));
    assert.throws(() => rgbToY(tf.zeros([1, 2, 2, 1])), /last axis of 3.*\[1, 2, 2, 1\]/);
    tf.dispose([rgb, y]);
  });

  it('shave crops each side', () => {
    const x = tf.range(0, 5 * 6).reshape([1, 5, 6, 1]) as tf.Tensor4D;
    const s = shave(x, 1);
    assert.deepEqual(s.shape, [1, 3, 4, 1]);
    assert.deepEqual(Array.from(s.dataSync()), [7, 8, 9, 10, 13, 14, 15, 16, 19, 20, 21, 22]);
    assert.deepEqual(shave(tf.zeros([7, 9, 3]) as tf.Tensor3D, 3).shape, [1, 3, 3]);
    assert.throws(() => shave(x, 3), /border 3 leaves no pixel/);
    assert.throws(() => shave(x, -1), /integer >= 0/);
  });

  it('srMetrics on gray input uses the values as they are, shaved', () => {
    const hr = tf.randomUniform([1, 30, 32, 1], 0, 1, 'float32', 3);
    const sr = tf.clipByValue(tf.add(hr, tf.randomNormal([1, 30, 32, 1], 0, 0.05, 'float32', 4)), 0, 1);
    const m = srMetrics(sr, hr, 3);
    const srS = shave(sr as tf.Tensor4D, 3);
    const hrS = shave(hr as tf.Tensor4D, 3);
    assert.ok(Math.abs(m.psnr - psnr(srS, hrS)) < 1e-9);
    assert.ok(Math.abs(m.ssim - ssim(srS, hrS)) < 1e-9);
    tf.dispose([hr, sr, srS, hrS]);
  });

  it('SSIM plane smaller than the window is an error', () => {
    assert.throws(() => ssimPlane(new Float64Array(100), new Float64Array(100), 10, 10), /10x10 is smaller than the 11x11/);
  });
});

describe('metrics errors', () => {
  it('shape mismatch names both shapes', () => {
    const a = tf.zeros([1, 16, 16, 3]);
    const b = tf.zeros([1, 16, 16, 1]);
    assert.throws(() => psnr(a, b), /psnr: shape mismatch: x \[1, 16, 16, 3\] vs ref \[1, 16, 16, 1\]/);
    assert.throws(() => psnrPerImage(a, b), /\[1, 16, 16, 3\].*\[1, 16, 16, 1\]/);
    assert.throws(() => ssim(a, b), /ssim: shape mismatch: x \[1, 16, 16, 3\] vs ref \[1, 16, 16, 1\]/);
    assert.throws(() => srMetrics(a, b, 2), /srMetrics: the SR image is 16×16 \(shape \[1, 16, 16, 3\]\) but the HR image is 16×16 \(shape \[1, 16, 16, 1\]\), scale 2: they differ in rank, batch or channels/);
    tf.dispose([a, b]);
  });

  it('bad options are errors', () => {
    const a = tf.zeros([1, 16, 16, 1]);
    assert.throws(() => psnr(a, a, { dataRange: 0 }), /dataRange must be a finite number > 0/);
    assert.throws(() => ssim(a, a, { dataRange: -1 }), /dataRange/);
    assert.throws(() => srMetrics(a, a, 0), /scale must be an integer >= 1/);
    assert.throws(() => psnr(tf.zeros([2, 2, 2, 2, 2]), tf.zeros([2, 2, 2, 2, 2])), /expected an image/);
    a.dispose();
  });
});
