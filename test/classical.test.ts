import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import { gaussianLikelihood, poissonGaussianLikelihood } from '../lib/likelihoods';
import { gaussianBlur } from '../lib/operators/blur';
import { identity } from '../lib/operators/identity';
import { nonlinear } from '../lib/operators/nonlinear';
import { linearOperator } from '../lib/operators/linear';
import { LinearOperator, Operator } from '../lib/operators/types';
import { tikhonovGradient, totalVariation } from '../lib/priors';
import {
  conjugateGradient,
  createProblem,
  gaussNewton,
  gradientDescent,
  IterationRecord,
  jacobianVectorProduct,
  lbfgs,
  Problem,
} from '../lib/solvers/classical';
import { rand } from './helpers/numeric';

// ---------------------------------------------------------------------------------------------
// Float64 helpers and tiny local operators.


/** Row-major dense matrix helpers in float64. */
const matVec = (M: Float64Array, m: number, n: number, v: ArrayLike<number>): Float64Array =>
  Float64Array.from({ length: m }, (_, i) => {
    let s = 0;
    for (let j = 0; j < n; j++) s += M[i * n + j] * v[j];
    return s;
  });
const matTVec = (M: Float64Array, m: number, n: number, v: ArrayLike<number>): Float64Array =>
  Float64Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += M[i * n + j] * v[i];
    return s;
  });

/** Solves `K x = r` (n×n, float64) by Gaussian elimination with partial pivoting. */
function solve(K: Float64Array, r: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(K);
  const b = Float64Array.from(r);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(a[i * n + c]) > Math.abs(a[p * n + c])) p = i;
    for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
    [b[c], b[p]] = [b[p], b[c]];
    for (let i = c + 1; i < n; i++) {
      const f = a[i * n + c] / a[c * n + c];
      for (let j = c; j < n; j++) a[i * n + j] -= f * a[c * n + j];
      b[i] -= f * b[c];
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let j = i + 1; j < n; j++) s -= a[i * n + j] * x[j];
    x[i] = s / a[i * n + i];
  }
  return x;
}

/** `DᵀD` (n×n) of the forward differences with Neumann boundary on one h×w×c image (NHWC order). */
function gradientGram(h: number, w: number, c: number): Float64Array {
  const n = h * w * c;
  const G = new Float64Array(n * n);
  const at = (i: number, j: number, k: number) => (i * w + j) * c + k;
  const addRow = (p: number, q: number) => {
    // row e_q − e_p of D: adds (e_q − e_p)(e_q − e_p)ᵀ
    G[p * n + p] += 1;
    G[q * n + q] += 1;
    G[p * n + q] -= 1;
    G[q * n + p] -= 1;
  };
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let k = 0; k < c; k++) {
        if (i < h - 1) addRow(at(i, j, k), at(i + 1, j, k));
        if (j < w - 1) addRow(at(i, j, k), at(i, j + 1, k));
      }
  return G;
}

function denseOperator(M: Float64Array, inShape: number[], outShape: number[]): LinearOperator {
  const n = inShape[0] * inShape[1] * inShape[2];
  const m = outShape[0] * outShape[1] * outShape[2];
  const mt = tf.tensor2d(Float32Array.from(M), [m, n]);
  return linearOperator({
    name: `dense ${m}x${n}`,
    outputShape: (s) => {
      if (s[1] * s[2] * s[3] !== n) throw new Error(`dense: input shape [${s.join(', ')}] has not ${n} values per image`);
      return [s[0], ...outShape];
    },
    inputShape: (s) => [s[0], ...inShape],
    apply: (x) => tf.reshape(tf.matMul(tf.reshape(x, [x.shape[0], n]), mt, false, true), [x.shape[0], ...outShape] as [number, number, number, number]),
    applyAdjoint: (y) => tf.reshape(tf.matMul(tf.reshape(y, [y.shape[0], m]), mt), [y.shape[0], ...inShape] as [number, number, number, number]),
    dispose: () => mt.dispose(),
  });
}

