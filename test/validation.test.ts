import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '../lib/engine';
import { RawImage } from '../lib/io/image';
import { Rng } from '../lib/io/rng';
import { trainingCurve } from '../lib/report/training_curve';
import { tf } from '../lib/engine';
import { Rim } from '../lib/solvers/learned';
import { saveLearnedSolver } from '../lib/solvers/learned/io';
import { logToCsv, numericsKey, resolveTrainConfig, trainLearnedSolver, TrainConfigInput, validateOnRun } from '../lib/training';
import { ROOT } from './helpers/cli';
import { spawnSync } from 'child_process';

function images(n: number, size: number, channels: 1 | 3 = 1): RawImage[] {
  const rng = new Rng(11);
  return Array.from({ length: n }, () => {
    const [a, b] = [rng.uniform(0.1, 0.4), rng.uniform(0, 6)];
    return { data: Uint8Array.from({ length: size * size * channels }, (_, i) => Math.round(127 + 100 * Math.sin(a * Math.floor(i / channels / size) + b) * Math.cos(0.2 * ((i / channels) % size)))), height: size, width: size, channels };
  });
}

const base = (name: string, extra: Partial<TrainConfigInput> = {}): TrainConfigInput => ({
  name,
  model: { kind: 'rim', features: 4, steps: 2 },
  data: { patchSize: 8, batchSize: 2, holdOut: 2 },
  validation: { every: 2, crop: 16 },
  steps: 4,
  checkpointEvery: 1,
  optimizer: { lr: 1e-2, clipNorm: 0.5 },
  schedule: { type: 'cosine', minLr: 1e-4 },
  seed: 5,
  ...extra,
});

