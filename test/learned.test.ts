import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { runTorchTwin, torchAbsence, TWIN_PYTHON } from './helpers/torch';
import { categoricalLikelihood, gaussianLikelihood, poissonGaussianLikelihood } from '../lib/likelihoods';
import { downsample, identity, Operator, segmentationOperator } from '../lib/operators';
import { totalVariation } from '../lib/priors';
import { createProblem } from '../lib/solvers/classical';
import {
  ConvGRU,
  inverseSoftplus,
  stabilisedLogLikelihoodGradient,
  createLearnedSolver,
  initialiseFromModel,
  LearnedSolver,
  Lgd,
  loadLearnedSolver,
  ParamSet,
  Rim,
  saveLearnedSolver,
} from '../lib/solvers/learned';
import { maxAbsDiff } from './helpers/tensors';

/** A seeded uniform tensor in [0, 1). */
function image(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomUniform(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
}

/** Runs `solver` on a Gaussian denoising problem and checks the iterates' shapes; frees everything. */
function checkRun(solver: LearnedSolver, shape: [number, number, number, number], A: Operator = identity(), steps?: number): void {
  const x = image(shape, 1);
  const lik = gaussianLikelihood(A, { sigma: [0.1, 0.2].slice(0, shape[0]) });
  const y = lik.sample(x, 2);
  const problem = createProblem({ likelihood: lik, y });
  const before = tf.memory().numTensors;
  const xs = solver.run(y, problem, steps ? { steps } : {});
  assert.equal(xs.length, steps ?? solver.config.steps);
  for (const xt of xs) {
    assert.deepEqual(xt.shape, shape);
    assert.ok(Array.from(xt.dataSync()).every(Number.isFinite), 'finite iterates');
  }
  tf.dispose(xs);
  assert.equal(tf.memory().numTensors, before, 'run() leaks no tensors');
  tf.dispose([x, y]);
  A.dispose();
}

/** The parameter count of the RIM-bench cell (rim_torch.py's RIMBench) for c channels, F features. */
function benchFormula(c: number, F: number): number {
  const conv = (ci: number, co: number, k: number) => k * k * ci * co + co;
  const gru = (ci: number, f: number) => conv(ci, 3 * f, 3) + conv(f, 3 * f, 3);
  return conv(2 * c, F, 5) + gru(F, F) + conv(F, F, 3) + gru(F, F) + conv(F, c, 3);
}

describe('learned solvers', function () {
  this.timeout(60000);
  before(async () => {
    await initEngine({ quiet: true });
  });

  describe('ConvGRU', () => {
    it('follows torch.nn.GRUCell: r, z, n = tanh(Wx + r*(Uh)), h\' = (1 − z) n + z h (1×1 kernels, checked per pixel)', () => {
      const params = new ParamSet(3);
      const gru = new ConvGRU(params, 'g', 2, 3, 1);
      const x = image([1, 2, 2, 2], 4);
      const h = tf.tidy(() => tf.sub(tf.mul(image([1, 2, 2, 3], 5), 2), 1) as tf.Tensor4D);
      const out = gru.step(x, h);
      const W = gru.ih.kernel.dataSync(); // [1, 1, 2, 9]
      const bW = gru.ih.bias.dataSync();
      const U = gru.hh.kernel.dataSync(); // [1, 1, 3, 9]
      const bU = gru.hh.bias.dataSync();
      const xv = x.dataSync();
      const hv = h.dataSync();
      const ov = out.dataSync();
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      for (let p = 0; p < 4; p++) {
        const gx = (j: number) => bW[j] + [0, 1].reduce((a, i) => a + xv[p * 2 + i] * W[i * 9 + j], 0);
        const gh = (j: number) => bU[j] + [0, 1, 2].reduce((a, i) => a + hv[p * 3 + i] * U[i * 9 + j], 0);
        for (let f = 0; f < 3; f++) {
          const r = sig(gx(f) + gh(f));
          const z = sig(gx(3 + f) + gh(3 + f));
          const n = Math.tanh(gx(6 + f) + r * gh(6 + f));
          assert.ok(Math.abs(ov[p * 3 + f] - ((1 - z) * n + z * hv[p * 3 + f])) < 1e-5);
        }
      }
      // A null state equals an explicit zero state.
      const zero = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
      const a = gru.step(x, null);
      const b = gru.step(x, zero);
      assert.ok(maxAbsDiff(a, b) < 1e-6);
      tf.dispose([x, h, out, zero, a, b]);
      params.dispose();
    });

    it('initialises like torch: every weight within ±1/sqrt(fan_in), seeded', () => {
      const p1 = new ParamSet(7);
      const p2 = new ParamSet(7);
      const g1 = new ConvGRU(p1, 'g', 4, 5);
      new ConvGRU(p2, 'g', 4, 5);
      const bound = 1 / Math.sqrt(9 * 4);
      const k = g1.ih.kernel.dataSync();
      assert.ok(k.every((v) => Math.abs(v) <= bound));
      assert.ok(Math.max(...Array.from(k).map(Math.abs)) > 0.8 * bound, 'spans the interval');
      const w1 = p1.getWeights();
      const w2 = p2.getWeights();
      w1.forEach((w, i) => assert.deepEqual(Array.from(w.tensor.dataSync()), Array.from(w2[i].tensor.dataSync())));
      tf.dispose([...w1, ...w2].map((w) => w.tensor));
      p1.dispose();
      p2.dispose();
    });
  });

  describe('RIM', () => {
    it('RIM-bench cell: parameter count equals the PyTorch twin (122 145 for F = 32, gray) plus the learned ε', () => {
      assert.equal(benchFormula(1, 32), 122145);
      const plain = new Rim({ features: 32, epsilon: { learn: false, init: 0 } });
      assert.equal(plain.paramCount(), 122145);
      plain.dispose();
      const rim = new Rim();
      assert.equal(rim.paramCount(), 122145 + 1);
      rim.dispose();
      const color = new Rim({ channels: 3, features: 16, epsilon: { learn: false, init: 0 } });
      assert.equal(color.paramCount(), benchFormula(3, 16));
      color.dispose();
    });

    it('the torch twin prints the same parameter count (skipped only without /usr/bin/python3 or its torch)', function () {
      const absent = torchAbsence();
      if (absent) {
        console.log(`      skipped: ${absent}`);
        this.skip();
      }
      assert.equal(runTorchTwin(['--batch', '1', '--size', '8', '--steps', '1', '--features', '32', '--iters', '1']).params, 122145);
    });

    it('a broken twin is a failure, not a skip: a non-zero exit, or output that is not its JSON line, throws naming the command', function () {
      if (!fs.existsSync(TWIN_PYTHON)) this.skip();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-twin-'));
      const crash = path.join(dir, 'crash.py');
      fs.writeFileSync(crash, 'import sys\nsys.stderr.write("RuntimeError: shapes do not match\\n")\nsys.exit(1)\n');
      assert.throws(() => runTorchTwin(['--batch', '1'], { script: crash }), /crash\.py --batch 1 failed \(exit 1\): RuntimeError: shapes do not match/);
      const chatty = path.join(dir, 'chatty.py');
      fs.writeFileSync(chatty, 'print("params: 122145")\n');
      assert.throws(() => runTorchTwin([], { script: chatty }), /the last output line is not JSON/);
      assert.throws(() => runTorchTwin([], { script: path.join(dir, 'nope.py') }), /the torch twin .*nope\.py is missing/);
      const ok = path.join(dir, 'ok.py');
      fs.writeFileSync(ok, 'print("warming up")\nprint(\'{"framework": "fake", "params": 7}\')\n');
      assert.equal(runTorchTwin([], { script: ok }).params, 7);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const channels of [1, 3]) {
      for (const cell of ['bench', 'strided'] as const) {
        it(`runs ${cell} cell, ${channels} channel(s): T iterates of the image's shape, no leaks`, () => {
          const rim = new Rim({ channels, cell, features: 4, hidden: cell === 'strided' ? 6 : undefined, steps: 3 });
          checkRun(rim, [2, 8, 8, channels]);
          if (cell === 'strided') checkRun(rim, [1, 7, 9, channels]); // odd sizes: the transposed conv restores them
          rim.dispose();
        });
      }
    }

    const ablations: Array<[string, object]> = [
      ['useGradient: false', { useGradient: false }],
      ['useState: false', { useState: false }],
      ['sharedWeights: false', { sharedWeights: false }],
      ['logistic link', { link: 'logistic' }],
      ['strided + logistic + no state', { cell: 'strided', features: 4, hidden: 4, link: 'logistic', useState: false }],
    ];
    for (const [name, flags] of ablations) {
      it(`ablation ${name}: shapes, no leaks`, () => {
        const rim = new Rim({ features: 4, steps: 2, ...flags });
        checkRun(rim, [2, 8, 8, 1]);
        rim.dispose();
      });
    }

    it('the no-gradient ablation has exactly the parameters of the full model', () => {
      for (const cell of ['bench', 'strided'] as const) {
        const full = new Rim({ cell, features: 8, hidden: 8 });
        const noGrad = new Rim({ cell, features: 8, hidden: 8, useGradient: false });
        assert.equal(noGrad.paramCount(), full.paramCount());
        full.dispose();
        noGrad.dispose();
      }
      const full = new Lgd({ features: 8 });
      const noGrad = new Lgd({ features: 8, useGradient: false, usePriorGradient: false });
      assert.equal(noGrad.paramCount(), full.paramCount());
      full.dispose();
      noGrad.dispose();
    });

    it('per-step weights multiply the cell parameters by T', () => {
      const shared = new Rim({ features: 4, steps: 3, epsilon: { learn: false, init: 0 } });
      const perStep = new Rim({ features: 4, steps: 3, sharedWeights: false, epsilon: { learn: false, init: 0 } });
      assert.equal(perStep.paramCount(), 3 * shared.paramCount());
      shared.dispose();
      perStep.dispose();
    });

    it('ε enters the input: a different ε changes the first step', () => {
      const x = image([1, 6, 6, 1], 3);
      const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
      const y = lik.sample(x, 1);
      const x0 = tf.zerosLike(x) as tf.Tensor4D;
      const problem = createProblem({ likelihood: lik, y });
      const a = new Rim({ features: 4, steps: 1, epsilon: { learn: false, init: 0 } });
      const b = new Rim({ features: 4, steps: 1, epsilon: { learn: false, init: 0.05 } });
      const [xa] = a.run(y, problem, { x0 });
      const [xb] = b.run(y, problem, { x0 });
      assert.ok(maxAbsDiff(xa, xb) > 1e-6);
      tf.dispose([x, y, x0, xa, xb]);
      a.dispose();
      b.dispose();
      lik.operator.dispose();
    });

    it('works with other operators and likelihoods: downsampling (x0 = Aᵀy) and Poisson–Gaussian', () => {
      const rim = new Rim({ features: 4, steps: 2 });
      checkRun(rim, [1, 8, 8, 1], downsample(2));
      const x = image([1, 8, 8, 1], 9);
      const lik = poissonGaussianLikelihood(identity(), { a: 0.01, b: 1e-4 });
      const y = lik.sample(x, 3);
      const xs = rim.run(y, createProblem({ likelihood: lik, y }));
      assert.deepEqual(xs[1].shape, [1, 8, 8, 1]);
      assert.ok(Array.from(xs[1].dataSync()).every(Number.isFinite));
      tf.dispose([...xs, x, y]);
      lik.operator.dispose();
      rim.dispose();
    });

    it('rejects images with the wrong number of channels, naming both', () => {
      const rim = new Rim({ features: 4, steps: 1 });
      const y = image([1, 4, 4, 3], 1);
      const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
      const before = tf.memory().numTensors;
      assert.throws(() => rim.run(y, createProblem({ likelihood: lik, y })), /3 channels.*built for 1/);
      assert.equal(tf.memory().numTensors, before);
      y.dispose();
      rim.dispose();
    });
  });

  describe('stabilised gradient', () => {
    it('is Aᵀ(y − Ax)/(σ² + ε) for the Gaussian likelihood, per image σ', () => {
      const x = image([2, 4, 4, 1], 1);
      const y = image([2, 4, 4, 1], 2);
      const sigmas = [0.1, 0.3];
      const lik = gaussianLikelihood(identity(), { sigma: sigmas });
      const eps = 0.02;
      const g = stabilisedLogLikelihoodGradient(lik, x, y, tf.scalar(eps));
      const gv = g.dataSync();
      const xv = x.dataSync();
      const yv = y.dataSync();
      for (let i = 0; i < gv.length; i++) {
        const s = sigmas[Math.floor(i / 16)];
        assert.ok(Math.abs(gv[i] - (yv[i] - xv[i]) / (s * s + eps)) < 1e-4 * (1 + Math.abs(gv[i])));
      }
      tf.dispose([x, y, g]);
    });

    it('softplus⁻¹ inverts softplus', () => {
      for (const e of [1e-6, 1e-3, 0.5, 30]) assert.ok(Math.abs(Math.log1p(Math.exp(inverseSoftplus(e))) - e) < 1e-9 * Math.max(1, e));
    });
  });

  describe('LGD', () => {
    it('an untrained 10-step LGD (F = 32) stays finite on σ = 5/255 noise (normalised data gradient)', () => {
      const lgd = new Lgd();
      const x = image([2, 16, 16, 1], 4);
      const lik = gaussianLikelihood(identity(), { sigma: 5 / 255 });
      const y = lik.sample(x, 1);
      const xs = lgd.run(y, createProblem({ likelihood: lik, y }));
      const err = tf.tidy(() => tf.mean(tf.square(tf.sub(xs[9], x))).dataSync()[0]);
      assert.ok(Number.isFinite(err) && err < 10, `MSE after 10 steps ${err}`);
      tf.dispose([...xs, x, y]);
      lgd.dispose();
    });

    for (const channels of [1, 3]) {
      it(`runs with ${channels} channel(s): shapes, no leaks; parameter count`, () => {
        const lgd = new Lgd({ channels, features: 8, steps: 3 });
        // conv1 (3c + 5 → 8), conv2 (8 → 8), conv3 (8 → c + 5), all 3×3 (ε only with the stabilised gradient).
        const conv = (ci: number, co: number) => 9 * ci * co + co;
        assert.equal(lgd.paramCount(), conv(3 * channels + 5, 8) + conv(8, 8) + conv(8, channels + 5));
        const stabilised = new Lgd({ channels, features: 8, dataGradient: 'stabilised' });
        assert.equal(stabilised.paramCount(), lgd.paramCount() + 1);
        checkRun(stabilised, [2, 8, 8, channels], identity(), 2);
        stabilised.dispose();
        checkRun(lgd, [2, 8, 8, channels]);
        lgd.dispose();
      });
    }

    const flags: Array<[string, object]> = [
      ['sharedWeights: false', { sharedWeights: false }],
      ['useGradient: false', { useGradient: false }],
      ['usePriorGradient: false', { usePriorGradient: false }],
      ['useState: false', { useState: false }],
      ['stabilised gradient, no state', { dataGradient: 'stabilised', useState: false }],
    ];
    for (const [name, f] of flags) {
      it(`ablation ${name}: shapes, no leaks`, () => {
        const lgd = new Lgd({ features: 4, steps: 2, ...f });
        checkRun(lgd, [2, 8, 8, 1]);
        lgd.dispose();
      });
    }

    it("dataGradient 'rms' feeds a unit-scale direction: a gradient 1000× larger gives the same first step (the normalised one does not)", () => {
      const x0 = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
      const y = image([1, 8, 8, 1], 6);
      const big = tf.mul(y, 1000) as tf.Tensor4D;
      const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
      const first = (lgd: Lgd, target: tf.Tensor4D) => {
        const xs = lgd.run(target, createProblem({ likelihood: lik, y: target }), { x0, steps: 1 });
        const out = Array.from(xs[0].dataSync());
        tf.dispose(xs);
        return out;
      };
      const rms = new Lgd({ features: 4, steps: 2, dataGradient: 'rms' });
      const normalised = new Lgd({ features: 4, steps: 2 });
      const before = tf.memory().numTensors;
      const [a, b] = [first(rms, y), first(rms, big)];
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5 * (1 + Math.abs(v)), `pixel ${i}: ${v} vs ${b[i]}`));
      const [c, d] = [first(normalised, y), first(normalised, big)];
      assert.ok(c.some((v, i) => Math.abs(v - d[i]) > 1e-2), 'the normalised gradient keeps the scale');
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      // A data gradient that is 0 whatever x (a label map of ignored pixels only) gives finite training gradients, not NaN.
      const ignored = tf.fill([1, 8, 8, 1], 11) as tf.Tensor4D;
      const grey = tf.fill([1, 8, 8, 3], 0.5) as tf.Tensor4D;
      const rgb = new Lgd({ channels: 3, features: 4, steps: 3, dataGradient: 'rms' });
      const toy = categoricalLikelihood(segmentationOperator({ classes: 2, logits: (x: tf.Tensor4D) => tf.concat([tf.mean(x, 3, true), tf.neg(tf.mean(x, 3, true))], 3) as tf.Tensor4D }), { ignoreLabel: 11 });
      const zeroGrad = tf.variableGrads(() => {
        const xs = rgb.run(ignored, createProblem({ likelihood: toy, y: ignored }), { x0: grey, steps: 3 });
        const loss = tf.mean(tf.square(xs[1])) as tf.Scalar;
        tf.dispose(xs);
        return loss;
      });
      assert.ok(Object.values(zeroGrad.grads).every((g) => tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0]) === 1), 'NaN in the gradient of a zero data gradient');
      tf.dispose([zeroGrad.value, ...Object.values(zeroGrad.grads), ignored, grey]);
      rgb.dispose();
      assert.throws(() => new Lgd({ dataGradient: 'unit' as never }), /dataGradient must be 'normalised', 'stabilised' or 'rms', got "unit"/);
      [rms, normalised].forEach((l) => l.dispose());
      tf.dispose([x0, y, big]);
    });

    it("uses the problem's prior when it has one, and runs under downsampling", () => {
      const lgd = new Lgd({ features: 4, steps: 2 });
      const x = image([1, 8, 8, 1], 2);
      const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
      const y = lik.sample(x, 1);
      const withTv = lgd.run(y, createProblem({ likelihood: lik, y, prior: totalVariation({ lambda: 5 }) }));
      const without = lgd.run(y, createProblem({ likelihood: lik, y }));
      assert.ok(maxAbsDiff(withTv[1], without[1]) > 0);
      tf.dispose([...withTv, ...without, x, y]);
      checkRun(lgd, [1, 8, 8, 1], downsample(2));
      lgd.dispose();
    });
  });

  describe('weights and files', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-learned-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('getWeights / setWeights round-trip by name; wrong names and shapes are errors', () => {
      const a = new Rim({ features: 4, steps: 2, seed: 1 });
      const b = new Rim({ features: 4, steps: 2, seed: 2 });
      const w = a.getWeights();
      assert.ok(w.some((t) => t.name === 'cell/g1/ih/kernel') && w.some((t) => t.name === 'epsilon/raw'));
      b.setWeights(w);
      const wb = b.getWeights();
      w.forEach((t, i) => assert.deepEqual(Array.from(wb[i].tensor.dataSync()), Array.from(t.tensor.dataSync())));
      assert.throws(() => b.setWeights([...w, { name: 'extra', tensor: w[0].tensor }]), /unknown weight\(s\) extra/);
      assert.throws(() => b.setWeights(w.slice(1)), /missing weight/);
      const bad = w.map((t, i) => (i === 1 ? { name: t.name, tensor: tf.zeros([2]) } : t));
      assert.throws(() => b.setWeights(bad), /has shape \[2\], expected/);
      tf.dispose([...w, ...wb, bad[1]].map((t) => t.tensor));
      a.dispose();
      b.dispose();
    });

    it('save/load round trip (model.json + weights.bin + config.json + SHA256SUMS) gives the same iterates', async () => {
      for (const config of [{ kind: 'rim' as const, features: 4, steps: 2, cell: 'strided' as const, hidden: 4 }, { kind: 'lgd' as const, features: 4, steps: 2 }]) {
        const solver = createLearnedSolver({ ...config, seed: 5 });
        const out = path.join(dir, config.kind);
        await saveLearnedSolver(solver, out, { 'notes.txt': 'hello' });
        for (const f of ['model.json', 'weights.bin', 'config.json', 'SHA256SUMS', 'notes.txt']) assert.ok(fs.existsSync(path.join(out, f)), f);
        const model = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
        assert.deepEqual(model.weightsManifest[0].paths, ['weights.bin']);
        const before = tf.memory().numTensors;
        const loaded = await loadLearnedSolver(out);
        assert.equal(loaded.paramCount(), solver.paramCount());
        const x = image([1, 8, 8, 1], 1);
        const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
        const y = lik.sample(x, 1);
        const problem = createProblem({ likelihood: lik, y });
        const xa = solver.run(y, problem);
        const xb = loaded.run(y, problem);
        assert.deepEqual(Array.from(xb[1].dataSync()), Array.from(xa[1].dataSync()));
        tf.dispose([...xa, ...xb, x, y]);
        loaded.dispose();
        assert.equal(tf.memory().numTensors, before);
        solver.dispose();
      }
    });

    it('loading a folder whose file changed fails naming the file', async () => {
      const solver = new Rim({ features: 4, steps: 1 });
      const out = path.join(dir, 'tampered');
      await saveLearnedSolver(solver, out);
      await saveLearnedSolver(solver, out); // overwriting an existing folder works
      const bin = path.join(out, 'weights.bin');
      const bytes = fs.readFileSync(bin);
      bytes[10] ^= 0xff;
      fs.writeFileSync(bin, bytes);
      await assert.rejects(loadLearnedSolver(out), (err: Error) => err.message.includes('checksum mismatch') && err.message.includes(bin));
      solver.dispose();
    });
  });

  describe('a deeper RIM read-out (bench cell blocks)', () => {
    it('blocks start as the identity: a deepened RIM computes what the saved one does; its other weights are seeded as without blocks', async () => {
      const F = 4;
      const shallow = new Rim({ features: F, steps: 3, seed: 2 });
      const seededTwin = new Rim({ features: F, steps: 3, seed: 9 });
      const deep = new Rim({ features: F, steps: 3, seed: 9, blocks: 2 });
      assert.equal(deep.paramCount(), shallow.paramCount() + 2 * 2 * (9 * F * F + F), 'each block: two 3x3 F→F convolutions');
      assert.equal(new Set(deep.getWeights().map((w) => { const n = w.name; w.tensor.dispose(); return n; })).has('cell/r1b/kernel'), true);
      const twin = new Map(seededTwin.getWeights().map((w) => [w.name, w.tensor]));
      const dw = deep.getWeights();
      for (const w of dw) {
        const t = twin.get(w.name);
        if (t) assert.deepEqual(Array.from(w.tensor.dataSync()), Array.from(t.dataSync()), `${w.name}: the same seeded values with or without blocks`);
        else if (/r\db\//.test(w.name)) assert.ok(Array.from(w.tensor.dataSync()).every((v) => v === 0), `${w.name} starts at zero`);
      }
      tf.dispose([...twin.values(), ...dw.map((w) => w.tensor)]);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rim-deepen-'));
      await saveLearnedSolver(shallow, dir);
      const before = tf.memory().numTensors;
      initialiseFromModel(deep, dir, { keepMissing: true });
      assert.equal(tf.memory().numTensors, before, 'init leaked tensors');
      const x = image([2, 10, 10, 1], 3);
      const y = tf.tidy(() => tf.add(x, tf.mul(0.1, image([2, 10, 10, 1], 4))) as tf.Tensor4D);
      const problem = createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y });
      const a = shallow.run(y, problem);
      const b = deep.run(y, problem);
      const err = maxAbsDiff(a[2], b[2]);
      assert.equal(err, 0, `the deepened RIM differs from the saved one by ${err}`);
      tf.dispose([...a, ...b]);
      // The blocks learn: one gradient step moves the zero convolutions, and the run does not leak.
      const n0 = tf.memory().numTensors;
      const vars = deep.getWeights().map((w) => { w.tensor.dispose(); return w.name; });
      assert.ok(vars.includes('cell/r0b/kernel'));
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => { const xs = deep.run(y, problem); const l = tf.mean(tf.square(tf.sub(xs[2], x))) as tf.Scalar; tf.dispose(xs.slice(0, 2)); return l; }));
      const zeroConv = deep.trainableVariables().find((v) => v.name.split('#')[0] === 'cell/r0b/kernel');
      const gz = zeroConv && grads[zeroConv.name];
      assert.ok(gz && tf.tidy(() => tf.max(tf.abs(gz)).dataSync()[0]) > 0, 'the zero-initialised convolution gets a gradient');
      tf.dispose([value, ...Object.values(grads)]);
      assert.equal(tf.memory().numTensors, n0, 'tensors leaked');
      assert.throws(() => new Rim({ blocks: -1 }), /blocks must be an integer >= 0/);
      assert.throws(() => new Rim({ cell: 'strided', blocks: 1 }), /blocks .* belong to the bench cell/);
      tf.dispose([x, y]);
      [shallow, seededTwin, deep].forEach((m) => m.dispose());
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });

  describe('init: a wider model from a narrower one (widen)', () => {
    it('computes what the saved model computes; new units start seeded, with zero weights out of them', async () => {
      const narrow = new Rim({ features: 4, steps: 3, seed: 2 });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-widen-'));
      await saveLearnedSolver(narrow, dir);
      const wide = new Rim({ features: 6, steps: 3, seed: 7 });
      const seeded = new Map(wide.getWeights().map((w) => [w.name, w.tensor]));
      const before = tf.memory().numTensors;
      initialiseFromModel(wide, dir, { widen: true });
      assert.equal(tf.memory().numTensors, before, 'init leaked tensors');
      const x = image([2, 10, 10, 1], 3);
      const y = tf.tidy(() => tf.add(x, tf.mul(0.1, image([2, 10, 10, 1], 4))) as tf.Tensor4D);
      const problem = createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y });
      const a = narrow.run(y, problem);
      const b = wide.run(y, problem);
      const err = maxAbsDiff(a[2], b[2]);
      assert.ok(err < 1e-5, `the widened RIM differs from the narrow one by ${err}`);
      const w = new Map(wide.getWeights().map((t) => [t.name, t.tensor]));
      const values = (t: tf.Tensor) => Array.from(t.dataSync());
      // The GRU's update gate z (outputs 6..11 of 18): units 0..3 are the saved ones, 4..5 new and seeded.
      const ih = w.get('cell/g1/ih/kernel')!; // [3, 3, 6, 18]
      const savedIh = narrow.getWeights().find((t) => t.name === 'cell/g1/ih/kernel')!.tensor; // [3, 3, 4, 12]
      assert.deepEqual(values(tf.slice(ih, [0, 0, 0, 6], [3, 3, 4, 4])), values(tf.slice(savedIh, [0, 0, 0, 4], [3, 3, 4, 4])));
      assert.deepEqual(values(tf.slice(ih, [0, 0, 0, 10], [3, 3, 6, 2])), values(tf.slice(seeded.get('cell/g1/ih/kernel')!, [0, 0, 0, 10], [3, 3, 6, 2])));
      assert.ok(values(tf.slice(ih, [0, 0, 4, 0], [3, 3, 2, 4])).every((v) => v === 0), 'no weight from a new input channel into a saved unit');
      assert.ok(values(tf.slice(w.get('cell/out/kernel')!, [0, 0, 4, 0], [3, 3, 2, 1])).every((v) => v === 0), 'new units do not reach the output');
      tf.dispose([...a, ...b, x, y, savedIh, ...w.values(), ...seeded.values()]);
      // Narrower than the saved model, or another kernel size: an error naming the folder and the weight.
      const narrower = new Rim({ features: 3, steps: 3 });
      assert.throws(() => initialiseFromModel(narrower, dir, { widen: true }), (e: Error) => e.message.includes(dir) && /cannot widen cell\/c1\/kernel from \[5, 5, 2, 4\] to \[5, 5, 2, 3\]/.test(e.message));
      const withoutWiden = new Rim({ features: 6, steps: 3 });
      assert.throws(() => initialiseFromModel(withoutWiden, dir), /does not fit this rim.*cell\/c1\/kernel has shape \[5, 5, 2, 4\], expected \[5, 5, 2, 6\]/);
      [narrow, wide, narrower, withoutWiden].forEach((m) => m.dispose());
    });
  });
});
