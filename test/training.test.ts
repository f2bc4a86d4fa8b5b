import { strict as assert } from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { RawImage, Rng } from '../lib/io';
import { formatEta, ProgressBar } from '../lib/report/progress';
import { createProblem } from '../lib/solvers/classical';
import { loadLearnedSolver, Rim } from '../lib/solvers/learned';
import {
  blindNoise,
  clipByGlobalNorm,
  exportCheckpoint,
  iterateLoss,
  latestCheckpoint,
  learningRate,
  LogEntry,
  mixSeed,
  redrawModelCurve,
  resolveTrainConfig,
  TrainConfigInput,
  trainLearnedSolver,
  TrainingDivergedError,
  trainStep,
  withMemoryHint,
} from '../lib/training';
import { writeFolderAtomic } from '../lib/util/atomic';
import { verifyChecksums } from '../lib/util/checksums';
import { syntheticImages } from './helpers/images';

/** A tiny configuration: RIM-bench cell with F = 4, T = 2, batch 2 of 8×8 patches. */
function tinyConfig(name: string, extra: Partial<TrainConfigInput> = {}): TrainConfigInput {
  return {
    name,
    model: { kind: 'rim', features: 4, steps: 2 },
    data: { dataset: 'Train400', patchSize: 8, batchSize: 2 },
    steps: 6,
    checkpointEvery: 2,
    optimizer: { lr: 1e-2, clipNorm: 0.5 },
    schedule: { type: 'cosine', minLr: 1e-4 },
    seed: 3,
    ...extra,
  };
}

const numbers = (log: LogEntry[]) => log.map((e) => [e.step, e.loss, e.lr, e.gradNorm]);