/** `A(x) = tanh(M x)` with vjp by autodiff (no jvp of its own: Gauss–Newton uses the double-vjp trick). */
function tanhOperator(M: Float64Array, inShape: number[], outShape: number[]): Operator {
  const lin = denseOperator(M, inShape, outShape);
  const forward = (x: tf.Tensor4D) => tf.tidy(() => tf.tanh(lin.forward(x)) as tf.Tensor4D);
  return {
    name: 'tanh∘dense',
    forward,
    vjp: (x, v) => tf.tidy(() => tf.grad((t: tf.Tensor) => forward(t as tf.Tensor4D))(x, v) as tf.Tensor4D),
    outputShape: (s) => lin.outputShape(s),
    dispose: () => lin.dispose(),
  };
}

function randomMatrix(m: number, n: number, seed: number, diag: number): Float64Array {
  const r = rand(seed);
  return Float64Array.from({ length: m * n }, (_, k) => (r() - 0.5) * (2 / Math.sqrt(n)) + (Math.floor(k / n) === k % n ? diag : 0));
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
};

function assertMonotone(history: IterationRecord[], slack = 0): void {
  for (let k = 1; k < history.length; k++) {
    const [prev, cur] = [history[k - 1].objective, history[k].objective];
    assert.ok(cur <= prev + slack * Math.abs(prev), `objective rose at iteration ${k}: ${prev} -> ${cur}`);
  }
}

// ---------------------------------------------------------------------------------------------

const IN: [number, number, number] = [3, 4, 1]; // n = 12 per image
const OUT: [number, number, number] = [2, 5, 1]; // m = 10 < n: needs the prior
const [N, MOUT, B] = [12, 10, 2];
const SIGMAS = [0.5, 0.8];
const LAMBDA = 0.3;

