import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { RawImage } from '../lib/io/image';
import { Rng } from '../lib/io/rng';
import { createSegmenter, hasCamVid, saveSegmenter } from '../lib/segmentation';
import { resolveTask, semanticSynthesisTrainingTask, stackedMeanColors, stackLabels } from '../lib/tasks';
import { disposeGroups } from '../lib/tasks/types';
import { trainLearnedSolver } from '../lib/training';
import { resolveTrainConfig } from '../lib/training/config';
import { iterateLoss } from '../lib/training/loss';
import { trainStep } from '../lib/training/step';
import { Lgd, loadLearnedSolver, Rim, saveLearnedSolver, Spade } from '../lib/solvers/learned';
import { createProblem } from '../lib/tasks/problem';
import { categoricalLikelihood, gaussianLikelihood } from '../lib/likelihoods';
import { identity, segmentationOperator } from '../lib/operators';

/** Synthetic RGB images with blocky label maps (classes 0..3 and some ignored pixels), stacked. */
function stackedImages(n: number, size: number): RawImage[] {
  const rng = new Rng(5);
  return Array.from({ length: n }, () => {
    const image: RawImage = { data: Uint8Array.from({ length: size * size * 3 }, () => rng.int(256)), height: size, width: size, channels: 3 };
    const labels = Uint8Array.from({ length: size * size }, (_, i) => (i % 17 === 0 ? 11 : (Math.floor(i / size / 4) + Math.floor((i % size) / 4)) % 4));
    return stackLabels(image, labels);
  });
}

