import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { z } from 'zod';
import { initEngine, tf } from '../lib/engine';
import { evaluate, learnedMethod, linearTask, saveShiftTable, shiftFigure, superResolutionTask, tvMethod, wrapWords } from '../lib/experiments';
import { RawImage } from '../lib/io/image';
import { Rng } from '../lib/io/rng';
import { gaussianLikelihood } from '../lib/likelihoods';
import { mask } from '../lib/operators';
import { legacyNumericsKey, numericsKey, resolveTrainConfig, trainLearnedSolver, trainStep, TrainConfigInput } from '../lib/training';
import { Rim } from '../lib/solvers/learned';
import { disposeGroups, registerTask, resolveTask, superResolutionTrainingTask, TaskDefinition, taskDefinition } from '../lib/tasks';
import { oldFormatRuns, RUNS_DIR } from './helpers/runs';

/** Smooth synthetic 8-bit images (no data set needed). */
function syntheticImages(n: number, size: number, channels: 1 | 3, seed = 1): RawImage[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const data = new Uint8Array(size * size * channels);
    const [a, b, c] = [rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3), rng.uniform(0, 6)];
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        for (let k = 0; k < channels; k++) data[(i * size + j) * channels + k] = Math.round(127 + 100 * Math.sin(a * i + c + k) * Math.cos(b * j));
      }
    }
    return { data, height: size, width: size, channels };
  });
}

/** Inpainting as a new task: a definition (training) and an evaluation task, nothing else. */
interface InpaintParams {
  keep: number;
  sigma: number;
}
const inpaintTask: TaskDefinition<InpaintParams> = {
  kind: 'inpaint-test',
  description: 'random pixel masks with Gaussian noise',
  params: z.object({ keep: z.number().gt(0).max(1).default(0.5), sigma: z.number().positive().default(5) }).strict() as unknown as z.ZodType<InpaintParams, z.ZodTypeDef, unknown>,
  degradeBatch(clean, p, seed) {
    const rng = new Rng(seed);
    const [b, h, w] = clean.shape;
    const m = tf.tidy(() => tf.cast(tf.less(tf.randomUniform([b, h, w, 1], 0, 1, 'float32', Math.floor(rng.next() * 1e9) + 1), p.keep), 'float32'));
    const likelihood = gaussianLikelihood(mask(m), { sigma: p.sigma / 255 });
    m.dispose();
    const y = likelihood.sample(clean, Math.floor(rng.next() * 1e9) + 1);
    return [{ clean: clean.clone(), y, likelihood, describe: `keep ${p.keep}` }];
  },
};