describe('classical solvers', function () {
  this.timeout(60000);
  let M: Float64Array;
  let A: LinearOperator;
  let y: tf.Tensor4D;
  let x0: tf.Tensor4D;
  let xStar: Float64Array; // the closed-form minimiser, float64
  let problem: Problem;
  let baseline: number;

  before(async () => {
    await initEngine({ quiet: true });
    M = randomMatrix(MOUT, N, 5, 1);
    A = denseOperator(M, IN, OUT);
    const r = rand(6);
    const y64 = Float64Array.from({ length: B * MOUT }, () => r());
    y = tf.tensor4d(Float32Array.from(y64), [B, ...OUT]);
    x0 = tf.zeros([B, ...IN]) as tf.Tensor4D;
    // (AᵀA/σ² + λ DᵀD) x* = Aᵀy/σ², per image.
    const G = gradientGram(...IN);
    xStar = new Float64Array(B * N);
    for (let b = 0; b < B; b++) {
      const s2 = SIGMAS[b] ** 2;
      const K = new Float64Array(N * N);
      for (let j = 0; j < N; j++) {
        const e = new Float64Array(N);
        e[j] = 1;
        const col = matTVec(M, MOUT, N, matVec(M, MOUT, N, e));
        for (let i = 0; i < N; i++) K[i * N + j] = col[i] / s2 + LAMBDA * G[i * N + j];
      }
      const rhs = matTVec(M, MOUT, N, y64.subarray(b * MOUT, (b + 1) * MOUT)).map((v) => v / s2);
      xStar.set(solve(K, rhs, N), b * N);
    }
    problem = createProblem({ likelihood: gaussianLikelihood(A, { sigma: SIGMAS }), y, prior: tikhonovGradient({ lambda: LAMBDA }) });
  });
  after(() => {
    tf.dispose([y, x0]);
    A.dispose();
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    assert.equal(tf.memory().numTensors, baseline, 'tensor leak');
  });

  describe('problem', () => {
    it('objective is L + φ and gradient is ∇L + ∇φ', () => {
      const x = tf.fill([B, ...IN], 0.3) as tf.Tensor4D;
      const lik = problem.likelihood.value(x, y);
      const phi = problem.prior!.value(x);
      const f = problem.objective(x);
      assert.ok(Math.abs(f - (lik.dataSync()[0] + phi.dataSync()[0])) < 1e-5 * f);
      const g = problem.gradient(x);
      const auto = tf.tidy(() => tf.grad((t: tf.Tensor) => problem.objectiveTensor(t as tf.Tensor4D))(x));
      assert.ok(relErr(g.dataSync(), auto.dataSync()) < 1e-5);
      assert.equal(problem.operator, A);
      tf.dispose([x, lik, phi, g, auto]);
    });

    it('names the shapes when x0 or truth do not fit', () => {
      const bad = tf.zeros([B, 4, 4, 1]) as tf.Tensor4D;
      assert.throws(() => gradientDescent(problem, bad, { maxIter: 1 }), /dense: input shape \[2, 4, 4, 1\] has not 12 values per image \(gradientDescent: x0 has shape \[2, 4, 4, 1\]\)/);
      const wrongBatch = tf.zeros([1, ...IN]) as tf.Tensor4D;
      assert.throws(() => lbfgs(problem, wrongBatch, { maxIter: 1 }), /y has shape \[2, 2, 5, 1\] but A = dense 10x12 maps x \[1, 3, 4, 1\] to \[1, 2, 5, 1\]/);
      assert.throws(() => gaussNewton(problem, x0, { maxIter: 1, truth: bad }), /gaussNewton: truth has shape \[2, 4, 4, 1\] but x0 has shape \[2, 3, 4, 1\]/);
      assert.throws(() => lbfgs(problem, x0, { project: true }), /lbfgs: projection is not supported/);
      tf.dispose([bad, wrongBatch]);
    });
  });

  describe('conjugate gradient', () => {
    it('solves a per-image SPD system', () => {
      const scale = tf.tensor4d([2, 5], [2, 1, 1, 1]);
      const rhs = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
      // H = diag(scale_n) + λ∇ᵀ∇, SPD per image
      const prior = tikhonovGradient({ lambda: 1 });
      const apply = (v: tf.Tensor4D) => tf.add(tf.mul(scale, v), prior.hessianApprox(v, v)) as tf.Tensor4D;
      const { solution, iterations, relativeResidual } = conjugateGradient(apply, rhs, { maxIter: 10, tol: 1e-6 });
      const back = tf.tidy(() => apply(solution));
      assert.ok(relErr(back.dataSync(), rhs.dataSync()) < 1e-5);
      assert.ok(iterations <= 4, `${iterations} iterations for 4 unknowns per image`);
      assert.ok(relativeResidual <= 1e-6);
      tf.dispose([scale, rhs, solution, back]);
    });
  });

  describe('gradient descent (Armijo)', () => {
    it('reaches the closed-form minimiser of a quadratic problem', () => {
      const { x, history, converged, reason } = gradientDescent(problem, x0, { maxIter: 1000 });
      const err = relErr(x.dataSync(), xStar);
      assert.ok(converged, reason);
      assert.ok(err < 3e-5, `relative error ${err} after ${history.length - 1} iterations`);
      assertMonotone(history, 1e-6);
      x.dispose();
    });

    it('decreases the objective monotonically with the strict Armijo test', () => {
      const tvProblem = createProblem({ likelihood: gaussianLikelihood(A, { sigma: 0.5 }), y, prior: totalVariation({ lambda: 0.2, epsilon: 0.05 }) });
      const { x, history } = gradientDescent(tvProblem, x0, { maxIter: 60, noiseTol: 0, tol: 0 });
      assertMonotone(history, 0);
      assert.ok(history[history.length - 1].objective < 0.5 * history[0].objective);
      x.dispose();
    });

    it('projects onto the box: separable problem with the clipped minimiser', () => {
      const d = [0.5, 1, 2, 1.5, 0.8, 1.2, 0.7, 1.1, 0.9, 1.3, 0.6, 1];
      const D = Float64Array.from({ length: N * N }, (_, k) => (Math.floor(k / N) === k % N ? d[k % N] : 0));
      const diagOp = denseOperator(D, IN, IN);
      const target = [-0.4, 0.2, 1.6, 0.5, 0.9, -0.1, 1.2, 0.3, 0.7, 2, 0.05, 0.5];
      const yd = tf.tensor4d(target.map((t, i) => t * d[i]), [1, ...IN]);
      const boxed = createProblem({ likelihood: gaussianLikelihood(diagOp, { sigma: 1 }), y: yd, box: [0, 1] });
      const start = tf.fill([1, ...IN], 0.5) as tf.Tensor4D;
      const expected = target.map((t) => Math.min(1, Math.max(0, t)));
      const gd = gradientDescent(boxed, start, { maxIter: 500, gradTol: 1e-6 });
      assert.ok(gd.converged, gd.reason);
      assert.ok(relErr(gd.x.dataSync(), expected) < 1e-5);
      assert.ok(gd.x.dataSync().every((v) => v >= 0 && v <= 1));
      const gn = gaussNewton(boxed, start, { maxIter: 5, damping: 0 });
      assert.ok(relErr(gn.x.dataSync(), expected) < 1e-5);
      tf.dispose([yd, start, gd.x, gn.x]);
      diagOp.dispose();
    });

    it('reports iteration, objective, step, time, PSNR and SSIM through the callback and the history', () => {
      const truth = tf.tidy(() => tf.mul(tf.add(tf.sin(tf.range(0, 144).reshape([1, 12, 12, 1])), 1), 0.5)) as tf.Tensor4D;
      const lik = gaussianLikelihood(identity(), { sigma: 0.1 });
      const noisy = lik.sample(truth, 1);
      const denoise = createProblem({ likelihood: lik, y: noisy, prior: totalVariation({ lambda: 0.05 }), box: [0, 1] });
      const seen: IterationRecord[] = [];
      const { x, history, converged, reason } = gradientDescent(denoise, noisy, { maxIter: 30, truth }, (rec, xk) => {
        assert.deepEqual(xk.shape, [1, 12, 12, 1]);
        seen.push(rec);
        return rec.iteration < 5; // stop after iteration 5
      });
      assert.equal(history.length, 6);
      assert.deepEqual(seen, history);
      assert.equal(converged, false);
      assert.match(reason, /callback/);
      assert.equal(history[0].iteration, 0);
      assert.equal(history[0].step, 0);
      for (const rec of history) {
        assert.ok(Number.isFinite(rec.psnr) && Number.isFinite(rec.ssim), JSON.stringify(rec));
        assert.ok(rec.elapsedMs >= 0 && rec.evaluations >= 1);
      }
      for (let k = 1; k < history.length; k++) {
        assert.ok(history[k].elapsedMs >= history[k - 1].elapsedMs);
        assert.ok(history[k].step > 0 && history[k].stepNorm > 0);
      }
      assert.ok(history[5].psnr! > history[0].psnr!, 'denoising improves PSNR');
      tf.dispose([truth, noisy, x]);
    });
  });

  describe('L-BFGS', () => {
    it('reaches the closed-form minimiser of a quadratic problem', () => {
      const { x, history, converged, reason } = lbfgs(problem, x0, { memory: 10, maxIter: 200 });
      const err = relErr(x.dataSync(), xStar);
      assert.ok(converged, reason);
      assert.ok(err < 1e-5, `relative error ${err} after ${history.length - 1} iterations`);
      assert.ok(history.length - 1 <= 60, `${history.length - 1} iterations`);
      assertMonotone(history, 1e-6);
      x.dispose();
    });

    it('works with a memory of 1 and stops on gradTol', () => {
      const { x, converged, reason } = lbfgs(problem, x0, { memory: 1, maxIter: 500, gradTol: 1e-4, tol: 0 });
      assert.ok(converged, reason);
      assert.ok(relErr(x.dataSync(), xStar) < 1e-4);
      x.dispose();
    });
  });

  describe('relative-decrease stop (fTol)', () => {
    it('stops L-BFGS once an iteration gains less than fTol of the objective, at about the same objective, with fewer evaluations', () => {
      const truth = tf.tidy(() => tf.add(tf.mul(tf.range(0, 256).reshape([1, 16, 16, 1]), 0.5 / 256), 0.2) as tf.Tensor4D);
      const A = gaussianBlur(5, 1.2);
      const lik = gaussianLikelihood(A, { sigma: 0.01 });
      const yb = lik.sample(truth, 5);
      const p = createProblem({ likelihood: lik, y: yb, prior: totalVariation({ lambda: 2, epsilon: 0.01 }) });
      const long = lbfgs(p, yb, { maxIter: 300, tol: 0 });
      const short = lbfgs(p, yb, { maxIter: 300, tol: 0, fTol: 1e-6 });
      const fLong = long.history[long.history.length - 1];
      const fShort = short.history[short.history.length - 1];
      assert.ok(short.converged && /relative decrease \S+ <= fTol 0\.000001/.test(short.reason), short.reason);
      const prev = short.history[short.history.length - 2].objective;
      assert.ok((prev - fShort.objective) / Math.max(Math.abs(prev), 1) <= 1e-6, 'the last iteration gained at most fTol');
      assert.ok(short.history.slice(1, -1).every((h, i) => (short.history[i].objective - h.objective) / Math.max(Math.abs(short.history[i].objective), 1) > 1e-6), 'no earlier iteration was below fTol');
      assert.ok(fShort.evaluations < fLong.evaluations, `evaluations ${fShort.evaluations} vs ${fLong.evaluations} without fTol`);
      assert.ok(Math.abs(fShort.objective - fLong.objective) / fLong.objective < 1e-4, `objective ${fShort.objective} vs ${fLong.objective}`);
      const off = lbfgs(p, yb, { maxIter: 300, tol: 0, fTol: 0 });
      assert.equal(off.history.length, long.history.length, 'fTol 0 disables the rule');
      off.x.dispose();
      assert.throws(() => lbfgs(p, yb, { fTol: -1 }), /lbfgs: fTol must be a finite number >= 0, got -1/);
      assert.throws(() => gradientDescent(p, yb, { tol: Number.NaN }), /gradientDescent: tol must be a finite number >= 0, got NaN/);
      tf.dispose([long.x, short.x, truth, yb]);
      A.dispose();
    });
  });

  describe('Gauss–Newton', () => {
    it('reaches the closed-form minimiser of a quadratic problem in a few steps', () => {
      const { x, history } = gaussNewton(problem, x0, { maxIter: 8, cgIter: 30, damping: 1 });
      const err = relErr(x.dataSync(), xStar);
      assert.ok(err < 1e-5, `relative error ${err}`);
      assert.ok(history.slice(1).every((r) => r.damping !== undefined && r.innerIterations! > 0));
      assert.ok(history[2].damping! < history[1].damping!, 'damping decays');
      assertMonotone(history, 1e-6);
      x.dispose();
    });

    it('gets J v of a non-linear operator by the double-vjp trick', () => {
      const op = tanhOperator(M, IN, OUT);
      const r = rand(8);
      const x = tf.tensor4d(Float32Array.from({ length: B * N }, () => r() - 0.5), [B, ...IN]);
      const v = tf.tensor4d(Float32Array.from({ length: B * N }, () => r() - 0.5), [B, ...IN]);
      const jv = jacobianVectorProduct(op, x, v);
      // float64 reference: J v = diag(1 − tanh²(M x)) M v
      const xs = x.dataSync();
      const vs = v.dataSync();
      const expected: number[] = [];
      for (let b = 0; b < B; b++) {
        const z = matVec(M, MOUT, N, xs.subarray(b * N, (b + 1) * N));
        const mv = matVec(M, MOUT, N, vs.subarray(b * N, (b + 1) * N));
        for (let i = 0; i < MOUT; i++) expected.push((1 - Math.tanh(z[i]) ** 2) * mv[i]);
      }
      assert.deepEqual(jv.shape, [B, ...OUT]);
      assert.ok(relErr(jv.dataSync(), expected) < 1e-5);
      tf.dispose([x, v, jv]);
      op.dispose();
    });

    it('gets J v through a convolutional network operator (double vjp through conv2d)', () => {
      const kernel = tf.tensor4d(Float32Array.from({ length: 9 * 2 * 3 }, (_, i) => Math.sin(i + 1) * 0.3), [3, 3, 2, 3]);
      const net = nonlinear((t) => tf.tanh(tf.conv2d(t, kernel, 1, 'same')) as tf.Tensor4D, { name: 'conv-tanh' });
      const x = tf.randomUniform([2, 6, 5, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
      const v = tf.randomUniform([2, 6, 5, 2], -1, 1, 'float32', 5) as tf.Tensor4D;
      const jv = jacobianVectorProduct(net, x, v);
      const h = 1e-2; // central differences, O(h²) accurate
      const fd = tf.tidy(() => tf.div(tf.sub(net.forward(tf.add(x, tf.mul(v, h)) as tf.Tensor4D), net.forward(tf.sub(x, tf.mul(v, h)) as tf.Tensor4D)), 2 * h));
      assert.deepEqual(jv.shape, [2, 6, 5, 3]);
      assert.ok(relErr(jv.dataSync(), fd.dataSync()) < 1e-3, `${relErr(jv.dataSync(), fd.dataSync())}`);
      tf.dispose([kernel, x, v, jv, fd]);
      net.dispose();
    });

    it('solves a non-linear problem (tanh operator) to the same point as L-BFGS', () => {
      const op = tanhOperator(M, IN, OUT);
      const yn = tf.tidy(() => tf.mul(y, 0.6) as tf.Tensor4D); // inside tanh's range
      const p = createProblem({ likelihood: gaussianLikelihood(op, { sigma: 0.5 }), y: yn, prior: tikhonovGradient({ lambda: LAMBDA }) });
      const gn = gaussNewton(p, x0, { maxIter: 15, cgIter: 30 });
      const qn = lbfgs(p, x0, { maxIter: 300 });
      const last = gn.history[gn.history.length - 1];
      assert.ok(last.gradNorm < 1e-3 * gn.history[0].gradNorm, `gradient ${last.gradNorm} vs ${gn.history[0].gradNorm}`);
      assert.ok(relErr(gn.x.dataSync(), qn.x.dataSync()) < 1e-4, `GN vs L-BFGS ${relErr(gn.x.dataSync(), qn.x.dataSync())}`);
      assertMonotone(gn.history, 1e-6);
      tf.dispose([yn, gn.x, qn.x]);
      op.dispose();
    });

    it('uses the Fisher weight of a Poisson–Gaussian likelihood and agrees with L-BFGS', () => {
      // Bright data (z = A x stays well above the variance floor, where the NLL is smooth).
      const bright = tf.tidy(() => tf.add(y, 1) as tf.Tensor4D);
      const p = createProblem({ likelihood: poissonGaussianLikelihood(A, { a: 0.2, b: 0.05 }), y: bright, prior: tikhonovGradient({ lambda: LAMBDA }) });
      const start = tf.fill([B, ...IN], 0.5) as tf.Tensor4D;
      const gn = gaussNewton(p, start, { maxIter: 40, cgIter: 30 });
      const qn = lbfgs(p, start, { maxIter: 300 });
      assert.ok(gn.converged && qn.converged, `${gn.reason}; ${qn.reason}`);
      assert.ok(relErr(gn.x.dataSync(), qn.x.dataSync()) < 1e-4, `GN vs L-BFGS ${relErr(gn.x.dataSync(), qn.x.dataSync())}`);
      assertMonotone(gn.history, 1e-6);
      tf.dispose([bright, start, gn.x, qn.x]);
    });
  });

  describe('with the library operators', () => {
    it('deblurs a small image (Gaussian blur, TV prior): every solver raises the PSNR', () => {
      // 16×16 gray square on a ramp background
      const truth = tf.tidy(() => {
        const ramp = tf.mul(tf.range(0, 256).reshape([1, 16, 16, 1]), 0.5 / 256);
        const square = tf.pad(tf.fill([1, 6, 6, 1], 0.45), [[0, 0], [5, 5], [5, 5], [0, 0]]);
        return tf.add(tf.add(ramp, square), 0.1) as tf.Tensor4D;
      });
      const A = gaussianBlur(5, 1.2);
      const lik = gaussianLikelihood(A, { sigma: 0.01 });
      const yb = lik.sample(truth, 3);
      const p = createProblem({ likelihood: lik, y: yb, prior: totalVariation({ lambda: 2, epsilon: 0.01 }), box: [0, 1] });
      const runs = [
        gradientDescent(p, yb, { maxIter: 40, truth }),
        lbfgs(p, yb, { maxIter: 40, truth }),
        gaussNewton(p, yb, { maxIter: 6, cgIter: 15, damping: 1e3, truth }),
      ];
      for (const { x, history } of runs) {
        const [first, last] = [history[0], history[history.length - 1]];
        assert.ok(last.psnr! > first.psnr! + 1, `PSNR ${first.psnr} -> ${last.psnr}`);
        assert.ok(last.ssim! > first.ssim!, `SSIM ${first.ssim} -> ${last.ssim}`);
        assert.ok(last.objective < first.objective);
        x.dispose();
      }
      tf.dispose([truth, yb]);
      A.dispose();
    });
  });
});