describe('semantic synthesis training task', function () {
  this.timeout(300_000);
  let dir: string;
  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-sem-'));
    const phi = createSegmenter({ kind: 'unet', width: 4, levels: 2, seed: 3 });
    await saveSegmenter(phi, path.join(dir, 'phi'));
    phi.dispose();
  });

  it('stacks labels as a 4th channel and computes per-class mean colours (ignored pixels apart, unseen classes = labelled mean)', () => {
    const image: RawImage = { data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 51, 51, 51]), height: 2, width: 2, channels: 3 };
    const stacked = stackLabels(image, Uint8Array.from([0, 0, 1, 11]));
    assert.deepEqual(Array.from(stacked.data.slice(0, 8)), [255, 0, 0, 0, 0, 255, 0, 0]);
    const colors = stackedMeanColors([stacked], 3, 11);
    assert.deepEqual(colors[0], [0.5, 0.5, 0]);
    assert.deepEqual(colors[1], [0, 0, 1]);
    assert.deepEqual(colors[2].map((v) => +v.toFixed(6)), [1 / 3, 1 / 3, 1 / 3].map((v) => +v.toFixed(6)), 'unseen class: labelled mean');
    assert.deepEqual(colors[3].map((v) => +v.toFixed(6)), [0.2, 0.2, 0.2], 'index K: the ignored pixels');
    assert.throws(() => stackLabels(image, Uint8Array.from([0])), /expected an RGB image and 4 labels/);
  });

  it('degrades a batch: RGB targets, label maps, mean-colour start, the categorical likelihood through φ', async () => {
    const { params } = resolveTask({ kind: 'semantic-synthesis', segmenter: path.join(dir, 'phi') });
    const images = stackedImages(2, 16);
    const context = await semanticSynthesisTrainingTask.prepare!(params as never, images);
    const clean = tf.tidy(() => tf.div(tf.tensor4d(Array.from(images.flatMap((im) => [...im.data])), [2, 16, 16, 4]), 255)) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const [g] = semanticSynthesisTrainingTask.degradeBatch(clean, params as never, 1, context);
    assert.deepEqual(g.clean.shape, [2, 16, 16, 3]);
    assert.deepEqual(g.y.shape, [2, 16, 16, 1]);
    assert.deepEqual(Array.from(g.y.dataSync().slice(0, 5)), [11, 0, 0, 0, 1]);
    const x0 = g.x0!.arraySync()[0][0][1];
    assert.deepEqual(x0.map((v) => +v.toFixed(5)), context.colors[0].map((v) => +v.toFixed(5)));
    const grad = g.likelihood.grad(g.x0!, g.y);
    assert.deepEqual(grad.shape, [2, 16, 16, 3]);
    assert.ok(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(grad)).dataSync()[0])));
    grad.dispose();
    disposeGroups([g]);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    clean.dispose();
    semanticSynthesisTrainingTask.release!(context);
  });

  it('a RIM trains two steps through φ from a config (φ frozen: only the solver changes)', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-sem-run-'));
    const result = await trainLearnedSolver(
      { name: 'rim_sem_tiny', model: { kind: 'rim', features: 4, steps: 2 }, task: { kind: 'semantic-synthesis', segmenter: path.join(dir, 'phi') }, data: { patchSize: 12, batchSize: 2 }, steps: 2, checkpointEvery: 1 },
      { images: stackedImages(3, 20), runDir, exportDir: false, log: () => undefined },
    );
    assert.equal(result.solver.config.channels, 3);
    assert.ok(result.log.every((e) => Number.isFinite(e.loss) && e.gradNorm > 0), JSON.stringify(result.log));
    result.solver.dispose();
  });

  it("a RIM fed the RMS-normalised gradient (gradient: 'rms') trains through φ, and a 1000× larger gradient gives it the same first step", async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-sem-rms-'));
    const result = await trainLearnedSolver(
      { name: 'rim_sem_rms_tiny', model: { kind: 'rim', features: 4, steps: 2, gradient: 'rms' }, task: { kind: 'semantic-synthesis', segmenter: path.join(dir, 'phi') }, data: { patchSize: 12, batchSize: 2 }, steps: 2, checkpointEvery: 1 },
      { images: stackedImages(3, 20), runDir, exportDir: false, log: () => undefined },
    );
    assert.equal((result.solver.config as { gradient?: string }).gradient, 'rms');
    assert.ok(result.log.every((e) => Number.isFinite(e.loss) && e.gradNorm > 0), JSON.stringify(result.log));
    result.solver.dispose();
    const rim = new Rim({ channels: 1, features: 4, steps: 1, gradient: 'rms' });
    const x0 = tf.zeros([1, 6, 6, 1]) as tf.Tensor4D;
    const y = tf.tidy(() => tf.randomUniform([1, 6, 6, 1], 0, 1, 'float32', 3)) as tf.Tensor4D;
    const big = tf.mul(y, 1000) as tf.Tensor4D;
    const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
    const first = (t: tf.Tensor4D) => tf.tidy(() => Array.from(rim.run(t, createProblem({ likelihood: lik, y: t }), { x0 })[0].dataSync()));
    const [a, b] = [first(y), first(big)];
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5 * (1 + Math.abs(v)), `pixel ${i}: ${v} vs ${b[i]}`));
    assert.throws(() => new Rim({ gradient: 'unit' as never }), /RIM: gradient must be 'stabilised' or 'rms', got "unit"/);
    rim.dispose();
    tf.dispose([x0, y, big]);
  });

  it('loss.dataWeight adds d × the mean over iterates of CE through φ per pixel of y to the MSE (absent: the MSE alone)', async () => {
    const { params } = resolveTask({ kind: 'semantic-synthesis', segmenter: path.join(dir, 'phi') });
    const images = stackedImages(2, 16);
    const context = await semanticSynthesisTrainingTask.prepare!(params as never, images);
    const clean = tf.tidy(() => tf.div(tf.tensor4d(Array.from(images.flatMap((im) => [...im.data])), [2, 16, 16, 4]), 255)) as tf.Tensor4D;
    const groups = semanticSynthesisTrainingTask.degradeBatch(clean, params as never, 1, context);
    const g = groups[0];
    const rim = new Rim({ channels: 3, features: 4, steps: 2, seed: 1 });
    const before = tf.memory().numTensors;
    // The loss of trainStep before its update, with lr 0 (no change of the weights between the two calls).
    const lossOf = (dataWeight?: number) => {
      const opt = tf.train.adam(0);
      try {
        return trainStep(rim, opt, groups, { lr: 0, clipNorm: 0, ...(dataWeight !== undefined ? { dataWeight } : {}) }).loss;
      } finally {
        opt.dispose();
      }
    };
    const mse = lossOf();
    const both = lossOf(0.5);
    const expected = tf.tidy(() => {
      const xs = rim.run(g.y, createProblem({ likelihood: g.likelihood, y: g.y }), { x0: g.x0 });
      const m = iterateLoss(xs, g.clean).dataSync()[0];
      const ce = xs.map((x) => g.likelihood.value(x, g.y).dataSync()[0] / g.y.size);
      return { m, ce: (ce[0] + ce[1]) / 2 };
    });
    assert.ok(Math.abs(mse - expected.m) < 1e-6 * (1 + expected.m), `MSE alone: ${mse} vs ${expected.m}`);
    assert.ok(expected.ce > 0.1, `CE per pixel ${expected.ce}`);
    assert.ok(Math.abs(both - (expected.m + 0.5 * expected.ce)) < 1e-4 * (1 + both), `MSE + 0.5·CE: ${both} vs ${expected.m + 0.5 * expected.ce}`);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    const base = { name: 'x', model: { kind: 'rim' as const }, task: { kind: 'semantic-synthesis' as const, segmenter: path.join(dir, 'phi') } };
    assert.equal(resolveTrainConfig(base).loss.dataWeight, undefined);
    assert.equal(resolveTrainConfig({ ...base, loss: { dataWeight: 0.1 } }).loss.dataWeight, 0.1);
    assert.throws(() => resolveTrainConfig({ ...base, loss: { dataWeight: -1 } }), /dataWeight/);
    // dataNoise: the CE at x_t + σ·n (a fresh seeded draw per iterate): the same loss for the same seed, another for another seed,
    // the MSE part unchanged (σ = 0 gives the plain loss), and a config needs dataWeight with it
    const noisy = (seed: number, sigma = 0.2) => {
      const opt = tf.train.adam(0);
      try {
        return trainStep(rim, opt, groups, { lr: 0, clipNorm: 0, dataWeight: 0.5, dataNoise: { sigma, seed } }).loss;
      } finally {
        opt.dispose();
      }
    };
    const [a1, a2, b] = [noisy(3), noisy(3), noisy(4)];
    assert.equal(a1, a2, 'same seed, same loss');
    assert.notEqual(a1, b, 'another seed, another draw');
    assert.ok(Math.abs(a1 - both) > 1e-6, `the perturbed CE differs from the plain one (${a1} vs ${both})`);
    assert.ok(Math.abs(noisy(3, 0) - both) < 1e-6 * (1 + both), 'σ = 0: the plain loss');
    assert.equal(tf.memory().numTensors, before, 'tensors leaked (dataNoise)');
    assert.equal(resolveTrainConfig({ ...base, loss: { dataWeight: 0.2, dataNoise: 8 } }).loss.dataNoise, 8);
    assert.throws(() => resolveTrainConfig({ ...base, loss: { dataNoise: 8 } }), /loss.dataNoise perturbs the data term: set loss.dataWeight > 0 too/);
    rim.dispose();
    disposeGroups(groups);
    clean.dispose();
    semanticSynthesisTrainingTask.release!(context);
  });

  it('the no-gradient ablations (RIM and LGD) see y as a one-hot label map (measurementChannels = 11) and train through the same task', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-sem-nograd-'));
    const images = stackedImages(3, 20);
    for (const model of [
      { kind: 'rim' as const, features: 4, steps: 2, useGradient: false, measurementChannels: 11 },
      { kind: 'lgd' as const, features: 4, memory: 2, steps: 2, useGradient: false, measurementChannels: 11 },
    ]) {
      const result = await trainLearnedSolver(
        { name: `${model.kind}_sem_nograd_tiny`, model, task: { kind: 'semantic-synthesis', segmenter: path.join(dir, 'phi') }, data: { patchSize: 12, batchSize: 2 }, steps: 2, checkpointEvery: 1 },
        { images, runDir: path.join(runDir, model.kind), exportDir: false, log: () => undefined },
      );
      assert.equal((result.solver.config as { measurementChannels?: number }).measurementChannels, 11);
      assert.ok(result.log.every((e) => Number.isFinite(e.loss) && e.gradNorm > 0), JSON.stringify(result.log));
      // The one-hot makes the input wider than [x, g]: 8 more input channels in the first conv.
      const withGradient = model.kind === 'rim' ? new Rim({ channels: 3, features: 4, steps: 2 }) : new Lgd({ channels: 3, features: 4, memory: 2, steps: 2 });
      const firstKernel = model.kind === 'rim' ? 5 * 5 : 3 * 3;
      assert.equal(result.solver.paramCount() - withGradient.paramCount(), 8 * firstKernel * 4);
      withGradient.dispose();
      result.solver.dispose();
    }
  });

  it("the categorical likelihood's view of y on the image grid is its one-hot (ignored pixels all zero); a solver built for other channels says so", () => {
    const op = segmentationOperator({ classes: 4, logits: (x: tf.Tensor4D) => tf.tile(tf.mean(x, 3, true), [1, 1, 1, 4]) as tf.Tensor4D }, { name: 'toy' });
    const lik = categoricalLikelihood(op, { ignoreLabel: 11 });
    const y = tf.tensor4d([0, 3, 11, 1], [1, 2, 2, 1]);
    const before = tf.memory().numTensors;
    const onehot = lik.measurementOnImageGrid!(y, [1, 2, 2, 3]);
    assert.deepEqual(onehot.shape, [1, 2, 2, 4]);
    assert.deepEqual(Array.from(onehot.dataSync()), [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0]);
    onehot.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.throws(() => lik.measurementOnImageGrid!(tf.tensor4d([0, 5, 1, 1], [1, 2, 2, 1]), [1, 2, 2, 3]), /label 5 at image 0, row 0, column 1/);
    assert.throws(() => lik.measurementOnImageGrid!(y, [1, 3, 2, 3]), /y is \[1, 2, 2, 1\], expected \[1, 3, 2, 1\]/);
    const problem = createProblem({ likelihood: lik, y });
    const x0 = tf.fill([1, 2, 2, 3], 0.5) as tf.Tensor4D;
    const rim = new Rim({ channels: 3, features: 4, steps: 2, useGradient: false }); // measurementChannels absent: 3
    const n = tf.memory().numTensors;
    assert.throws(() => rim.run(y, problem, { x0 }), /y on the image grid has 4 channel\(s\), the no-gradient RIM was built for 3 \(measurementChannels\)/);
    assert.equal(tf.memory().numTensors, n, 'tensors leaked on the error');
    const lgd = new Lgd({ channels: 3, features: 4, memory: 2, steps: 2, useGradient: false, measurementChannels: 4 });
    const xs = lgd.run(y, problem, { x0 });
    assert.deepEqual(xs[1].shape, [1, 2, 2, 3]);
    tf.dispose(xs);
    [rim, lgd].forEach((s) => s.dispose());
    tf.dispose([x0, y]);
  });

  it('the SPADE-style generator (the data-driven baseline) trains on the same task and batches, and saves/loads', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-spade-'));
    const result = await trainLearnedSolver(
      { name: 'spade_tiny', model: { kind: 'spade', features: 4, hidden: 4, blocks: 1 }, task: { kind: 'semantic-synthesis', segmenter: path.join(dir, 'phi') }, data: { patchSize: 12, batchSize: 2 }, steps: 2, checkpointEvery: 1 },
      { images: stackedImages(3, 20), runDir, exportDir: false, log: () => undefined },
    );
    assert.equal(result.solver.kind, 'spade');
    assert.ok(result.log.every((e) => Number.isFinite(e.loss) && e.gradNorm > 0));
    const y = tf.tidy(() => tf.floor(tf.randomUniform([1, 8, 8, 1], 0, 12, 'float32', 4))) as tf.Tensor4D;
    const problem = createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y }); // ignored by the generator
    const before = tf.memory().numTensors;
    const xs = result.solver.run(y, problem, { steps: 3 });
    assert.equal(xs.length, 3);
    assert.deepEqual(xs[0].shape, [1, 8, 8, 3]);
    assert.deepEqual(Array.from(xs[2].dataSync()), Array.from(xs[0].dataSync()), 'one output, repeated');
    tf.dispose(xs);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    const out = path.join(runDir, 'saved');
    await saveLearnedSolver(result.solver, out);
    const back = await loadLearnedSolver(out);
    assert.ok(back instanceof Spade);
    assert.equal(back.paramCount(), result.solver.paramCount());
    assert.throws(() => (back as Spade).oneHot(tf.zeros([1, 2, 2, 3]) as tf.Tensor4D), /expects a label map \[b, h, w, 1\]/);
    [back, result.solver].forEach((s) => s.dispose());
    y.dispose();
  });

  it('loads CamVid train with its labels stacked (skips without the data set)', async function () {
    if (!hasCamVid('train')) this.skip();
    const images = await semanticSynthesisTrainingTask.loadImages!({ segmenter: 'x', splits: ['train'] }, { limit: 2 });
    assert.equal(images.length, 2);
    assert.equal(images[0].channels as number, 4);
    assert.ok(images[0].data.every((v, i) => i % 4 !== 3 || v <= 11));
  });
});
