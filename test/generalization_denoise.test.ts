import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import {
  anscombe, anscombeMethod, effectiveSigma, evaluate, inverseAnscombe, poissonGaussianDenoisingTask, readShiftTable, saveShiftTable,
  saveShiftTableMerged, ShiftRow, tvMethod,
} from '../lib/experiments';
import { Rim } from '../lib/solvers/learned';

/** A smooth gray test image [1, 24, 24, 1] in [0.1, 0.9]. */
const smooth = (phase = 0): tf.Tensor4D =>
  tf.tidy(() => {
    const i = tf.range(0, 24).reshape([24, 1]);
    const j = tf.range(0, 24).reshape([1, 24]);
    return tf.add(0.5, tf.mul(0.4, tf.mul(tf.sin(tf.add(tf.mul(i, 0.3), phase)), tf.cos(tf.mul(j, 0.2))))).reshape([1, 24, 24, 1]) as tf.Tensor4D;
  });

describe('generalization study (denoising): Poisson–Gaussian evaluation, Anscombe bridge, shared shift table', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('the Poisson–Gaussian task degrades identically for both likelihoods (same protocol seeds); the views differ only in the likelihood', () => {
    const before = tf.memory().numTensors;
    const pg = poissonGaussianDenoisingTask({ a: 0.02, sigmaB: 5 });
    const asGauss = poissonGaussianDenoisingTask({ a: 0.02, sigmaB: 5, likelihood: 'gaussian', sigmaEff: 30 });
    assert.equal(pg.seed, asGauss.seed);
    assert.equal(pg.setting, 'a=0.02, sigma_b=5');
    const x = smooth();
    const y1 = pg.degrade(x, pg.seed);
    const y2 = asGauss.degrade(x, asGauss.seed);
    assert.deepEqual(Array.from(y1.dataSync()), Array.from(y2.dataSync()));
    // signal-dependent: the residual's variance grows with x (bright half vs dark half)
    const r = tf.tidy(() => tf.sub(y1, x));
    const xs = x.dataSync();
    const rs = r.dataSync();
    const varOf = (keep: (v: number) => boolean) => {
      const v = Array.from(rs).filter((_, k) => keep(xs[k]));
      return v.reduce((s, e) => s + e * e, 0) / v.length;
    };
    assert.ok(varOf((v) => v > 0.6) > varOf((v) => v < 0.4), 'noise variance does not grow with the intensity');
    const v1 = pg.view(y1, y1);
    const v2 = asGauss.view(y1, y1);
    assert.match(v1.likelihood.name ?? '', /poisson-gaussian/);
    assert.ok(Math.abs(v2.sigma - 30 / 255) < 1e-12);
    assert.ok(Math.abs(effectiveSigma(0.02, 5, 0.5) - 255 * Math.sqrt(0.01 + (5 / 255) ** 2)) < 1e-9);
    tf.dispose([x, y1, y2, r]);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.throws(() => poissonGaussianDenoisingTask({ a: 0, sigmaB: 0 }), /no noise/);
    assert.throws(() => poissonGaussianDenoisingTask({ a: 0.01, sigmaB: 2, likelihood: 'gaussian' }), /needs sigmaEff/);
  });

  it('the generalized Anscombe transform stabilises the variance to ≈ 1 and its algebraic inverse undoes it', () => {
    const a = 0.01;
    const b = (8 / 255) ** 2;
    const pg = poissonGaussianDenoisingTask({ a, sigmaB: 8 });
    for (const level of [0.2, 0.8]) {
      const x = tf.fill([1, 64, 64, 1], level) as tf.Tensor4D;
      const y = pg.degrade(x, 11);
      const std = tf.tidy(() => tf.moments(anscombe(y, a, b)).variance.sqrt().dataSync()[0]);
      assert.ok(Math.abs(std - 1) < 0.1, `level ${level}: std of f(y) = ${std}`);
      const back = tf.tidy(() => tf.max(tf.abs(tf.sub(inverseAnscombe(anscombe(x, a, b), a, b), x))).dataSync()[0]);
      assert.ok(back < 1e-5, `inverse: ${back}`);
      tf.dispose([x, y]);
    }
  });

  it('Anscombe + a Gaussian solver, TV with the Poisson–Gaussian data term and a PG-likelihood solver all run on the same measurements; nothing leaks', () => {
    const images = [{ name: 'a', image: smooth() }, { name: 'b', image: smooth(1) }];
    const pg = poissonGaussianDenoisingTask({ a: 0.02, sigmaB: 5 });
    const rim = new Rim({ features: 4, steps: 2, seed: 1 });
    const before = tf.memory().numTensors;
    const ev = evaluate(pg, [anscombeMethod(rim, { name: 'Anscombe + RIM' }), tvMethod({ lambda: 4, iterations: 5, tol: 0 }), { name: 'id', restore: (y) => ({ output: tf.clone(y) }) }], { dataset: 'toy', images, progress: false, keepExamples: 0 });
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    const [input, ans, tv] = ev.rows;
    assert.equal(ans.params, 'generalized Anscombe');
    assert.ok(tv.psnr! > input.psnr!, `TV with the PG data term ${tv.psnr} is not above the input ${input.psnr}`);
    assert.ok(Number.isFinite(ans.psnr!));
    // TV's data term is the task's likelihood: with the Gaussian view it is another objective.
    const asGauss = poissonGaussianDenoisingTask({ a: 0.02, sigmaB: 5, likelihood: 'gaussian', sigmaEff: 60 });
    const ev2 = evaluate(asGauss, [tvMethod({ lambda: 4, iterations: 5, tol: 0 })], { dataset: 'toy', images, progress: false, keepExamples: 0 });
    assert.equal(ev2.rows[0].psnr, input.psnr, 'not the same noisy images');
    assert.notEqual(ev2.rows[1].psnr, tv.psnr, 'TV ignored the likelihood');
    const denoise = { ...asGauss, a: undefined, b: undefined } as never;
    assert.throws(() => evaluate(denoise, [anscombeMethod(rim, { name: 'A' })], { dataset: 'toy', images, progress: false, keepExamples: 0 }), /needs a Poisson–Gaussian task/);
    rim.dispose();
    images.forEach((im) => im.image.dispose());
  });

  it('the shift table is shared: each notebook rewrites the rows of its own tasks and keeps the others, in any order', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-shift-'));
    const row = (task: string, method: string, shift: string, psnr: number): ShiftRow => ({ task, dataset: 'D', setting: 's', method, psnr, ssim: 0.5, source: 'measured', shift });
    saveShiftTable([row('super-resolution', 'bicubic', 'none', 30), row('super-resolution', 'bicubic', 'unseen x3', 30), row('super-resolution', 'RIM', 'none', 31)], 'g', { dir });
    saveShiftTableMerged([row('denoise', 'RIM', 'σ=70', 22)], 'g', { dir, tasks: ['denoise'] });
    saveShiftTableMerged([row('denoise', 'RIM', 'σ=70', 23), { ...row('denoise', 'TV', 'σ=70', 20), params: 'λ=4' }], 'g', { dir, tasks: ['denoise'] });
    const back = readShiftTable('g', { dir });
    assert.deepEqual(back.map((r) => [r.task, r.method, r.shift, r.psnr]), [
      ['super-resolution', 'bicubic', 'none', 30], // saved grouped by shift
      ['super-resolution', 'RIM', 'none', 31],
      ['super-resolution', 'bicubic', 'unseen x3', 30],
      ['denoise', 'RIM', 'σ=70', 23],
      ['denoise', 'TV', 'σ=70', 20],
    ]);
    assert.equal(back[4].params, 'λ=4', 'params survive the round trip');
    // a table written before the params column still reads
    fs.writeFileSync(path.join(dir, 'old.csv'), 'task,dataset,setting,method,psnr,ssim,source,shift\ndenoise,D,s,RIM,20,0.5,measured,none\n');
    assert.deepEqual(readShiftTable('old', { dir }).map((r) => r.shift), ['none']);
    assert.throws(() => saveShiftTableMerged([row('super-resolution', 'X', 'none', 1)], 'g', { dir, tasks: ['denoise'] }), /row of task "super-resolution" \(method "X"\) is not in tasks \[denoise\]/);
    assert.deepEqual(readShiftTable('absent', { dir }), []);
    fs.writeFileSync(path.join(dir, 'bad.csv'), 'task,dataset\n');
    assert.throws(() => readShiftTable('bad', { dir }), /bad\.csv: header is "task,dataset"/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