describe('tasks', function () {
  this.timeout(300_000);
  before(async () => {
    await initEngine();
  });

  describe('strict configs', () => {
    const base: TrainConfigInput = { name: 'x', model: { kind: 'rim', features: 4, steps: 2 } };
    it('an unknown or misspelt key fails with its path named', () => {
      assert.throws(() => resolveTrainConfig({ ...base, model: { kind: 'rim', featurs: 8 } as never }), /unknown key\(s\) "model\.featurs"/);
      assert.throws(() => resolveTrainConfig({ ...base, optimiser: {} } as never), /unknown key\(s\) "optimiser"/);
      assert.throws(() => resolveTrainConfig({ ...base, data: { patchsize: 32 } } as never), /unknown key\(s\) "data\.patchsize"/);
      assert.throws(() => resolveTrainConfig({ ...base, task: { kind: 'super-resolution', scale: [2] } }), /unknown key\(s\) "task\.scale"/);
      assert.throws(() => resolveTrainConfig({ ...base, task: { kind: 'denoising' } }), /task\.kind: unknown task kind "denoising" \(known: denoise, super-resolution, deblur, poisson-gaussian/);
      assert.throws(() => resolveTrainConfig({ ...base, schedule: { type: 'cosine', minLr: 1e-5, warmpu: 3 } } as never), /unknown key\(s\) "schedule\.warmpu"/);
      assert.throws(() => resolveTrainConfig({ ...base, noise: { sigmaMin: 5 }, task: { kind: 'denoise' } }), /either as "noise".*or in "task", not both/);
    });

    it('defaults (the model\'s and the task\'s) are in the resume key', () => {
      const plain = resolveTrainConfig(base);
      const explicit = resolveTrainConfig({ ...base, task: { kind: 'denoise', sigmaMin: 5, sigmaMax: 55 }, data: { dataset: 'Train400', patchSize: 32, batchSize: 8, augment: true } });
      assert.deepEqual(plain.task, { kind: 'denoise', sigmaMin: 5, sigmaMax: 55 });
      const a = new Rim({ ...plain.model, channels: 1 } as never);
      const b = new Rim({ ...explicit.model, cell: 'bench', link: 'identity', channels: 1 } as never);
      try {
        assert.equal(numericsKey(plain, a.config), numericsKey(explicit, b.config), 'spelling a default out changes nothing');
        const key = JSON.parse(numericsKey(plain, a.config));
        assert.equal(key.model.useGradient, true, 'model defaults are in the key');
        assert.equal(key.model.gruKernel, 3);
        assert.equal(key.task.sigmaMax, 55, 'task defaults are in the key');
        const other = resolveTrainConfig({ ...base, task: { kind: 'denoise', sigmaMax: 50 } });
        assert.notEqual(numericsKey(other, a.config), numericsKey(plain, a.config));
      } finally {
        a.dispose();
        b.dispose();
      }
    });

    it('denoise with quantize: the noisy patch is clipped and rounded to 8 bits, and only the quantized config has a new resume key', () => {
      const def = taskDefinition('denoise');
      const plainP = resolveTask({ kind: 'denoise' }, 'test').params;
      const qP = resolveTask({ kind: 'denoise', quantize: true }, 'test').params;
      assert.deepEqual(plainP, { kind: 'denoise', sigmaMin: 5, sigmaMax: 55 }, 'no quantize key unless asked: older runs keep their key');
      assert.throws(() => resolveTask({ kind: 'denoise', quantize: 'yes' }, 'cfg.json'), /quantize/);
      const before = tf.memory().numTensors;
      const clean = tf.tidy(() => tf.concat([tf.fill([1, 8, 8, 3], 0.02), tf.fill([1, 8, 8, 3], 0.98)]) as tf.Tensor4D);
      const [plain] = def.degradeBatch(clean, plainP as never, 5);
      const [q] = def.degradeBatch(clean, qP as never, 5);
      try {
        const yp = plain.y.dataSync();
        const yq = q.y.dataSync();
        assert.ok(Math.min(...yp) < 0 && Math.max(...yp) > 1, 'plain noise leaves [0, 1] near the edges');
        assert.ok(Math.min(...yq) >= 0 && Math.max(...yq) <= 1, 'quantized y stays in [0, 1]');
        for (let i = 0; i < yq.length; i++) {
          assert.ok(Math.abs(yq[i] * 255 - Math.round(yq[i] * 255)) < 1e-4, `y[${i}] = ${yq[i]} is not an 8-bit level`);
          assert.ok(Math.abs(yq[i] - Math.min(1, Math.max(0, yp[i]))) <= 0.5 / 255 + 1e-6, 'same noise draw, then clip and round');
        }
        assert.match(def.summary!(qP as never), /8 bits/);
      } finally {
        disposeGroups([plain, q]);
        clean.dispose();
      }
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
      const cfg = resolveTrainConfig({ ...base, task: { kind: 'denoise', quantize: true } });
      assert.notEqual(numericsKey(cfg, {}), numericsKey(resolveTrainConfig(base), {}), 'quantize changes the resume key');
    });

    it('the committed old-format runs keep their older resume key (they resume exactly)', function () {
      const old = oldFormatRuns();
      if (old.length === 0) this.skip();
      for (const name of old) {
        const { dir } = JSON.parse(fs.readFileSync(path.join(RUNS_DIR, name, 'latest.json'), 'utf8')) as { dir: string };
        const key = (JSON.parse(fs.readFileSync(path.join(RUNS_DIR, name, dir, 'state.json'), 'utf8')) as { configKey: string }).configKey;
        const config = resolveTrainConfig(JSON.parse(fs.readFileSync(path.join('configs', `${name}.json`), 'utf8')));
        assert.equal(legacyNumericsKey(config), key, name);
      }
    });

    it('every shipped learned-solver config validates, SR included', () => {
      // seg_*.json are segmenter configs, checked by their own schema.
      for (const f of fs.readdirSync('configs').filter((f) => f.endsWith('.json') && !f.startsWith('seg_'))) {
        const c = resolveTrainConfig(JSON.parse(fs.readFileSync(path.join('configs', f), 'utf8')), f);
        assert.ok(taskDefinition(c.task.kind), f);
      }
    });

    it('every shipped config (learned solvers and segmenters) has its row in configs/README.md', () => {
      const readme = fs.readFileSync(path.join('configs', 'README.md'), 'utf8');
      const missing = fs.readdirSync('configs').filter((f) => f.endsWith('.json') && !readme.includes(`| \`${f}\` |`));
      assert.deepEqual(missing, [], `configs/README.md has no table row for ${missing.join(', ')}: say what each config trains and how it came out`);
    });
  });

  describe('super-resolution training task', () => {
    it('splits a batch into one group per scale: LR sizes, 8-bit LR, luma targets, bicubic start', () => {
      const { params } = resolveTask({ kind: 'super-resolution' });
      const before = tf.memory().numTensors;
      const clean = tf.tidy(() => tf.div(tf.tensor4d(Array.from(syntheticImages(6, 24, 3).flatMap((im) => [...im.data])), [6, 24, 24, 3]), 255)) as tf.Tensor4D;
      const groups = superResolutionTrainingTask.degradeBatch(clean, params as never, 7);
      assert.deepEqual(groups.map((g) => g.y.shape), [[2, 12, 12, 1], [2, 8, 8, 1], [2, 6, 6, 1]]);
      assert.deepEqual(groups.map((g) => g.clean.shape), [[2, 24, 24, 1], [2, 24, 24, 1], [2, 24, 24, 1]]);
      assert.deepEqual(groups.map((g) => g.x0?.shape), [[2, 24, 24, 1], [2, 24, 24, 1], [2, 24, 24, 1]]);
      assert.match(groups[1].describe, /^x3, σ·255 = \[/);
      // The luma of an 8-bit RGB LR image: within the luma of the noise-free LR by the noise and rounding.
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(groups[0].likelihood.operator.forward(groups[0].clean), groups[0].y))).dataSync()[0]);
      assert.ok(err < 8 / 255, `LR luma off by ${err * 255} levels`);
      const again = superResolutionTrainingTask.degradeBatch(clean, params as never, 7);
      assert.deepEqual(Array.from(again[2].y.dataSync()), Array.from(groups[2].y.dataSync()), 'same seed, same batch');
      disposeGroups(again);
      disposeGroups(groups);
      clean.dispose();
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      assert.throws(() => superResolutionTrainingTask.degradeBatch(tf.zeros([4, 12, 12, 3]) as tf.Tensor4D, params as never, 1), /batch size 4 is not a multiple of the 3 scales/);
    });

    it('a multi-scale batch trains one step and lowers the loss', () => {
      const { params } = resolveTask({ kind: 'super-resolution', scales: [2, 3, 4] });
      const rim = new Rim({ features: 4, steps: 2, seed: 1 });
      const optimizer = tf.train.adam(3e-3);
      const clean = tf.tidy(() => tf.div(tf.tensor4d(Array.from(syntheticImages(3, 24, 3, 5).flatMap((im) => [...im.data])), [3, 24, 24, 3]), 255)) as tf.Tensor4D;
      const groups = superResolutionTrainingTask.degradeBatch(clean, params as never, 3);
      const first = trainStep(rim, optimizer, groups, { lr: 3e-3, clipNorm: 0 });
      const before = tf.memory().numTensors;
      const second = trainStep(rim, optimizer, groups, { lr: 3e-3, clipNorm: 0 });
      assert.equal(tf.memory().numTensors, before, 'no tensors survive a step');
      assert.ok(first.applied && second.applied);
      assert.ok(second.loss < first.loss, `loss ${first.loss} -> ${second.loss}`);
      disposeGroups(groups);
      clean.dispose();
      optimizer.dispose();
      rim.dispose();
    });

    it('every registered task (denoise, super-resolution, deblur, poisson-gaussian) trains one step of a tiny RIM', async () => {
      for (const task of [{ kind: 'denoise' }, { kind: 'super-resolution', scales: [2, 4] }, { kind: 'deblur', kernelSize: 5 }, { kind: 'poisson-gaussian' }]) {
        const result = await trainLearnedSolver(
          { name: `tiny_${task.kind}`, model: { kind: 'rim', features: 4, steps: 2 }, task, data: { patchSize: 16, batchSize: 2, channels: task.kind === 'super-resolution' ? 3 : 1 }, steps: 1 },
          { images: syntheticImages(2, 24, task.kind === 'super-resolution' ? 3 : 1), runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-task-')), exportDir: false, log: () => undefined },
        );
        assert.ok(Number.isFinite(result.log[0].loss), `${task.kind}: loss ${result.log[0].loss}`);
        assert.equal(result.solver.config.channels, 1, task.kind);
        result.solver.dispose();
      }
    });

    it('patch sizes must be multiples of every scale, batch sizes of the number of scales', async () => {
      await assert.rejects(
        trainLearnedSolver(
          { name: 'sr_bad', model: { kind: 'rim', features: 4, steps: 2 }, task: { kind: 'super-resolution', scales: [2, 3] }, data: { patchSize: 16, batchSize: 2 }, steps: 1 },
          { images: syntheticImages(2, 32, 3), runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-sr-')), exportDir: false, log: () => undefined },
        ),
        /patchSize 16 must be a multiple of 6/,
      );
      await assert.rejects(
        trainLearnedSolver(
          { name: 'sr_bad_batch', model: { kind: 'rim', features: 4, steps: 2 }, task: { kind: 'super-resolution', scales: [2, 3, 4] }, data: { patchSize: 12, batchSize: 4 }, steps: 1 },
          { images: syntheticImages(2, 32, 3), runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-sr-')), exportDir: false, log: () => undefined },
        ),
        /batchSize 4 must be a multiple of 3/,
      );
    });
  });

  describe('a new task from a config and a task definition only', () => {
    it('inpainting: trains two steps, then evaluates beside TV', async () => {
      registerTask(inpaintTask);
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-inpaint-'));
      const before = tf.memory().numTensors;
      const result = await trainLearnedSolver(
        { name: 'rim_inpaint', model: { kind: 'rim', features: 4, steps: 3 }, task: { kind: 'inpaint-test', keep: 0.6, sigma: 5 }, data: { patchSize: 16, batchSize: 2 }, steps: 2, checkpointEvery: 1 },
        { images: syntheticImages(3, 32, 1), runDir, exportDir: false, log: () => undefined },
      );
      assert.equal(result.step, 2);
      assert.equal(result.log.length, 2);
      assert.ok(result.log.every((e) => Number.isFinite(e.loss)));
      assert.deepEqual(result.config.task, { kind: 'inpaint-test', keep: 0.6, sigma: 5 });

      const m = tf.tidy(() => tf.cast(tf.less(tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 11), 0.6), 'float32'));
      const op = mask(m);
      const task = linearTask({ task: 'inpaint', setting: 'keep=0.6, sigma=5', operator: op, sigma: 5, seed: 100 });
      const images = syntheticImages(2, 32, 1, 9).map((im, i) => ({ name: `im${i}`, image: tf.tidy(() => tf.div(tf.tensor4d(Array.from(im.data), [1, 32, 32, 1]), 255)) as tf.Tensor4D }));
      const ev = evaluate(task, [tvMethod({ lambda: 2, iterations: 5 }), learnedMethod(result.solver, { name: 'RIM' })], { dataset: 'synthetic', images, curveImages: 1, keepExamples: 0, progress: false });
      assert.deepEqual(ev.rows.map((r) => r.method), ['degraded input', 'TV (L-BFGS)', 'RIM']);
      assert.ok(ev.rows.every((r) => r.task === 'inpaint' && Number.isFinite(r.psnr) && (r.ssim ?? 2) <= 1));
      assert.equal(ev.methods[1].curve.length, 6, 'the learned curve runs to 2T');
      assert.deepEqual(ev.methods.map((m) => m.horizon), [undefined, 3], 'the learned method carries its T, the classical one none');
      assert.ok(ev.methods[0].curve.length >= 1, 'TV records its iterations');
      // Same measurements for every method: the input row does not depend on the methods.
      const alone = evaluate(task, [tvMethod({ lambda: 2, iterations: 5 })], { dataset: 'synthetic', images, keepExamples: 0, progress: false });
      assert.equal(alone.rows[0].psnr, ev.rows[0].psnr);
      assert.equal(alone.rows[1].psnr, ev.rows[1].psnr);
      tf.dispose([m, ...images.map((i) => i.image)]);
      op.dispose();
      result.solver.dispose();
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    });
  });

  describe('super-resolution evaluation view', () => {
    it('a learned solver restores the luma from the bicubic start, chroma stays bicubic, output 8-bit', () => {
      const task = superResolutionTask({ scale: 2 });
      const rim = new Rim({ features: 4, steps: 2, seed: 2 });
      const images = syntheticImages(1, 24, 3, 4).map((im) => ({ name: 'rgb', image: tf.tidy(() => tf.div(tf.tensor4d(Array.from(im.data), [1, 24, 24, 3]), 255)) as tf.Tensor4D }));
      const before = tf.memory().numTensors;
      const ev = evaluate(task, [learnedMethod(rim, { name: 'RIM' })], { dataset: 'synthetic', images, curveImages: 1, keepExamples: 1, progress: false });
      const out = ev.methods[0].examples[0].output;
      assert.deepEqual(out.shape, [1, 24, 24, 3]);
      const off = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.mul(out, 255), tf.round(tf.mul(out, 255))))).dataSync()[0]);
      assert.ok(off < 1e-3, 'output on 8-bit levels');
      assert.equal(ev.methods[0].curve.length, 4);
      for (const e of ev.methods[0].examples) tf.dispose([e.truth, e.input, e.output]);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      rim.dispose();
      images[0].image.dispose();
    });
  });

  describe('generalization pieces', () => {
    it('noisy-LR SR task: seeded noise on the 8-bit LR, likelihood σ = the noise, its own protocol seed', () => {
      const clean = superResolutionTask({ scale: 3 });
      const noisy = superResolutionTask({ scale: 3, noise: 5 });
      assert.equal(noisy.sigma, 5 / 255);
      assert.equal(noisy.setting, 'x3, LR noise sigma=5');
      assert.notEqual(noisy.seed, clean.seed);
      const hr = tf.tidy(() => tf.div(tf.tensor4d(Array.from(syntheticImages(1, 24, 3, 2)[0].data), [1, 24, 24, 3]), 255)) as tf.Tensor4D;
      const [a, b, c] = [noisy.degrade(hr, 4), noisy.degrade(hr, 4), clean.degrade(hr, 4)];
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), 'same seed, same noise');
      const std = tf.tidy(() => Math.sqrt(tf.mean(tf.square(tf.sub(a, c))).dataSync()[0]) * 255);
      assert.ok(std > 3 && std < 7, `noise std ${std} levels`);
      const off = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.mul(a, 255), tf.round(tf.mul(a, 255))))).dataSync()[0]);
      assert.ok(off < 1e-3, 'noisy LR on 8-bit levels');
      tf.dispose([hr, a, b, c]);
    });

    it('the shift table: long schema plus a shift column; a row without a shift is an error; gains figure', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-shift-'));
      const row = (method: string, psnr: number, shift: string) => ({ task: 'super-resolution', dataset: 'Set5', setting: 'x3', method, psnr, ssim: 0.9, source: 'measured', shift });
      const rows = [row('bicubic', 30, 'none'), row('RIM', 32, 'none'), row('bicubic', 30, 'denoiser on SR'), row('RIM', 29, 'denoiser on SR')];
      const { csv, md } = saveShiftTable(rows, 'gen', { dir });
      const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
      assert.equal(lines[0], 'task,dataset,setting,method,psnr,ssim,source,shift,params');
      assert.equal(lines.length, 5);
      assert.match(lines[4], /,RIM,29,0\.9,measured,denoiser on SR,$/);
      assert.match(fs.readFileSync(md, 'utf8'), /Shift: denoiser on SR/);
      assert.throws(() => saveShiftTable([{ ...rows[0], shift: '' }], 'gen', { dir }), /row 0 \(method "bicubic"\) has no shift/);
      const fig = shiftFigure(rows, { baseline: 'bicubic' });
      assert.deepEqual((fig.data[0] as { y: number[] }).y, [2, -1]);
      assert.deepEqual((fig.data[0] as { x: string[] }).x.map((l) => l.split('<br>').slice(0, -1).join(' / ')), ['none', 'denoiser / on SR']);
      assert.equal(wrapWords('LR noise σ=10', 10), 'LR noise<br>σ=10');
      assert.equal(wrapWords('unrecognisably-long label', 10), 'unrecognisably-long<br>label');
    });
  });
});
