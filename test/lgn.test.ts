import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { RawImage, writeImage } from '../lib/io/image';
import { Rng } from '../lib/io/rng';
import { categoricalLikelihood, gaussianLikelihood } from '../lib/likelihoods';
import { jacobianVectorProduct } from '../lib/solvers/classical/jacobian';
import { blur, downsample, gaussianKernel, identity, imresize, nonlinear } from '../lib/operators';
import { cgSolve, createLearnedSolver, dampingApply, gaussNewtonDirection, initialiseFromModel, Lgn, loadLearnedSolver, Rim, saveLearnedSolver, SMOOTHNESS_RIDGE } from '../lib/solvers/learned';
import { createProblem } from '../lib/tasks/problem';
import { trainLearnedSolver, TrainConfigInput } from '../lib/training';
import { directionAblationFigure, evaluate, gnDirectionAblation, learnedMethod, superResolutionTask } from '../lib/experiments';
import { evaluateCli } from './helpers/cli';
import { maxAbsDiff } from './helpers/tensors';

/** Solves a dense system in float64 (Gaussian elimination with partial pivoting). */
function denseSolve(m: number[][], b: number[]): number[] {
  const n = b.length;
  const a = m.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r][n];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

function randomImage(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next()), shape);
}

function syntheticImages(n: number, size: number): RawImage[] {
  const rng = new Rng(3);
  return Array.from({ length: n }, () => ({ data: Uint8Array.from({ length: size * size }, (_, i) => Math.round(127 + 90 * Math.sin(i * 0.07 + rng.next() * 6))), height: size, width: size, channels: 1 as const }));
}