describe('validation during training', function () {
  this.timeout(300_000);
  const quiet = { log: () => undefined, exportDir: false as const };
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('logs the validation PSNR every N steps on held-apart images, keeps the best weights, and resumes exactly', async () => {
    const ims = images(5, 24);
    const fullDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-val-'));
    const full = await trainLearnedSolver(base('val'), { ...quiet, images: ims, runDir: fullDir });
    const validated = full.log.filter((e) => e.valPsnr !== undefined);
    assert.deepEqual(validated.map((e) => e.step), [2, 4]);
    assert.ok(validated.every((e) => Number.isFinite(e.valPsnr) && (e.valPsnr as number) > 5));
    const best = JSON.parse(fs.readFileSync(path.join(fullDir, 'best', 'best.json'), 'utf8')) as { step: number; valPsnr: number };
    assert.equal(best.valPsnr, Math.max(...validated.map((e) => e.valPsnr as number)));
    assert.ok(fs.existsSync(path.join(fullDir, 'best', 'model.json')));
    assert.match(logToCsv(full.log).split('\n')[0], /,val_psnr$/);
    assert.equal(trainingCurve(full.log, 'val').data.length, 3, 'loss, its mean and the validation PSNR');

    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-val-resume-'));
    const controller = new AbortController();
    const first = await trainLearnedSolver(base('val'), { ...quiet, images: ims, runDir, signal: controller.signal, onProgress: (p) => p.step === 3 && controller.abort() });
    first.solver.dispose();
    const resumed = await trainLearnedSolver(base('val'), { ...quiet, images: ims, runDir });
    assert.deepEqual(resumed.log.map((e) => [e.step, e.loss, e.valPsnr]), full.log.map((e) => [e.step, e.loss, e.valPsnr]));
    full.solver.dispose();
    resumed.solver.dispose();
  });

  it('validateOnRun scores a solver on a run\'s crops exactly as the run validated; another seed degrades them otherwise, validation.seed overrides the run\'s; --steps; no leaks', async () => {
    const ims = images(5, 24);
    const full = await trainLearnedSolver(base('val_again'), { ...quiet, images: ims, runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-val-again-')) });
    const before = tf.memory().numTensors;
    const again = await validateOnRun(base('val_again'), full.solver, { images: ims });
    assert.equal(again.psnr, full.log[full.log.length - 1].valPsnr, 'the final weights on the same crops and seed give the logged value');
    assert.deepEqual([again.count, again.crop, again.seed, again.steps], [2, 16, 5, 2]);
    const otherSeed = await validateOnRun(base('val_again', { seed: 6 }), full.solver, { images: ims });
    assert.notEqual(otherSeed.psnr, again.psnr);
    const shared = await validateOnRun(base('val_again', { seed: 6, validation: { every: 2, crop: 16, seed: 5 } }), full.solver, { images: ims });
    assert.deepEqual([shared.psnr, shared.seed], [again.psnr, 5], 'validation.seed fixes the crops\' degradation whatever the run\'s seed');
    const sharedOther = await validateOnRun(base('val_again', { validation: { every: 2, crop: 16, seed: 6 } }), full.solver, { images: ims });
    assert.deepEqual([sharedOther.psnr, sharedOther.seed], [otherSeed.psnr, 6]);
    const longer = await validateOnRun(base('val_again'), full.solver, { images: ims, steps: 5 });
    assert.equal(longer.steps, 5);
    assert.notEqual(longer.psnr, again.psnr);
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(validateOnRun(base('val_again', { validation: undefined }), full.solver, { images: ims }), /train config val_again: no validation section/);
    const color = new Rim({ features: 4, steps: 2, channels: 3 });
    await assert.rejects(validateOnRun(base('val_again'), color, { images: ims }), /restores 3 channel\(s\), run val_again 1/);
    color.dispose();
    full.solver.dispose();
  });

  it('scripts/validate.ts: the same number for a saved model, one JSON line per model; bad input named', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-validate-cli-'));
    try {
      const rim = new Rim({ features: 4, steps: 2, seed: 3 });
      await saveLearnedSolver(rim, path.join(tmp, 'tiny'));
      const config = base('cli_val', { data: { dataset: 'T91', channels: 1, patchSize: 8, batchSize: 2, limit: 2 }, validation: { every: 2, crop: 16, dataset: 'T91', limit: 2 } });
      const file = path.join(tmp, 'cli_val.json');
      fs.writeFileSync(file, JSON.stringify(config));
      const expected = await validateOnRun(config, rim);
      const run = (...args: string[]) => spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'scripts', 'validate.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
      const r = run('--config', file, '--models', path.join(tmp, 'tiny'), '--steps', '2', '--json');
      assert.equal(r.status, 0, r.stderr);
      const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
      // float32 sums: another process may run other convolution kernels (native or wasm), so agree to 1e-4 dB
      assert.ok(Math.abs(json.psnr - expected.psnr) < 1e-4, `${json.psnr} vs ${expected.psnr}`);
      assert.deepEqual([json.crops, json.crop, json.seed, json.steps], [2, 16, 5, 2]);
      const missing = run('--config', path.join(tmp, 'nope.json'), '--models', 'x');
      assert.notEqual(missing.status, 0);
      assert.match(missing.stderr, /--config .*nope\.json: no such file/);
      rim.dispose();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('held-apart images change the numerics (resume key); validation settings do not', () => {
    const model = { kind: 'rim', channels: 1, seed: 5 };
    const a = numericsKey(resolveTrainConfig(base('k')), model);
    assert.notEqual(a, numericsKey(resolveTrainConfig(base('k', { data: { patchSize: 8, batchSize: 2, holdOut: 3 } })), model));
    assert.equal(a, numericsKey(resolveTrainConfig(base('k', { validation: { every: 7, crop: 24 } })), model));
  });

  it('refuses a test set, and validation without held-apart images', async () => {
    await assert.rejects(
      trainLearnedSolver(base('bad', { validation: { every: 2, crop: 16, dataset: 'BSD68' } }), { ...quiet, images: images(4, 24), runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-val-bad-')) }),
      /validation.dataset BSD68 is a test set/,
    );
    await assert.rejects(
      trainLearnedSolver(base('bad2', { data: { patchSize: 8, batchSize: 2 } }), { ...quiet, images: images(4, 24), runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-val-bad2-')) }),
      /validation needs held-apart images: set data.holdOut/,
    );
  });

  it('a gray run validates on a colour training-use set (T91) in gray', async () => {
    const r = await trainLearnedSolver(base('val_gray', { data: { patchSize: 8, batchSize: 2 }, validation: { every: 2, crop: 16, dataset: 'T91', limit: 1 }, steps: 2 }), {
      ...quiet,
      images: images(4, 24),
      runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-val-gray-')),
    });
    assert.ok(Number.isFinite(r.log[1].valPsnr as number));
    r.solver.dispose();
  });

  it('data.dropSmall leaves out training images smaller than the patch, and says how many; without it the small image is an error', async () => {
    const mixed = [...images(2, 24), ...images(1, 6), ...images(1, 24)];
    const noVal = { data: { patchSize: 8, batchSize: 2 }, validation: undefined, steps: 1 };
    await assert.rejects(
      trainLearnedSolver(base('small', noVal), { ...quiet, images: mixed, runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-small-')) }),
      /image 2 \(6x6\) is smaller than the patch size 8/,
    );
    const lines: string[] = [];
    const r = await trainLearnedSolver(base('small', { ...noVal, data: { ...noVal.data, dropSmall: true } }), {
      ...quiet,
      log: (l: string) => lines.push(l),
      images: mixed,
      runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-small-drop-')),
    });
    assert.ok(Number.isFinite(r.log[0].loss));
    assert.ok(lines.some((l) => /left out 1 of 4 training images smaller than the 8x8 patch/.test(l)), lines.join('\n'));
    r.solver.dispose();
    await assert.rejects(
      trainLearnedSolver(base('small', { ...noVal, data: { patchSize: 30, batchSize: 2, dropSmall: true } }), { ...quiet, images: mixed, runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-small-none-')) }),
      /no training images of at least 30x30/,
    );
  });

  it('SR: the validation crops are split among the scales like a batch', async () => {
    const r = await trainLearnedSolver(
      base('val_sr', { task: { kind: 'super-resolution', scales: [2, 4], channel: 'same' }, data: { patchSize: 8, batchSize: 2, holdOut: 2 }, validation: { every: 2, crop: 16 }, steps: 2 }),
      { ...quiet, images: images(5, 24), runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-val-sr-')) },
    );
    assert.ok(Number.isFinite(r.log[1].valPsnr as number));
    r.solver.dispose();
  });
});