describe('training', function () {
  this.timeout(60000);
  let dir: string;
  const images = syntheticImages(4, 20);
  const quiet = { log: () => undefined, figures: false } as const;

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-training-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('pieces', () => {
    it('learning-rate schedules: constant, step decay, cosine, warm-up', () => {
      assert.equal(learningRate({ type: 'constant' }, 1e-3, 500, 1000), 1e-3);
      assert.equal(learningRate({ type: 'step', every: 100, gamma: 0.5 }, 1, 250, 1000), 0.25);
      assert.ok(Math.abs(learningRate({ type: 'cosine', minLr: 0 }, 1, 50, 100) - 0.5) < 1e-12);
      assert.equal(learningRate({ type: 'cosine', minLr: 0.1 }, 1, 0, 100), 1);
      assert.ok(Math.abs(learningRate({ type: 'cosine', minLr: 0.1 }, 1, 100, 100) - 0.1) < 1e-12);
      assert.equal(learningRate({ type: 'constant', warmup: 4 }, 1, 1, 100), 0.5);
    });

    it('clips by global norm, leaving small gradients alone', () => {
      const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) };
      const { grads, norm } = clipByGlobalNorm(g, 1);
      assert.equal(norm.dataSync()[0], 5);
      assert.ok(Math.abs(grads.a.dataSync()[0] - 0.6) < 1e-6 && Math.abs(grads.b.dataSync()[1] - 0.8) < 1e-6);
      const loose = clipByGlobalNorm(g, 10);
      assert.deepEqual(Array.from(loose.grads.b.dataSync()), [0, 4]);
      tf.dispose([g.a, g.b, norm, loose.norm, ...Object.values(grads), ...Object.values(loose.grads)]);
    });

    it('blind noise: σ in [σmin, σmax]/255 per patch, reproducible from the seed', () => {
      const clean = tf.fill([3, 4, 4, 1], 0.5) as tf.Tensor4D;
      const a = blindNoise(clean, 5, 55, mixSeed(1, 2, 7));
      const b = blindNoise(clean, 5, 55, mixSeed(1, 2, 7));
      const c = blindNoise(clean, 5, 55, mixSeed(1, 2, 8));
      assert.ok(a.sigmas.every((s) => s >= 5 / 255 && s <= 55 / 255));
      assert.deepEqual(Array.from(a.y.dataSync()), Array.from(b.y.dataSync()));
      assert.notDeepEqual(Array.from(a.y.dataSync()), Array.from(c.y.dataSync()));
      for (const n of [a, b, c]) {
        n.y.dispose();
        n.likelihood.operator.dispose();
      }
      clean.dispose();
    });

    it('the loss is the mean over iterates of the MSE (w_t = 1), or the weighted mean', () => {
      const truth = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
      const xs = [tf.fill([1, 2, 2, 1], 1), tf.fill([1, 2, 2, 1], 3)] as tf.Tensor4D[];
      const l = iterateLoss(xs, truth);
      const w = iterateLoss(xs, truth, [0, 1]);
      assert.equal(l.dataSync()[0], 5);
      assert.equal(w.dataSync()[0], 9);
      tf.dispose([truth, ...xs, l, w]);
    });

    it('config errors name the field', () => {
      assert.throws(() => resolveTrainConfig({ ...tinyConfig('x'), steps: 0 }), /steps: must be a positive integer/);
      assert.throws(() => resolveTrainConfig({ ...tinyConfig('x'), noise: { sigmaMin: 0 } }), /noise needs 0 < sigmaMin/);
      assert.throws(() => resolveTrainConfig({ ...tinyConfig('bad name!') }), /name: must be a file-safe string/);
      assert.throws(() => resolveTrainConfig({ ...tinyConfig('x'), model: { kind: 'unet' } as never }), /model.kind: must be 'rim', 'lgd', 'lgn', 'spade' or 'cnn'/);
    });

    it('the shipped configs are valid', () => {
      const root = path.resolve(__dirname, '..', 'configs');
      for (const f of ['rim_gray.json', 'lgd_gray.json', 'rim_gray_nograd.json', 'rim_color.json']) {
        const c = resolveTrainConfig(JSON.parse(fs.readFileSync(path.join(root, f), 'utf8')));
        assert.equal(c.name, f.replace(/\.json$/, ''));
      }
    });

    it('a progress bar renders done/total, fields, rate and ETA; lines mode prints sparse lines', () => {
      const out: string[] = [];
      const stream = { write: (s: string) => out.push(s) !== 0, isTTY: false } as unknown as NodeJS.WritableStream;
      const bar = new ProgressBar({ total: 10, label: 'train', stream, mode: 'lines', lineEveryMs: 60000 });
      for (let i = 1; i <= 10; i++) bar.update(i, { loss: 0.0123 });
      bar.done('finished');
      assert.equal(out.length, 3, 'first line, last line, message');
      assert.match(out[0], /^train \[#+\.+\]\s+10% 1\/10 \| loss 0\.0123 \| .* \| ETA /);
      assert.match(out[1], /100% 10\/10 .* took /);
      assert.equal(formatEta(185), '3m05s');
      assert.equal(formatEta(3720), '1h02m');
      const tty: string[] = [];
      const ttyBar = new ProgressBar({ total: 2, stream: { write: (s: string) => tty.push(s) !== 0, isTTY: true, columns: 80 } as unknown as NodeJS.WritableStream });
      ttyBar.update(1);
      ttyBar.update(2);
      ttyBar.done();
      assert.equal(ttyBar.mode, 'tty');
      assert.ok(tty[0].startsWith('\r') && tty[0].endsWith('\x1b[K') && tty[tty.length - 1] === '\n');
    });
  });

  describe('optimisation', () => {
    it('one optimizer step lowers the loss on a fixed batch, and leaks no tensors', () => {
      const rim = new Rim({ features: 4, steps: 2, seed: 1 });
      const optimizer = tf.train.adam(1e-3);
      const clean = tf.tidy(() => tf.add(0.5, tf.mul(0.3, tf.sin(tf.mul(tf.range(0, 2 * 64), 0.3)))).reshape([2, 8, 8, 1])) as tf.Tensor4D;
      const noisy = blindNoise(clean, 25, 25, 1);
      const first = trainStep(rim, optimizer, [{ clean, y: noisy.y, likelihood: noisy.likelihood, describe: 'bench' }], { lr: 1e-3, clipNorm: 0 });
      const before = tf.memory().numTensors;
      const second = trainStep(rim, optimizer, [{ clean, y: noisy.y, likelihood: noisy.likelihood, describe: 'bench' }], { lr: 1e-3, clipNorm: 0 });
      assert.equal(tf.memory().numTensors, before, 'no tensors survive a step (after Adam created its moments)');
      assert.ok(first.applied && second.applied);
      assert.ok(second.loss < first.loss, `loss ${first.loss} -> ${second.loss}`);
      tf.dispose([clean, noisy.y]);
      noisy.likelihood.operator.dispose();
      optimizer.dispose();
      rim.dispose();
    });
  });

  it('an out-of-memory trap in a training step becomes an error naming the sizes to reduce; other errors pass through', () => {
    const config = resolveTrainConfig(tinyConfig('oom'));
    assert.throws(() => withMemoryHint(() => { throw new RangeError('memory access out of bounds'); }, config), /train config oom: one training step ran out of the engine's memory .*data\.batchSize 2 × data\.patchSize 8² × model\.steps 2/);
    assert.throws(() => withMemoryHint(() => { throw new Error('shapes differ'); }, config), /^Error: shapes differ$/);
    assert.equal(withMemoryHint(() => 3, config), 3);
  });

  describe('trainLearnedSolver', () => {
    /** Trains in `runDir` and aborts (as Ctrl-C does) after step `step`. */
    const trainUntilAbort = (config: TrainConfigInput, runDir: string, step: number) => {
      const controller = new AbortController();
      return trainLearnedSolver(config, {
        ...quiet,
        images,
        runDir,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step === step) controller.abort();
        },
      });
    };
    /**
     * The uninterrupted 6-step run that the export and resume tests compare with: trained here,
     * once, in its own folder, which no test writes to (so every test stands alone).
     */
    const reference = { runDir: '', log: [] as LogEntry[], weights: [] as Float32Array[] };
    before(async () => {
      reference.runDir = path.join(dir, 'reference');
      const r = await trainLearnedSolver(tinyConfig('reference'), { ...quiet, images, runDir: reference.runDir, exportDir: false });
      reference.log = r.log;
      reference.weights = r.solver.getWeights().map((w) => {
        const v = w.tensor.dataSync() as Float32Array;
        w.tensor.dispose();
        return v;
      });
      r.solver.dispose();
    });

    it('trains, checkpoints, logs and exports; no tensors leak', async () => {
      const before = tf.memory().numTensors;
      const runDir = path.join(dir, 'full');
      const exportDir = path.join(dir, 'models', 'full');
      const progress: number[] = [];
      const result = await trainLearnedSolver(tinyConfig('full'), { ...quiet, images, runDir, exportDir, onProgress: (p) => progress.push(p.step) });
      assert.equal(result.stopped, 'completed');
      assert.equal(result.step, 6);
      assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(numbers(result.log), numbers(reference.log), 'the same configuration gives the same numbers');
      // The engine names the backend and, when the oneDNN convs ran, says so.
      const { native } = await initEngine({ quiet: true });
      const engine = native ? new RegExp(`^${tf.getBackend()} \\+ oneDNN \\S+ convs \\(\\d+ threads?\\)$`) : new RegExp(`^${tf.getBackend()}$`);
      assert.ok(result.log.every((e) => Number.isFinite(e.loss) && engine.test(e.engine)), result.log[0].engine);
      const csv = fs.readFileSync(path.join(runDir, 'log.csv'), 'utf8').trim().split('\n');
      assert.equal(csv[0], 'step,loss,lr,grad_norm,wall_time_s,step_time_s,engine');
      assert.equal(csv.length, 7);
      assert.equal(Number(csv[3].split(',')[1]), result.log[2].loss, 'CSV losses round-trip exactly');
      assert.equal(latestCheckpoint(runDir)?.step, 6);
      assert.deepEqual(fs.readdirSync(path.join(runDir, 'checkpoints')).sort(), ['step-000004', 'step-000006'], 'keeps the newest 2');
      const info = JSON.parse(fs.readFileSync(path.join(exportDir, 'train.json'), 'utf8'));
      assert.equal(info.steps, 6);
      assert.equal(info.engine, result.log[0].engine);
      assert.ok(typeof info.wallTimeSeconds === 'number' && /^[0-9a-f]{64}$/.test(info.weightsSha256));
      const loaded = await loadLearnedSolver(exportDir);
      assert.equal(loaded.paramCount(), result.solver.paramCount());
      loaded.dispose();
      result.solver.dispose();
      assert.equal(tf.memory().numTensors, before);
    });

    it('exports a checkpoint of a run as a model folder with the log up to its step', async () => {
      const runDir = reference.runDir;
      const checkpoint = path.join(runDir, 'checkpoints', 'step-000004');
      const out = path.join(dir, 'models', 'full_step4');
      const before = tf.memory().numTensors;
      await exportCheckpoint(checkpoint, out, { name: 'full_step4', command: 'test' });
      const info = JSON.parse(fs.readFileSync(path.join(out, 'train.json'), 'utf8'));
      assert.equal(info.name, 'full_step4');
      assert.equal(info.steps, 4);
      assert.match(info.snapshotOf, /step-000004 \(step 4\)/);
      const log = JSON.parse(fs.readFileSync(path.join(out, 'training_log.json'), 'utf8')).entries as LogEntry[];
      assert.deepEqual(numbers(log), numbers(reference.log.slice(0, 4)));
      const [a, b] = [await loadLearnedSolver(out), await loadLearnedSolver(checkpoint)];
      const [wa, wb] = [a.getWeights(), b.getWeights()];
      wa.forEach((w, i) => assert.deepEqual(w.tensor.dataSync(), wb[i].tensor.dataSync(), w.name));
      tf.dispose([...wa, ...wb].map((w) => w.tensor));
      a.dispose();
      b.dispose();
      assert.equal(tf.memory().numTensors, before);
      await assert.rejects(exportCheckpoint(runDir, path.join(dir, 'bad'), {}), /not a training checkpoint/);
      // With drawCurve: the curve of the log up to the checkpoint goes into the folder (and its SHA256SUMS)
      const drawn: number[] = [];
      const withCurve = path.join(dir, 'models', 'full_step4_curve');
      await exportCheckpoint(checkpoint, withCurve, {
        name: 'full_step4_curve',
        drawCurve: async (entries, title, folder) => {
          drawn.push(entries.length);
          assert.equal(title, 'full_step4_curve');
          assert.ok(fs.existsSync(folder), 'a temporary folder to draw in');
          return new Uint8Array([137, 80, 78, 71]);
        },
      });
      assert.deepEqual(drawn, [4], 'drawn once, from the 4 entries up to the checkpoint');
      assert.deepEqual([...fs.readFileSync(path.join(withCurve, 'training_curve.png'))], [137, 80, 78, 71]);
      assert.match(fs.readFileSync(path.join(withCurve, 'SHA256SUMS'), 'utf8'), /training_curve\.png/);
    });

    it('exports the mean of a run\'s kept checkpoints (stochastic weight averaging), listing them in train.json', async () => {
      const checkpoints = path.join(reference.runDir, 'checkpoints');
      const out = path.join(dir, 'models', 'averaged');
      const before = tf.memory().numTensors;
      await exportCheckpoint(path.join(checkpoints, 'step-000006'), out, { name: 'averaged', command: 'test', averageFrom: 4 });
      const info = JSON.parse(fs.readFileSync(path.join(out, 'train.json'), 'utf8'));
      assert.equal(info.steps, 6);
      assert.deepEqual(
        info.averagedFrom.map((a: { step: number; weightsSha256: string }) => [a.step, a.weightsSha256]),
        [4, 6].map((s) => [s, crypto.createHash('sha256').update(fs.readFileSync(path.join(checkpoints, `step-00000${s}`, 'weights.bin'))).digest('hex')]),
      );
      const [avg, a, b] = [await loadLearnedSolver(out), await loadLearnedSolver(path.join(checkpoints, 'step-000004')), await loadLearnedSolver(path.join(checkpoints, 'step-000006'))];
      const [wm, wa, wb] = [avg.getWeights(), a.getWeights(), b.getWeights()];
      let moved = 0;
      wm.forEach((w, i) => {
        const [m, x, y] = [w.tensor.dataSync(), wa[i].tensor.dataSync(), wb[i].tensor.dataSync()];
        for (let k = 0; k < m.length; k++) {
          assert.ok(Math.abs(m[k] - (x[k] + y[k]) / 2) <= 1e-6 * (1 + Math.abs(m[k])), `${w.name}[${k}]: ${m[k]} is not the mean of ${x[k]} and ${y[k]}`);
          if (x[k] !== y[k]) moved++;
        }
      });
      assert.ok(moved > 0, 'the two checkpoints differ, so the mean is neither');
      tf.dispose([...wm, ...wa, ...wb].map((w) => w.tensor));
      [avg, a, b].forEach((s) => s.dispose());
      assert.equal(tf.memory().numTensors, before);
      // one checkpoint in range is no average; a step past the checkpoint's is refused
      await assert.rejects(exportCheckpoint(path.join(checkpoints, 'step-000006'), path.join(dir, 'bad_avg'), { averageFrom: 5 }), /holds 1 checkpoint\(s\) with a step in \[5, 6\].*at least two/);
      await assert.rejects(exportCheckpoint(path.join(checkpoints, 'step-000004'), path.join(dir, 'bad_avg'), { averageFrom: 6 }), /averageFrom must be a step in \[0, 4\]/);
      assert.ok(!fs.existsSync(path.join(dir, 'bad_avg')), 'nothing written');
    });

    it('records the command of each training session (a resumption with another command line), through the export', async () => {
      const runDir = path.join(dir, 'sessions');
      const controller = new AbortController();
      const first = await trainLearnedSolver(tinyConfig('sessions'), { ...quiet, images, runDir, exportDir: false, command: 'cmd A', signal: controller.signal, onProgress: (p) => p.step === 3 && controller.abort() });
      first.solver.dispose();
      // the same command again goes on with its session; another one starts a new session
      const stop = new AbortController();
      const again = await trainLearnedSolver(tinyConfig('sessions'), { ...quiet, images, runDir, exportDir: false, command: 'cmd A', signal: stop.signal, onProgress: (p) => p.step === 4 && stop.abort() });
      assert.equal(again.step, 4);
      again.solver.dispose();
      const exportDir = path.join(dir, 'models', 'sessions');
      const second = await trainLearnedSolver(tinyConfig('sessions'), { ...quiet, images, runDir, exportDir, command: 'cmd B' });
      assert.deepEqual(numbers(second.log), numbers(reference.log), 'the sessions change nothing in the numbers');
      second.solver.dispose();
      const info = JSON.parse(fs.readFileSync(path.join(exportDir, 'train.json'), 'utf8'));
      assert.deepEqual(info.sessions, [{ fromStep: 0, command: 'cmd A' }, { fromStep: 4, command: 'cmd B' }]);
      assert.equal(info.command, 'cmd B');
      // a checkpoint exported by another command keeps the sessions beside its export command
      const snap = path.join(dir, 'models', 'sessions_snap');
      await exportCheckpoint(path.join(runDir, 'checkpoints', 'step-000006'), snap, { name: 'sessions_snap', command: 'export it' });
      const snapInfo = JSON.parse(fs.readFileSync(path.join(snap, 'train.json'), 'utf8'));
      assert.deepEqual(snapInfo.sessions, info.sessions);
      assert.equal(snapInfo.command, 'export it');
    });

    it('redraws a saved model\'s curve from its own log and horizons, keeping every other file and the checksums valid', async () => {
      const out = path.join(dir, 'models', 'redraw');
      await exportCheckpoint(path.join(reference.runDir, 'checkpoints', 'step-000004'), out, { name: 'redraw', command: 'test' });
      // a run resumed on a new horizon records it in train.json: put one there (and re-sum the folder)
      const files: Record<string, Uint8Array> = {};
      for (const n of fs.readdirSync(out).filter((n) => n !== 'SHA256SUMS')) files[n] = new Uint8Array(fs.readFileSync(path.join(out, n)));
      const record = JSON.parse(Buffer.from(files['train.json']).toString('utf8'));
      const horizons = [{ fromStep: 0, steps: 6 }, { fromStep: 3, steps: 10 }];
      files['train.json'] = new Uint8Array(Buffer.from(JSON.stringify({ ...record, horizons })));
      writeFolderAtomic(out, files);
      const calls: unknown[][] = [];
      const png = new Uint8Array([137, 80, 78, 71, 1]);
      const digest = await redrawModelCurve(out, async (entries, title, folder, iterates, dataWeight, h) => {
        assert.ok(fs.existsSync(folder) && path.resolve(folder) !== path.resolve(out), 'drawn in a temporary folder');
        calls.push([entries.length, title, iterates, dataWeight, h]);
        return png;
      });
      assert.deepEqual(calls, [[4, 'redraw', 2, undefined, horizons]], 'the 4 logged entries, the name, T = 2 and the horizons');
      assert.equal(digest, crypto.createHash('sha256').update(png).digest('hex'));
      assert.deepEqual([...fs.readFileSync(path.join(out, 'training_curve.png'))], [...png]);
      verifyChecksums(out); // the new SHA256SUMS lists the new PNG
      assert.match(fs.readFileSync(path.join(out, 'SHA256SUMS'), 'utf8'), new RegExp(`${digest}  training_curve\\.png`));
      for (const [n, bytes] of Object.entries(files)) assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(out, n))), bytes, `${n} unchanged`);
      // a drawer without Chromium makes no PNG: an error, and the folder stays as it was
      await assert.rejects(redrawModelCurve(out, async () => undefined), /no PNG was drawn for .*redraw.*Chromium/);
      assert.deepEqual([...fs.readFileSync(path.join(out, 'training_curve.png'))], [...png]);
      // a file the checksums do not list, or a changed one, stops it before anything is written
      fs.writeFileSync(path.join(out, 'notes.txt'), 'x');
      await assert.rejects(redrawModelCurve(out, async () => png), /holds files its SHA256SUMS does not list \(notes\.txt\)/);
      fs.rmSync(path.join(out, 'notes.txt'));
      fs.appendFileSync(path.join(out, 'training_log.csv'), '\n');
      await assert.rejects(redrawModelCurve(out, async () => png), /checksum mismatch for .*training_log\.csv/);
    });

    it('resumes exactly: a run interrupted (crash after step 3; checkpoint at 2) and resumed gives the same log and weights, bitwise', async () => {
      const runDir = path.join(dir, 'crashed');
      await assert.rejects(
        trainLearnedSolver(tinyConfig('crashed'), {
          ...quiet,
          images,
          runDir,
          exportDir: false,
          onProgress: (p) => {
            if (p.step === 3) throw new Error('simulated crash');
          },
        }),
        /simulated crash/,
      );
      assert.equal(latestCheckpoint(runDir)?.step, 2);
      const before = tf.memory().numTensors;
      const resumed = await trainLearnedSolver(tinyConfig('crashed'), { ...quiet, images, runDir, exportDir: false, resume: true });
      assert.deepEqual(numbers(resumed.log), numbers(reference.log));
      const weights = resumed.solver.getWeights();
      weights.forEach((w, i) => assert.deepEqual(w.tensor.dataSync(), reference.weights[i], w.name));
      tf.dispose(weights.map((w) => w.tensor));
      resumed.solver.dispose();
      assert.equal(tf.memory().numTensors, before);
    });

    it('resumes exactly after an abort signal (checkpoint written at the abort step)', async () => {
      const runDir = path.join(dir, 'aborted');
      const first = await trainUntilAbort(tinyConfig('aborted'), runDir, 3);
      assert.equal(first.stopped, 'aborted');
      assert.equal(first.step, 3);
      assert.equal(first.exportDir, undefined);
      first.solver.dispose();
      assert.equal(latestCheckpoint(runDir)?.step, 3);
      const second = await trainLearnedSolver(tinyConfig('aborted'), { ...quiet, images, runDir, exportDir: false }); // resume: 'auto'
      assert.deepEqual(numbers(second.log), numbers(reference.log));
      second.solver.dispose();
    });

    it('refuses to resume with a different configuration, or to start over a checkpoint with resume: false', async () => {
      const runDir = path.join(dir, 'refuse');
      (await trainUntilAbort(tinyConfig('refuse'), runDir, 2)).solver.dispose();
      await assert.rejects(
        trainLearnedSolver(tinyConfig('refuse', { optimizer: { lr: 5e-3 } }), { ...quiet, images, runDir, exportDir: false }),
        /different configuration/,
      );
      await assert.rejects(trainLearnedSolver(tinyConfig('refuse'), { ...quiet, images, runDir, exportDir: false, resume: false }), /already has a checkpoint/);
      await assert.rejects(trainLearnedSolver(tinyConfig('none'), { ...quiet, images, runDir: path.join(dir, 'none'), resume: true }), /no checkpoint/);
    });

    it('init: starts from a saved model\'s weights (checked against the architecture); a resumed run continues from its checkpoint', async () => {
      const source = path.join(reference.runDir, 'checkpoints', 'step-000006');
      // lr 1e-12: one Adam step moves no weight by more than ~1e-12, so the run's weights are the source's.
      const still = await trainLearnedSolver(tinyConfig('init_still', { steps: 1, init: { model: source }, optimizer: { lr: 1e-12 }, schedule: { type: 'constant' } }), {
        ...quiet, images, runDir: path.join(dir, 'init_still'), exportDir: false,
      });
      const w = still.solver.getWeights();
      w.forEach((t, i) => {
        const v = t.tensor.dataSync() as Float32Array;
        const err = v.reduce((m: number, x: number, j: number) => Math.max(m, Math.abs(x - reference.weights[i][j])), 0);
        assert.ok(err < 1e-8, `${t.name}: off the source by ${err}`);
      });
      tf.dispose(w.map((t) => t.tensor));
      still.solver.dispose();
      // Fine-tuning from the step-6 weights starts lower than the seeded start did.
      const tuned = tinyConfig('init_tuned', { init: { model: source } });
      const full = await trainLearnedSolver(tuned, { ...quiet, images, runDir: path.join(dir, 'init_full'), exportDir: path.join(dir, 'init_full_model') });
      full.solver.dispose();
      assert.notDeepEqual(numbers(full.log), numbers(reference.log));
      // What the run began from is recorded as it was then (the folder may be exported again later):
      // its weights' SHA-256 and the patches along its chain (6 steps × batch 2 of the reference run).
      const sourceSha = crypto.createHash('sha256').update(fs.readFileSync(path.join(source, 'weights.bin'))).digest('hex');
      const expected = { model: source, weightsSha256: sourceSha, patches: 6 * 2, chain: ['step-000006'] };
      const exported = JSON.parse(fs.readFileSync(path.join(dir, 'init_full_model', 'train.json'), 'utf8'));
      assert.deepEqual(exported.initFrom, expected);
      const runDir = path.join(dir, 'init_resumed');
      (await trainUntilAbort(tuned, runDir, 3)).solver.dispose();
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoints', 'step-000003', 'state.json'), 'utf8')).initFrom, expected);
      const lines: string[] = [];
      const resumed = await trainLearnedSolver(tuned, { ...quiet, log: (l) => lines.push(l), images, runDir, exportDir: false });
      resumed.solver.dispose();
      // the resumed run keeps the record of its beginning
      const last = JSON.parse(fs.readFileSync(path.join(runDir, 'latest.json'), 'utf8')).dir;
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(runDir, last, 'state.json'), 'utf8')).initFrom, expected);
      assert.deepEqual(numbers(resumed.log), numbers(full.log), 'resumed from the checkpoint, not from the source again');
      assert.ok(!lines.some((l) => /starting from the weights/.test(l)), lines.join('\n'));
      // A different architecture, or no model there: errors that name the folder.
      await assert.rejects(
        trainLearnedSolver(tinyConfig('init_bad', { model: { kind: 'rim', features: 6, steps: 2 }, init: { model: source } }), { ...quiet, images, runDir: path.join(dir, 'init_bad'), exportDir: false }),
        (e: Error) => e.message.includes(source) && /does not fit this rim .*shape/.test(e.message),
      );
      await assert.rejects(
        trainLearnedSolver(tinyConfig('init_none', { init: { model: path.join(dir, 'nowhere') } }), { ...quiet, images, runDir: path.join(dir, 'init_none'), exportDir: false }),
        /init: no saved model in .*nowhere/,
      );
      assert.throws(() => resolveTrainConfig({ ...tinyConfig('x'), init: { model: 'a', from: 'b' } as never }), /unknown key.*init\.from|init/);
    });

    it('changes the cosine horizon on resume only when asked, and records the change', async () => {
      const runDir = path.join(dir, 'horizon');
      const first = await trainUntilAbort(tinyConfig('horizon', { steps: 10 }), runDir, 3);
      first.solver.dispose();
      await assert.rejects(trainLearnedSolver(tinyConfig('horizon', { steps: 6 }), { ...quiet, images, runDir, exportDir: false }), /different configuration/);
      // a change of anything besides the horizon is still refused
      await assert.rejects(
        trainLearnedSolver(tinyConfig('horizon', { steps: 6, optimizer: { lr: 5e-3 } }), { ...quiet, images, runDir, exportDir: false, allowHorizonChange: true }),
        /different configuration/,
      );
      // 10 → 8 at step 3, a plain resume at step 4 (the history must survive it), 8 → 6 at step 5.
      const until = async (steps: number, stop: number, allowHorizonChange: boolean) => {
        const controller = new AbortController();
        const r = await trainLearnedSolver(tinyConfig('horizon', { steps }), {
          ...quiet, images, runDir, exportDir: false, allowHorizonChange, signal: controller.signal,
          onProgress: (p) => {
            if (p.step === stop) controller.abort();
          },
        });
        r.solver.dispose();
      };
      await until(8, 4, true);
      await until(8, 5, false);
      const exportDir = path.join(dir, 'models', 'horizon');
      const second = await trainLearnedSolver(tinyConfig('horizon', { steps: 6 }), { ...quiet, images, runDir, exportDir, allowHorizonChange: true });
      assert.equal(second.stopped, 'completed');
      assert.deepEqual(numbers(second.log.slice(0, 3)), numbers(first.log), 'steps before the change are kept');
      const schedule = resolveTrainConfig(tinyConfig('h')).schedule;
      assert.equal(second.log[3].lr, learningRate(schedule, 1e-2, 3, 8), 'new horizon from the resumed step on');
      assert.equal(second.log[4].lr, learningRate(schedule, 1e-2, 4, 8));
      assert.equal(second.log[5].lr, learningRate(schedule, 1e-2, 5, 6));
      assert.notEqual(second.log[5].lr, learningRate(schedule, 1e-2, 5, 8));
      const info = JSON.parse(fs.readFileSync(path.join(exportDir, 'train.json'), 'utf8'));
      assert.deepEqual(info.horizons, [
        { fromStep: 0, steps: 10 },
        { fromStep: 3, steps: 8 },
        { fromStep: 5, steps: 6 },
      ]);
      second.solver.dispose();
    });

    it('stops on a non-finite loss at step 2 (lr 1e30: step 1 finite, its update overflows), naming the batch and the step-1 checkpoint', async () => {
      // Adam's first update moves every weight by about ±lr = ±1e30, so the second forward pass
      // overflows to ±Infinity and the loss to Infinity or NaN (which, depends on the CPU's
      // float path: NaN on some, Infinity on others), the gradient to NaN; checkpointEvery: 1 makes
      // step 1 the last good checkpoint.
      const runDir = path.join(dir, 'nan');
      const before = tf.memory().numTensors;
      const config = tinyConfig('nan', { optimizer: { lr: 1e30, clipNorm: 0 }, schedule: { type: 'constant' }, steps: 20, checkpointEvery: 1 });
      const error = await trainLearnedSolver(config, { ...quiet, images, runDir, exportDir: false }).then(
        () => assert.fail('training with lr 1e30 did not stop'),
        (err: unknown) => err,
      );
      assert.ok(error instanceof TrainingDivergedError, String(error));
      assert.equal(error.step, 2);
      const good = path.join(runDir, 'checkpoints', 'step-000001');
      assert.equal(error.lastCheckpoint, good);
      assert.equal(latestCheckpoint(runDir)?.step, 1);
      assert.match(error.message, /^training diverged at step 2 \(its batch: 2 patches drawn from sampler state \d+, \w+ seed \d+, σ·255 = \[[\d., ]+\]\): loss = (NaN|-?Infinity), gradient norm = NaN\. Stopped before the update; /);
      assert.ok(error.message.includes(`the last good checkpoint is step 1 at ${good}`), error.message);
      assert.equal(tf.memory().numTensors, before, 'no leaks when training stops on an error');
    });

    it('trains LGD and color RIM, and the no-gradient ablation', async () => {
      const color = syntheticImages(2, 12, 3);
      for (const [name, model, imgs] of [
        ['lgd', { kind: 'lgd', features: 4, steps: 2 }, images],
        ['color', { kind: 'rim', features: 4, steps: 2 }, color],
        ['nograd', { kind: 'rim', features: 4, steps: 2, useGradient: false }, images],
      ] as const) {
        const r = await trainLearnedSolver(tinyConfig(name, { model, steps: 2 }), { ...quiet, images: imgs as RawImage[], runDir: path.join(dir, name), exportDir: false });
        assert.equal(r.log.length, 2);
        assert.equal(r.solver.config.channels, (imgs as RawImage[])[0].channels);
        r.solver.dispose();
      }
    });
  });
});
