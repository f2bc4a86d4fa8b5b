import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { denoisingTask, DIHEDRAL, dihedral, evaluate, inverseDihedral, learnedMethod, Method, restore, selfEnsembleMethod, superResolutionTask } from '../lib/experiments';
import { writeImage } from '../lib/io/image';
import { imresize } from '../lib/operators';
import { Rim, saveLearnedSolver } from '../lib/solvers/learned';
import { evaluateCli } from './helpers/cli';
import { maxAbsDiff } from './helpers/tensors';

/** A smooth RGB image `[1, h, w, 3]` without any symmetry, 8-bit. */
function image(h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    const i = tf.range(0, h).reshape([h, 1, 1]);
    const j = tf.range(0, w).reshape([1, w, 1]);
    const k = tf.tensor1d([0, 1, 2]).reshape([1, 1, 3]);
    const v = tf.add(0.5, tf.mul(0.3, tf.sin(tf.add(tf.add(tf.mul(i, 0.23), tf.mul(j, 0.41)), tf.add(tf.mul(tf.mul(i, j), 0.013), k)))));
    return tf.round(tf.mul(v, 255)).div(255).reshape([1, h, w, 3]) as tf.Tensor4D;
  });
}

describe('geometric self-ensemble', function () {
  this.timeout(300_000);
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('the eight symmetries are distinct, and each inverse undoes its transform', () => {
    const x = image(5, 7);
    const seen = new Set<string>();
    for (const g of DIHEDRAL) {
      const t = dihedral(x, g);
      seen.add(`${t.shape.join('x')}:${Array.from(t.dataSync()).join(',')}`);
      const back = inverseDihedral(t, g);
      assert.deepEqual(back.shape, x.shape);
      assert.equal(maxAbsDiff(back, x), 0, JSON.stringify(g));
      tf.dispose([t, back]);
    }
    assert.equal(seen.size, 8);
    // transpose then flipping the columns is a 90° rotation: applied four times, the identity.
    const rot = DIHEDRAL.find((g) => g.transpose && !g.flipRows && g.flipColumns)!;
    let r = x.clone();
    for (let k = 0; k < 4; k++) {
      const next = dihedral(r, rot);
      r.dispose();
      r = next;
    }
    assert.equal(maxAbsDiff(r, x), 0);
    tf.dispose([r, x]);
  });

  it('MATLAB bicubic downsampling commutes with every symmetry when the sides are multiples of the scale (why SR may use it)', () => {
    const hr = image(24, 30);
    for (const g of DIHEDRAL) {
      const a = tf.tidy(() => imresize(dihedral(hr, g), 1 / 3));
      const b = tf.tidy(() => dihedral(imresize(hr, 1 / 3), g));
      assert.ok(maxAbsDiff(a, b) < 1e-5, JSON.stringify(g));
      tf.dispose([a, b]);
    }
    hr.dispose();
  });

  it('averages the transformed-back outputs: an equivariant method is unchanged, a non-equivariant one is symmetrised; no tensors leak', () => {
    const task = denoisingTask({ sigma: 25 });
    const truth = image(8, 10);
    const y = task.degrade(truth, 3);
    const input = task.input(y);
    const copy: Method = { name: 'copy', restore: (_y, _t, c) => ({ output: c.input.clone() }) };
    // Adds 10/255 at the top-left pixel of whatever it is given: averaged over the 8 symmetries, each corner gets 2 of 8.
    const corner: Method = {
      name: 'corner',
      restore: (_y, _t, c) => ({ output: tf.tidy(() => tf.add(c.input, tf.pad(tf.fill([1, 1, 1, 3], 10 / 255), [[0, 0], [0, c.input.shape[1] - 1], [0, c.input.shape[2] - 1], [0, 0]])) as tf.Tensor4D) }),
    };
    const before = tf.memory().numTensors;
    const same = selfEnsembleMethod(copy).restore(y, task, { input });
    assert.equal(tf.tidy(() => maxAbsDiff(same.output, tf.div(tf.round(tf.mul(input, 255)), 255))), 0);
    const sym = selfEnsembleMethod(corner).restore(y, task, { input });
    const d = tf.tidy(() => tf.sub(sym.output, input).mul(255).arraySync() as number[][][][]);
    for (const [i, j] of [[0, 0], [0, 9], [7, 0], [7, 9]]) assert.ok(Math.abs(d[0][i][j][0] - 2.5) <= 0.5 + 1e-4, `corner ${i},${j}: ${d[0][i][j][0]}`);
    assert.ok(Math.abs(d[0][3][4][0]) <= 0.5 + 1e-4);
    tf.dispose([same.output, sym.output]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([truth, y, input]);
  });

  it('a learned SR model through evaluate: the ensemble row is named, its curve has every step, and restore({ ensemble }) gives the same image', async () => {
    const rim = new Rim({ features: 4, steps: 2, seed: 5 });
    const task = superResolutionTask({ scale: 3 });
    const hr = image(24, 30);
    const lr = imresize(hr, 1 / 3, { quantize: true });
    const method = selfEnsembleMethod(learnedMethod(rim, { name: 'tiny' }));
    assert.equal(method.name, 'tiny ×8');
    const ev = evaluate(task, [method], { dataset: 'toy', pairs: [{ name: 'p', hr, lr }], curveImages: 1, keepExamples: 1, progress: false });
    assert.equal(ev.rows[1].method, 'tiny ×8');
    assert.equal(ev.methods[0].curve.length, 4);
    assert.equal(ev.methods[0].horizon, rim.config.steps, 'the ensemble keeps the learned method\'s T');
    const viaRestore = await restore(lr, { task: 'sr', scale: 3, model: rim, ensemble: true });
    assert.equal(maxAbsDiff(viaRestore, ev.methods[0].examples[0].output), 0);
    const e = ev.methods[0].examples[0];
    tf.dispose([viaRestore, e.truth, e.input, e.output, hr, lr]);
    rim.dispose();
  });

  it('npm run evaluate --ensemble: the JSON says so', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-ensemble-'));
    try {
      const rim = new Rim({ features: 4, steps: 2, seed: 5 });
      await saveLearnedSolver(rim, path.join(tmp, 'models', 'tiny_sr'));
      rim.dispose();
      const pairs = path.join(tmp, 'pairs');
      fs.mkdirSync(pairs);
      const hr = image(24, 24);
      const lr = imresize(hr, 1 / 3, { quantize: true });
      await writeImage(hr, path.join(pairs, 'a_HR.png'));
      await writeImage(lr, path.join(pairs, 'a_LR.png'));
      tf.dispose([hr, lr]);
      const r = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_sr', '--ensemble', '--json'], path.join(tmp, 'models'));
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0], /^\[1\/1\] a: tiny_sr ×8 \d+\.\d\d dB/);
      const json = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
      assert.equal(json.ensemble, 8);
      assert.ok(Number.isFinite(json.psnr));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