describe('learned Gauss–Newton', function () {
  this.timeout(300_000);
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('cgSolve solves an SPD system per image', () => {
    const b = randomImage([2, 3, 3, 1], 1);
    const d = tf.tensor4d([2, 5], [2, 1, 1, 1]);
    const x = cgSolve((v) => tf.mul(v, d) as tf.Tensor4D, b, 2);
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.mul(x, d), b))).dataSync()[0]);
    assert.ok(err < 1e-5, `residual ${err}`);
    tf.dispose([b, d, x]);
    assert.throws(() => cgSolve((v) => v, tf.zeros([1, 1, 1, 1]) as tf.Tensor4D, 0), /iterations must be a positive integer/);
  });

  /** The dense `R` of a damping on 8×8 images: the identity, or `∇ᵀ∇ + κI` written out (the 4-neighbour Neumann Laplacian). */
  function denseDamping(damping: 'identity' | 'smoothness', h: number, w: number): number[][] {
    const n = h * w;
    const R = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? (damping === 'identity' ? 1 : SMOOTHNESS_RIDGE) : 0)));
    if (damping === 'identity') return R;
    const link = (a: number, b: number) => {
      R[a][a] += 1; R[b][b] += 1; R[a][b] -= 1; R[b][a] -= 1;
    };
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
      if (r + 1 < h) link(r * w + c, (r + 1) * w + c);
      if (c + 1 < w) link(r * w + c, r * w + c + 1);
    }
    return R;
  }

  for (const damping of ['identity', 'smoothness'] as const) it(`the CG direction equals the dense solve of (JᵀWJ + α w̄ R) δ = JᵀW(y − Ax), R = ${damping === 'identity' ? 'I' : '∇ᵀ∇ + κI'} (SR x2, per image)`, () => {
    const sigma = 0.05;
    const A = downsample(2);
    const likelihood = gaussianLikelihood(A, { sigma });
    const x = randomImage([2, 8, 8, 1], 2);
    const y = randomImage([2, 4, 4, 1], 3);
    const alpha = 0.5;
    const before = tf.memory().numTensors;
    const d = gaussNewtonDirection(likelihood, x, y, tf.scalar(alpha), { iterations: damping === 'identity' ? 40 : 120, damping });
    assert.equal(tf.memory().numTensors, before + 2, 'only the direction (and the α scalar) survive');
    const dv = d.arraySync();
    // Dense: columns of A from basis images; W = 1/σ², w̄ = W.
    const n = 64;
    const cols: number[][] = [];
    for (let j = 0; j < n; j++) {
      const e = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([j], 'int32'), n), 'float32').reshape([1, 8, 8, 1]) as tf.Tensor4D);
      cols.push(Array.from(tf.tidy(() => A.forward(e)).dataSync()));
      e.dispose();
    }
    const W = 1 / (sigma * sigma);
    const m = 16;
    const R = denseDamping(damping, 8, 8);
    const M = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let k = 0; k < m; k++) s += cols[i][k] * cols[j][k];
      return W * s + alpha * W * R[i][j];
    }));
    for (let img = 0; img < 2; img++) {
      const xi = tf.tidy(() => tf.slice(x, [img, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
      const ax = Array.from(tf.tidy(() => A.forward(xi)).dataSync());
      const yi = Array.from(tf.tidy(() => tf.slice(y, [img, 0, 0, 0], [1, -1, -1, -1])).dataSync());
      const rhs = Array.from({ length: n }, (_, i) => cols[i].reduce((s, v, k) => s + v * W * (yi[k] - ax[k]), 0));
      const exact = denseSolve(M, rhs);
      const got = (dv[img] as number[][][]).flat(2);
      const scale = Math.max(...exact.map(Math.abs));
      const err = Math.max(...exact.map((v, i) => Math.abs(v - got[i])));
      assert.ok(err < 1e-4 * scale, `image ${img}: max error ${err} (scale ${scale})`);
      xi.dispose();
    }
    tf.dispose([x, y, d]);
    A.dispose();
  });

  for (const damping of ['identity', 'smoothness'] as const) it(`implicit and unrolled gradients through the solve agree (damping ${damping})`, () => {
    const A = downsample(2);
    const likelihood = gaussianLikelihood(A, { sigma: 0.05 });
    const clean = randomImage([2, 8, 8, 1], 4);
    const y = tf.tidy(() => A.forward(clean));
    const problem = createProblem({ likelihood, y });
    const x0 = tf.tidy(() => tf.image.resizeBilinear(y, [8, 8]) as tf.Tensor4D);
    const grads = (mode: 'unrolled' | 'implicit') => {
      const lgn = new Lgn({ features: 4, steps: 2, cgIterations: damping === 'identity' ? 30 : 80, solveGradient: mode, damping, alpha: { init: 0.5, learn: true, perStep: true }, seed: 7 });
      const vars = lgn.trainableVariables();
      const { value, grads: g } = tf.variableGrads(() => {
        const xs = lgn.run(y, problem, { x0 });
        return tf.mean(tf.squaredDifference(xs[xs.length - 1], clean)) as tf.Scalar;
      }, vars);
      const byName = Object.fromEntries(lgn.getWeights().map((w, i) => [w.name, g[vars[i].name] ? Array.from(g[vars[i].name].dataSync()) : []]));
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(g)]);
      lgn.getWeights().forEach((w) => w.tensor.dispose());
      lgn.dispose();
      return { loss, byName };
    };
    const u = grads('unrolled');
    const i = grads('implicit');
    assert.ok(Math.abs(u.loss - i.loss) < 1e-6, 'same forward');
    assert.ok(u.byName['alpha/raw'].some((v) => v !== 0), 'α gets a gradient');
    for (const name of Object.keys(u.byName)) {
      const a = u.byName[name];
      const b = i.byName[name];
      const scale = Math.max(1e-12, ...a.map(Math.abs));
      const err = Math.max(0, ...a.map((v, k) => Math.abs(v - b[k])));
      assert.ok(err < 2e-3 * scale, `${name}: unrolled vs implicit differ by ${err} (scale ${scale})`);
    }
    tf.dispose([clean, y, x0]);
    A.dispose();
  });

  it('works with a non-linear operator (J v by the double-vjp trick), and leaks nothing', () => {
    const A = nonlinear((x) => tf.sigmoid(tf.mul(x, 3)) as tf.Tensor4D, { name: 'sigmoid' });
    const likelihood = gaussianLikelihood(A, { sigma: 0.1 });
    const x = randomImage([1, 6, 6, 1], 5);
    const y = tf.tidy(() => A.forward(tf.mul(x, 0.5) as tf.Tensor4D));
    const problem = createProblem({ likelihood, y });
    const lgn = new Lgn({ features: 4, steps: 2, cgIterations: 3, seed: 1 });
    const before = tf.memory().numTensors;
    const xs = lgn.run(y, problem, { x0: x });
    assert.equal(xs.length, 2);
    assert.ok(xs.every((t) => t.shape.join() === '1,6,6,1' && Number.isFinite(tf.tidy(() => t.sum().dataSync()[0]))));
    tf.dispose(xs);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.equal(lgn.alphas().length, 2);
    lgn.dispose();
    // The implicit solve is a custom op, inside which tfjs cannot run autodiff: one clear error, nothing leaked.
    const implicit = new Lgn({ features: 4, steps: 1, cgIterations: 2, solveGradient: 'implicit', seed: 1 });
    const count = tf.memory().numTensors;
    assert.throws(() => implicit.run(y, problem, { x0: x }), /solveGradient 'implicit' needs a linear operator \(sigmoid is not linear.*use solveGradient 'unrolled'/);
    assert.equal(tf.memory().numTensors, count);
    implicit.dispose();
    tf.dispose([x, y]);
  });

  it('directionCosines: 1 where the GN direction is a rescaled gradient (A = I), below 1 where it is not (a blur); runs as run does, no leak', () => {
    const lgn = new Lgn({ features: 4, steps: 3, cgIterations: 6, seed: 2 });
    const x = randomImage([2, 12, 12, 1], 8);
    const x0 = tf.zerosLike(x) as tf.Tensor4D; // away from y (the default start Aᵀy is y itself for A = I)
    const cosinesOf = (A: ReturnType<typeof identity>) => {
      const likelihood = gaussianLikelihood(A, { sigma: 0.1 });
      const y = tf.tidy(() => tf.add(A.forward(x), tf.mul(randomImage([2, 12, 12, 1], 9), 0.2)) as tf.Tensor4D);
      const problem = createProblem({ likelihood, y });
      const before = tf.memory().numTensors;
      const cos = lgn.directionCosines(y, problem, { x0: x0 });
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      // the iterates are those of run: the same network, so the same cosines on a second call
      assert.deepEqual(lgn.directionCosines(y, problem, { x0: x0 }), cos);
      y.dispose();
      return cos;
    };
    // (I + αI) δ = r: δ = r / (1 + α), parallel to the right-hand side at every step
    const id = cosinesOf(identity());
    assert.equal(id.length, 3);
    assert.ok(id.every((row) => row.length === 2 && row.every((c) => Math.abs(c - 1) < 1e-5)), JSON.stringify(id));
    // a 5x5 box blur damps high frequencies: (AᵀA + αI)⁻¹ reweights them, so δ leaves the gradient's direction
    const box = Array.from({ length: 5 }, () => Array.from({ length: 5 }, () => 1 / 25));
    const blurred = cosinesOf(blur(box));
    assert.ok(blurred.flat().every((c) => c < 0.99 && c > 0), JSON.stringify(blurred));
    const noDirection = new Lgn({ features: 4, steps: 1, useDirection: false, seed: 2 });
    const y = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    assert.throws(() => noDirection.directionCosines(y, createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y })), /without the GN direction/);
    // started at y itself (A = I): nothing left to fit at step 1, no direction (NaN), not a cosine of 0
    const fitted = lgn.directionCosines(y, createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y }));
    assert.ok(Number.isNaN(fitted[0][0]), JSON.stringify(fitted));
    tf.dispose([x, x0, y]);
    lgn.dispose();
    noDirection.dispose();
  });

  it('a categorical likelihood through a non-linear map (y a label map): the direction solves (W JᵀJ + α W I) δ = −∇L (dense)', () => {
    // Logits of K = 3 classes from a 2-channel image: z = tanh(x M) per pixel (a 1×1 "segmenter").
    const M = tf.tensor2d([[1.5, -0.7, 0.3], [-0.4, 1.1, -1.2]]);
    const A = nonlinear((x) => tf.tidy(() => tf.tanh(tf.reshape(tf.matMul(tf.reshape(x, [-1, 2]), M), [x.shape[0], x.shape[1], x.shape[2], 3])) as tf.Tensor4D), {
      name: 'toy segmenter',
      outputShape: (s) => [s[0], s[1], s[2], 3],
    });
    const likelihood = categoricalLikelihood(A, { ignoreLabel: 11 });
    const x = randomImage([1, 2, 3, 2], 8);
    const y = tf.tensor4d([0, 2, 11, 1, 1, 0], [1, 2, 3, 1]);
    const alpha = 0.3;
    const d = gaussNewtonDirection(likelihood, x, y, tf.scalar(alpha), { iterations: 30 });
    const n = 12;
    const cols: number[][] = [];
    for (let j = 0; j < n; j++) {
      const e = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([j], 'int32'), n), 'float32').reshape([1, 2, 3, 2]) as tf.Tensor4D);
      cols.push(Array.from(tf.tidy(() => jacobianVectorProduct(A, x, e)).dataSync()));
      e.dispose();
    }
    const W = Number(tf.tidy(() => likelihood.gaussNewtonWeight(x).dataSync()[0]));
    assert.equal(W, 0.5);
    const system = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => W * cols[i].reduce((s, v, k) => s + v * cols[j][k], 0) + (i === j ? alpha * W : 0)));
    const rhs = Array.from(tf.tidy(() => tf.neg(likelihood.grad(x, y))).dataSync());
    const exact = denseSolve(system, rhs);
    const got = Array.from(d.dataSync());
    const scale = Math.max(...exact.map(Math.abs));
    const err = Math.max(...exact.map((v, i) => Math.abs(v - got[i])));
    assert.ok(err < 1e-4 * scale, `max error ${err} (scale ${scale})`);
    // A descent direction of L: <δ, ∇L> < 0.
    assert.ok(exact.reduce((s, v, i) => s - v * rhs[i], 0) < 0);
    tf.dispose([M, x, y, d]);
  });

  it('saves and loads through the learned-solver I/O; flags change the input channels', async () => {
    const lgn = createLearnedSolver({ kind: 'lgn', features: 4, steps: 3, seed: 2 }) as Lgn;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-'));
    await saveLearnedSolver(lgn, dir);
    const back = await loadLearnedSolver(dir);
    assert.equal(back.kind, 'lgn');
    assert.equal(back.paramCount(), lgn.paramCount());
    const noDir = new Lgn({ features: 4, steps: 3, useDirection: false });
    assert.equal(lgn.paramCount() - noDir.paramCount(), 25 * 4 + 0 - 0 + 3 - 3, 'one input channel less: 25·F weights of the first conv (α per step in both)');
    assert.throws(() => new Lgn({ useDirection: false, useGradient: false }), /both false/);
    [lgn, back, noDir].forEach((s) => s.dispose());
  });

  it("gradient: 'rms' feeds a unit-scale gradient (a 1000× larger y gives the same first step; the stabilised one does not), saved and loaded with the model", async () => {
    const x0 = tf.zeros([1, 6, 6, 1]) as tf.Tensor4D;
    const y = tf.tidy(() => tf.randomUniform([1, 6, 6, 1], 0, 1, 'float32', 5)) as tf.Tensor4D;
    const big = tf.mul(y, 1000) as tf.Tensor4D;
    const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
    const first = (s: Lgn, t: tf.Tensor4D) => tf.tidy(() => Array.from(s.run(t, createProblem({ likelihood: lik, y: t }), { x0, steps: 1 })[0].dataSync()));
    const rms = new Lgn({ features: 4, steps: 2, useDirection: false, gradient: 'rms', seed: 3 });
    const stab = new Lgn({ features: 4, steps: 2, useDirection: false, seed: 3 });
    const [a, b] = [first(rms, y), first(rms, big)];
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5 * (1 + Math.abs(v)), `pixel ${i}: ${v} vs ${b[i]}`));
    const [c, d] = [first(stab, y), first(stab, big)];
    assert.ok(c.some((v, i) => Math.abs(v - d[i]) > 1e-3), 'the stabilised gradient is not scale-free');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-rms-'));
    await saveLearnedSolver(rms, dir);
    const back = (await loadLearnedSolver(dir)) as Lgn;
    assert.equal(back.config.gradient, 'rms');
    assert.deepEqual(first(back, y), a);
    assert.throws(() => new Lgn({ gradient: 'unit' as never }), /LGN: gradient must be 'stabilised' or 'rms', got "unit"/);
    [rms, stab, back].forEach((s) => s.dispose());
    tf.dispose([x0, y, big]);
  });

  it('damping: absent from earlier configs, kept through save / load, bad values named', async () => {
    assert.equal('damping' in new Lgn({ features: 4, steps: 1 }).config, false, 'absent: the identity, earlier configs unchanged');
    const smooth = new Lgn({ features: 4, steps: 1, damping: 'smoothness', seed: 3 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-damping-'));
    await saveLearnedSolver(smooth, dir);
    const back = (await loadLearnedSolver(dir)) as Lgn;
    assert.equal(back.config.damping, 'smoothness');
    assert.throws(() => new Lgn({ damping: 'laplace' as never }), /LGN: damping must be 'identity' or 'smoothness', got "laplace"/);
    assert.throws(() => dampingApply('tv' as never), /damping must be 'identity' or 'smoothness', got "tv"/);
    // R = ∇ᵀ∇ + κI on a constant image is κ times it (the Laplacian of a constant is 0).
    const c = tf.fill([1, 4, 5, 1], 2) as tf.Tensor4D;
    const rc = dampingApply('smoothness')(c);
    const expected = tf.mul(c, SMOOTHNESS_RIDGE);
    assert.ok(maxAbsDiff(rc, expected) < 1e-6);
    tf.dispose([c, rc, expected]);
    [smooth, back].forEach((s) => s.dispose());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts from a RIM\'s weights (init with a new zero δ channel): computes what the RIM computes, then trains', async () => {
    const rim = createLearnedSolver({ kind: 'rim', features: 4, steps: 3, seed: 4 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-init-'));
    await saveLearnedSolver(rim, dir);
    const x = randomImage([1, 12, 12, 1], 6);
    const D = downsample(2);
    const likelihood = gaussianLikelihood(D, { sigma: 0.02 });
    const y = tf.tidy(() => D.forward(x));
    const problem = createProblem({ likelihood, y });
    const x0 = tf.tidy(() => D.adjoint(y).mul(4) as tf.Tensor4D);
    const lgn = new Lgn({ features: 4, steps: 3, cgIterations: 3, seed: 9 });
    const before = tf.memory().numTensors;
    initialiseFromModel(lgn, dir, { inputChannels: { 'cell/c1/kernel': [0, null, 1] }, keepMissing: true });
    assert.equal(tf.memory().numTensors, before, 'init leaked tensors');
    const a = rim.run(y, problem, { x0 });
    const b = lgn.run(y, problem, { x0 });
    const err = maxAbsDiff(a[2], b[2]);
    assert.ok(err < 1e-5, `the LGN with a zero δ channel differs from the RIM by ${err}`);
    const k = lgn.getWeights().find((w) => w.name === 'cell/c1/kernel')!;
    assert.deepEqual(k.tensor.shape, [5, 5, 3, 4]);
    assert.equal(tf.tidy(() => tf.max(tf.abs(tf.slice(k.tensor, [0, 0, 1, 0], [5, 5, 1, 4]))).dataSync()[0]), 0, 'the δ channel starts at zero');
    tf.dispose([...a, ...b, k.tensor]);
    // Errors name the folder and what does not fit.
    const fresh = () => new Lgn({ features: 4, steps: 3, cgIterations: 3 });
    const cases: [Parameters<typeof initialiseFromModel>[2], RegExp][] = [
      [{ inputChannels: { 'cell/c1/kernel': [0, null, 1] } }, /does not fit this lgn.*missing weight\(s\) alpha\/raw/],
      [{ keepMissing: true }, /does not fit this lgn.*cell\/c1\/kernel has shape \[5, 5, 2, 4\], expected \[5, 5, 3, 4\]/],
      [{ inputChannels: { 'cell/c1/kernel': [0, null, 2] }, keepMissing: true }, /entry 2 is 2, not a channel of the saved kernel \(0\.\.1\)/],
      [{ inputChannels: { 'cell/c1/bias': [0] }, keepMissing: true }, /cell\/c1\/bias.*not a 4-D conv kernel/],
      [{ inputChannels: { 'cell/nothing': [0] }, keepMissing: true }, /has no weight cell\/nothing/],
    ];
    for (const [adapt, pattern] of cases) {
      const s = fresh();
      const n0 = tf.memory().numTensors;
      assert.throws(() => initialiseFromModel(s, dir, adapt), (e: Error) => e.message.includes(dir) && pattern.test(e.message));
      assert.equal(tf.memory().numTensors, n0, `tensors leaked on ${pattern}`);
      s.dispose();
    }
    // Through a training config: the run's log names the adaptation.
    const images = syntheticImages(3, 24);
    const lines: string[] = [];
    const run = await trainLearnedSolver({
      name: 'lgn_from_rim',
      model: { kind: 'lgn', features: 4, steps: 3, cgIterations: 3 },
      task: { kind: 'super-resolution', scales: [2], channel: 'same' },
      data: { patchSize: 8, batchSize: 2 },
      steps: 2,
      optimizer: { lr: 1e-3 },
      init: { model: dir, inputChannels: { 'cell/c1/kernel': [0, null, 1] }, keepMissing: true },
    }, { log: (l) => lines.push(l), exportDir: false, images, runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-init-run-')) });
    assert.ok(lines.some((l) => /starting from the weights of .*cell\/c1\/kernel input channels from \[0, new, 1\]; weights it lacks keep their seeded values/.test(l)), lines.join('\n'));
    run.solver.dispose();
    [rim, lgn].forEach((s) => s.dispose());
    tf.dispose([x, y, x0]);
  });

  it('a deeper read-out (blocks) starts from a saved LGN computing what it computes, through a training config too', async () => {
    const shallow = new Lgn({ features: 4, steps: 3, cgIterations: 3, seed: 4 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-deepen-'));
    await saveLearnedSolver(shallow, dir);
    const deep = new Lgn({ features: 4, steps: 3, cgIterations: 3, seed: 9, blocks: 1 });
    assert.equal(deep.paramCount() - shallow.paramCount(), 2 * (9 * 16 + 4), 'one block: two 3x3 F→F convolutions');
    initialiseFromModel(deep, dir, { keepMissing: true });
    const x = randomImage([1, 12, 12, 1], 6);
    const D = downsample(2);
    const y = tf.tidy(() => D.forward(x));
    const problem = createProblem({ likelihood: gaussianLikelihood(D, { sigma: 0.02 }), y });
    const x0 = tf.tidy(() => D.adjoint(y).mul(4) as tf.Tensor4D);
    const a = shallow.run(y, problem, { x0 });
    const b = deep.run(y, problem, { x0 });
    const err = maxAbsDiff(a[2], b[2]);
    assert.equal(err, 0, `the deepened LGN differs from the saved one by ${err}`);
    tf.dispose([...a, ...b]);
    assert.throws(() => new Lgn({ blocks: 1.5 }), /LGN: blocks must be an integer >= 0/);
    const lines: string[] = [];
    const run = await trainLearnedSolver({
      name: 'lgn_deepened',
      model: { kind: 'lgn', features: 4, steps: 3, cgIterations: 3, blocks: 1 },
      task: { kind: 'super-resolution', scales: [2], channel: 'same' },
      data: { patchSize: 8, batchSize: 2 },
      steps: 2,
      optimizer: { lr: 1e-3 },
      init: { model: dir, keepMissing: true },
    }, { log: (l) => lines.push(l), exportDir: false, images: syntheticImages(3, 24), runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-deepen-run-')) });
    assert.equal(run.solver.paramCount(), deep.paramCount());
    assert.ok(lines.some((l) => /starting from the weights of .*weights it lacks keep their seeded values/.test(l)), lines.join('\n'));
    run.solver.dispose();
    [shallow, deep].forEach((m) => m.dispose());
    tf.dispose([x, y, x0]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trains and resumes exactly (interrupted at step 2 of 4)', async () => {
    const images = syntheticImages(3, 24);
    const config: TrainConfigInput = {
      name: 'lgn_tiny',
      model: { kind: 'lgn', features: 4, steps: 2, cgIterations: 3 },
      task: { kind: 'super-resolution', scales: [2], channel: 'same' },
      data: { patchSize: 8, batchSize: 2 },
      steps: 4,
      checkpointEvery: 2,
      optimizer: { lr: 1e-2, clipNorm: 0.5 },
      schedule: { type: 'cosine', minLr: 1e-4 },
      seed: 3,
    };
    const quiet = { log: () => undefined, exportDir: false as const };
    const full = await trainLearnedSolver(config, { ...quiet, images, runDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-full-')) });
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-resume-'));
    const controller = new AbortController();
    const first = await trainLearnedSolver(config, { ...quiet, images, runDir, signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() });
    assert.equal(first.step, 2);
    first.solver.dispose();
    const resumed = await trainLearnedSolver(config, { ...quiet, images, runDir });
    assert.deepEqual(resumed.log.map((e) => [e.step, e.loss, e.gradNorm]), full.log.map((e) => [e.step, e.loss, e.gradNorm]));
    const w = (s: typeof full.solver) => s.getWeights().map((t) => {
      const v = Array.from(t.tensor.dataSync());
      t.tensor.dispose();
      return v;
    });
    assert.deepEqual(w(resumed.solver), w(full.solver), 'bitwise equal weights');
    full.solver.dispose();
    resumed.solver.dispose();
  });
  it('ablated zeroes the first convolution\'s weights for one input: without δ, the solve no longer matters; no leak', () => {
    const before = tf.memory().numTensors;
    const lgn = new Lgn({ features: 4, steps: 2, cgIterations: 3, seed: 21 });
    const A = downsample(2);
    const likelihood = gaussianLikelihood(A, { sigma: 0.05 });
    const clean = randomImage([1, 8, 8, 1], 22);
    const y = tf.tidy(() => A.forward(clean));
    const problem = createProblem({ likelihood, y });
    const x0 = tf.tidy(() => tf.image.resizeBilinear(y, [8, 8]) as tf.Tensor4D);
    const last = (s: Lgn) => {
      const xs = s.run(y, problem, { x0 });
      const out = xs.pop() as tf.Tensor4D;
      tf.dispose(xs);
      return out;
    };
    const noDelta = lgn.ablated('direction');
    const noDeltaOtherSolve = noDelta.withSolve({ cgIterations: 9, damping: 'smoothness' });
    const otherSolve = lgn.withSolve({ cgIterations: 9, damping: 'smoothness' });
    const noGradient = lgn.ablated('gradient');
    const [a, b, full, fullOtherSolve] = [last(noDelta), last(noDeltaOtherSolve), last(lgn), last(otherSolve)];
    assert.equal(maxAbsDiff(a, b), 0, 'δ has no weight: the solve cannot change the output');
    assert.ok(maxAbsDiff(full, fullOtherSolve) > 1e-6, 'with its δ weights it does');
    const kernel = (s: Lgn) => {
      const w = s.getWeights();
      const k = w.find((e) => e.name === 'cell/c1/kernel')!.tensor.arraySync() as number[][][][];
      tf.dispose(w.map((e) => e.tensor));
      return k;
    };
    const [k0, k1, kg] = [kernel(lgn), kernel(noDelta), kernel(noGradient)];
    const same = (k: number[][][][], zeroed: number) => k.flat(1).forEach((row, i) => row.forEach((inputs, ch) => inputs.forEach((v, o) => assert.ok(v === (ch === zeroed ? 0 : k0.flat(1)[i][ch][o]), `input ${ch}, output ${o}: ${v}`))));
    same(k1, 1); // inputs [x, δ, g]
    same(kg, 2);
    const gOnly = new Lgn({ features: 4, steps: 1, useDirection: false });
    assert.throws(() => gOnly.ablated('direction'), /built without the direction input/);
    assert.throws(() => lgn.ablated('x' as never), /input must be 'direction' or 'gradient', got "x"/);
    [lgn, noDelta, noDeltaOtherSolve, otherSolve, noGradient, gOnly].forEach((s) => s.dispose());
    tf.dispose([a, b, full, fullOtherSolve, clean, y, x0]);
    A.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  });

  it('directionScale \'stabilised\' feeds δ/(σ² + ε): the raw model with its δ weights times 1/(σ² + ε) computes the same; saved, checked', async () => {
    const sigma = 0.05;
    const A = blur(gaussianKernel(5, 1));
    const likelihood = gaussianLikelihood(A, { sigma });
    const clean = randomImage([2, 10, 10, 1], 31);
    const y = tf.tidy(() => A.forward(clean));
    const problem = createProblem({ likelihood, y });
    const stab = new Lgn({ features: 4, steps: 2, cgIterations: 4, directionScale: 'stabilised', seed: 32 });
    const raw = new Lgn({ features: 4, steps: 2, cgIterations: 4, seed: 32 });
    const eps = tf.tidy(() => tf.softplus(stab.getWeights().find((w) => w.name === 'epsilon/raw')!.tensor).dataSync()[0]);
    const k = 1 / (sigma * sigma + eps);
    const weights = stab.getWeights().map((w) => (w.name === 'cell/c1/kernel' ? { name: w.name, tensor: tf.tidy(() => tf.mul(w.tensor, tf.reshape(tf.tensor1d([1, k, 1]), [1, 1, 3, 1]))) } : w));
    raw.setWeights(weights);
    tf.dispose(weights.map((w) => w.tensor));
    const last = (s: Lgn) => {
      const xs = s.run(y, problem, { x0: y });
      const out = xs.pop() as tf.Tensor4D;
      tf.dispose(xs);
      return out;
    };
    const [a, b] = [last(stab), last(raw)];
    const scale = tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]);
    assert.ok(maxAbsDiff(a, b) < 1e-4 * scale, `stabilised vs rescaled raw: ${maxAbsDiff(a, b)}`);
    assert.equal('directionScale' in raw.config, false, 'absent: raw, earlier configs unchanged');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-scale-'));
    await saveLearnedSolver(stab, dir);
    const back = (await loadLearnedSolver(dir)) as Lgn;
    assert.equal(back.config.directionScale, 'stabilised');
    assert.throws(() => new Lgn({ directionScale: 'unit' as never }), /LGN: directionScale must be 'raw' or 'stabilised', got "unit"/);
    [stab, raw, back].forEach((s) => s.dispose());
    tf.dispose([a, b, clean, y]);
    A.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gnDirectionAblation measures the model with and without its δ weights on the same measurements; its figure has one bar per model', () => {
    const before = tf.memory().numTensors;
    const lgn = new Lgn({ features: 4, steps: 2, cgIterations: 3, seed: 41 });
    const task = superResolutionTask({ scale: 2 });
    const hr = tf.tidy(() => tf.add(0.5, tf.mul(0.3, tf.sin(tf.mul(tf.range(0, 16 * 16), 0.05)))).reshape([1, 16, 16, 1]) as tf.Tensor4D);
    const lr = tf.tidy(() => imresize(hr, 1 / 2, { quantize: true }));
    const pairs = [{ name: 'a', hr, lr }];
    const a = gnDirectionAblation(lgn, task, { pairs });
    const noDelta = lgn.ablated('direction');
    const plain = evaluate(task, [learnedMethod(lgn), learnedMethod(noDelta)], { dataset: 'check', pairs, keepExamples: 0, progress: false });
    assert.ok(Math.abs(a.withDirection - (plain.rows[1].psnr as number)) < 1e-9);
    assert.ok(Math.abs(a.withoutDirection - (plain.rows[2].psnr as number)) < 1e-9);
    assert.notEqual(a.withDirection, a.withoutDirection, 'random δ weights matter');
    const rim = new Rim({ features: 4, steps: 2 });
    assert.throws(() => gnDirectionAblation(rim, task, { pairs }), /a learned Gauss–Newton solver is needed, got a rim/);
    const fig = directionAblationFigure([{ name: 'm (Set5 x3)', ...a }]);
    const bar = fig.data[0] as { type: string; x: string[]; y: number[] };
    assert.equal(bar.type, 'bar');
    assert.deepEqual(bar.x, ['m (Set5 x3)']);
    assert.ok(Math.abs(bar.y[0] - (a.withDirection - a.withoutDirection)) < 5e-4);
    const layout = fig.layout as { xaxis: { title: { text: string } }; yaxis: { title: { text: string } } };
    assert.match(layout.yaxis.title.text, /PSNR with δ − PSNR without δ \(dB\)/);
    assert.ok(layout.xaxis.title.text.length > 0);
    assert.throws(() => directionAblationFigure([]), /no models/);
    [lgn, noDelta, rim].forEach((s) => s.dispose());
    tf.dispose([hr, lr]);
    assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  });

  it('withSolve keeps the weights and changes the solve; npm run evaluate --cg-iterations / --damping / --cosines say so, and refuse a RIM', async () => {
    const lgn = new Lgn({ features: 4, steps: 2, cgIterations: 3, seed: 12 });
    const other = lgn.withSolve({ cgIterations: 7, damping: 'smoothness' });
    assert.equal(other.config.cgIterations, 7);
    assert.equal(other.config.damping, 'smoothness');
    const [a, b] = [lgn.getWeights(), other.getWeights()];
    a.forEach((w, i) => assert.equal(maxAbsDiff(w.tensor, b[i].tensor), 0, w.name));
    tf.dispose([...a, ...b].map((w) => w.tensor));
    assert.throws(() => lgn.withSolve({ features: 8 } as never), /only cgIterations and damping can change, got features/);
    other.dispose();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-lgn-evaluate-'));
    try {
      await saveLearnedSolver(lgn, path.join(tmp, 'models', 'tiny_lgn'));
      const rim = new Rim({ features: 4, steps: 2 });
      await saveLearnedSolver(rim, path.join(tmp, 'models', 'tiny_rim'));
      rim.dispose();
      const pairs = path.join(tmp, 'pairs');
      fs.mkdirSync(pairs);
      const hr = tf.tidy(() => {
        const i = tf.range(0, 24).reshape([24, 1, 1]);
        const j = tf.range(0, 24).reshape([1, 24, 1]);
        return tf.round(tf.mul(tf.add(0.5, tf.mul(0.3, tf.sin(tf.add(tf.mul(i, 0.31), tf.mul(tf.mul(i, j), 0.017))))), 255)).div(255).tile([1, 1, 3]).reshape([1, 24, 24, 3]) as tf.Tensor4D;
      });
      const lr = imresize(hr, 1 / 3, { quantize: true });
      await writeImage(hr, path.join(pairs, 'a_HR.png'));
      await writeImage(lr, path.join(pairs, 'a_LR.png'));
      tf.dispose([hr, lr]);
      const models = path.join(tmp, 'models');
      const last = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
      const plain = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_lgn', '--json'], models);
      assert.equal(plain.status, 0, plain.stderr);
      const changed = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_lgn', '--cg-iterations', '7', '--damping', 'smoothness', '--cosines', '--json'], models);
      assert.equal(changed.status, 0, changed.stderr);
      assert.match(changed.stdout, /tiny_lgn, CG=7, damping smoothness \d+\.\d\d dB/);
      assert.match(changed.stdout, /cos\(δ_t, −∇L\) per step t = 1\.\.2 \(mean over 1 image\(s\)\): -?\d\.\d{3}, -?\d\.\d{3}/);
      const [p, c] = [last(plain), last(changed)];
      assert.equal(c.cg_iterations, 7);
      assert.equal(c.damping, 'smoothness');
      const cos = c.direction_cosines as number[];
      assert.equal(cos.length, 2);
      cos.forEach((v) => assert.ok(v > 0 && v <= 1 + 1e-6, `cosine ${v}`));
      assert.equal(p.cg_iterations, undefined);
      assert.notEqual(c.psnr, p.psnr, 'another solve, another output');
      const ablated = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_lgn', '--ablate', 'direction', '--json'], models);
      assert.equal(ablated.status, 0, ablated.stderr);
      assert.match(ablated.stdout, /tiny_lgn, no direction input \d+\.\d\d dB/);
      const ablatedOtherSolve = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_lgn', '--ablate', 'direction', '--damping', 'smoothness', '--json'], models);
      assert.equal(last(ablated).ablated, 'direction');
      assert.equal(last(ablatedOtherSolve).psnr, last(ablated).psnr, 'without δ weights the damping does not matter');
      const bad = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_rim', '--cg-iterations', '4'], models);
      assert.equal(bad.status, 2, 'a usage error');
      assert.match(bad.stderr, /--cg-iterations: for a learned Gauss–Newton model \(kind lgn\); tiny_rim is a rim/);
      const badDamping = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_lgn', '--damping', 'tv'], models);
      assert.equal(badDamping.status, 2, 'a usage error');
      assert.match(badDamping.stderr, /--damping must be identity or smoothness, got "tv"/);
      const badAblate = evaluateCli(['--task', 'sr', '--scale', '3', '--pairs', pairs, '--model', 'tiny_rim', '--ablate', 'direction'], models);
      assert.equal(badAblate.status, 2, 'a usage error');
      assert.match(badAblate.stderr, /--ablate: for a learned Gauss–Newton model \(kind lgn\); tiny_rim is a rim/);
    } finally {
      lgn.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
