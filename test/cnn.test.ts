import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { gaussianLikelihood } from '../lib/likelihoods';
import { identity } from '../lib/operators';
import { Cnn, loadLearnedSolver, Rim, saveLearnedSolver } from '../lib/solvers/learned';
import { createProblem } from '../lib/tasks/problem';
import { trainLearnedSolver } from '../lib/training';
import { syntheticImages } from './helpers/images';
import { maxAbsDiff } from './helpers/tensors';

describe('plain CNN baseline (DnCNN-style, the data-driven model of the generalization study)', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('has about the parameters of the RIM-bench cell, restores x0 − net(x0), and ignores the likelihood', () => {
    const before = tf.memory().numTensors;
    const cnn = new Cnn({ seed: 1 });
    assert.equal(cnn.paramCount(), 32 * 9 + 32 + 13 * (32 * 32 * 9 + 32) + 32 * 9 + 1, 'depth 15, 32 features, one channel');
    const rim = new Rim({ cell: 'bench', features: 32, steps: 8 });
    assert.ok(Math.abs(cnn.paramCount() / rim.paramCount() - 1) < 0.02, `${cnn.paramCount()} vs RIM ${rim.paramCount()}`);
    rim.dispose();
    const y = tf.randomUniform([2, 10, 12, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const p1 = createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y });
    const p2 = createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.5 }), y });
    const [a] = cnn.run(y, p1);
    const [b, b2] = cnn.run(y, p2, { steps: 2 });
    assert.deepEqual(a.shape, [2, 10, 12, 1]);
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), 'the likelihood changed the output');
    assert.deepEqual(Array.from(b.dataSync()), Array.from(b2.dataSync()), 'steps repeat the one output');
    // Zero the last layer: the residual is 0 and the output is the start.
    const weights = cnn.getWeights();
    const zeroed = weights.map((w) => (w.name.startsWith('conv14') ? { name: w.name, tensor: tf.zerosLike(w.tensor) } : w));
    cnn.setWeights(zeroed);
    const [id] = cnn.run(y, p1);
    assert.ok(maxAbsDiff(id, y) === 0, 'a zero residual does not give x0');
    tf.dispose([a, b, b2, id, y, ...weights.map((w) => w.tensor), ...zeroed.map((w) => w.tensor)]);
    const rgb = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    assert.throws(() => cnn.restore(rgb), /expects images \[b, h, w, 1\], got \[1, 4, 4, 3\]/);
    rgb.dispose();
    assert.throws(() => new Cnn({ depth: 1 }), /depth must be an integer >= 2/);
    cnn.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  });

  it('trains with the learned-solver loop on a denoising config, and saves/loads bit for bit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-cnn-'));
    const result = await trainLearnedSolver(
      { name: 'cnn_tiny', model: { kind: 'cnn', features: 4, depth: 3 }, data: { dataset: 'Train400', patchSize: 8, batchSize: 2 }, steps: 6, checkpointEvery: 3, optimizer: { lr: 1e-2 }, seed: 2 },
      { images: syntheticImages(4, 20), runDir: path.join(dir, 'run'), exportDir: false, log: () => undefined, figures: false },
    );
    assert.equal(result.stopped, 'completed');
    assert.equal(result.solver.kind, 'cnn');
    const losses = result.log.map((e) => e.loss);
    assert.ok(losses.every(Number.isFinite));
    await saveLearnedSolver(result.solver, path.join(dir, 'model'));
    const back = await loadLearnedSolver(path.join(dir, 'model'));
    assert.ok(back instanceof Cnn);
    const wa = result.solver.getWeights();
    const wb = back.getWeights();
    wa.forEach((w, i) => assert.deepEqual(Array.from(w.tensor.dataSync()), Array.from(wb[i].tensor.dataSync()), w.name));
    tf.dispose([...wa, ...wb].map((w) => w.tensor));
    result.solver.dispose();
    back.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
