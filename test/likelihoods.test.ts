import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import { gaussianLikelihood, Likelihood, poissonGaussianLikelihood } from '../lib/likelihoods';
import { identity } from '../lib/operators/identity';
import { linearOperator } from '../lib/operators/linear';
import { LinearOperator, Operator } from '../lib/operators/types';
import { rand, centralDifferences, relativeError } from './helpers/numeric';

// ---------------------------------------------------------------------------------------------
// Tiny local operators with float64 twins (the reference maths for finite differences).


/** `out = M v` for a row-major m×n matrix. */
function matVec(M: Float64Array, m: number, n: number, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += M[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

/** A dense linear operator `[b, h, w, c] → [b, ...outShape]`: each image (flattened) times M. */
function denseOperator(M: Float64Array, inShape: number[], outShape: number[]): LinearOperator {
  const n = inShape[0] * inShape[1] * inShape[2];
  const m = outShape[0] * outShape[1] * outShape[2];
  const mt = tf.tensor2d(Float32Array.from(M), [m, n]);
  const op = linearOperator({
    name: `dense ${m}x${n}`,
    outputShape: (s) => {
      if (s[1] * s[2] * s[3] !== n) throw new Error(`dense: input ${JSON.stringify(s)} has not ${n} values per image`);
      return [s[0], ...outShape];
    },
    inputShape: (s) => [s[0], ...inShape],
    apply: (x) => tf.reshape(tf.matMul(tf.reshape(x, [x.shape[0], n]), mt, false, true), [x.shape[0], ...outShape] as [number, number, number, number]),
    applyAdjoint: (y) => tf.reshape(tf.matMul(tf.reshape(y, [y.shape[0], m]), mt), [y.shape[0], ...inShape] as [number, number, number, number]),
    dispose: () => mt.dispose(),
  });
  return op;
}

/** A non-linear operator `A(x) = tanh(M x)` with `vjp` by autodiff, and its float64 twin. */
function tanhOperator(M: Float64Array, inShape: number[], outShape: number[]): Operator & { f64: (x: ArrayLike<number>) => Float64Array } {
  const lin = denseOperator(M, inShape, outShape);
  const n = inShape[0] * inShape[1] * inShape[2];
  const m = outShape[0] * outShape[1] * outShape[2];
  const forward = (x: tf.Tensor4D) => tf.tidy(() => tf.tanh(lin.forward(x)) as tf.Tensor4D);
  return {
    name: 'tanh∘dense',
    forward,
    vjp: (x, v) => tf.tidy(() => tf.grad((t: tf.Tensor) => forward(t as tf.Tensor4D))(x, v) as tf.Tensor4D),
    outputShape: (s) => lin.outputShape(s),
    dispose: () => lin.dispose(),
    f64: (x) => {
      const b = x.length / n;
      const out = new Float64Array(b * m);
      for (let i = 0; i < b; i++) {
        const z = matVec(M, m, n, Array.from(x).slice(i * n, (i + 1) * n));
        for (let k = 0; k < m; k++) out[i * m + k] = Math.tanh(z[k]);
      }
      return out;
    },
  };
}

function randomMatrix(m: number, n: number, seed: number, diag = 1): Float64Array {
  const r = rand(seed);
  const M = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) M[i * n + j] = (r() - 0.5) * (2 / Math.sqrt(n)) + (i === j ? diag : 0);
  return M;
}

function randomArray(len: number, seed: number, lo = 0, hi = 1): Float64Array {
  const r = rand(seed);
  return Float64Array.from({ length: len }, () => lo + (hi - lo) * r());
}



function read(t: tf.Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

// ---------------------------------------------------------------------------------------------

const IN = [3, 3, 2]; // h, w, c per image: n = 18
const OUT = [2, 2, 3]; // m = 12 (an under-determined A, as in super-resolution)
const N = 18;
const MOUT = 12;
const B = 2;

/** Float64 Gaussian NLL with per-image σ. */
function gaussianNll64(z: Float64Array, y: Float64Array, sigmas: number[]): number {
  let s = 0;
  for (let i = 0; i < z.length; i++) {
    const sig = sigmas[Math.floor(i / MOUT)] ?? sigmas[0];
    s += (z[i] - y[i]) ** 2 / (2 * sig * sig);
  }
  return s;
}

/** Float64 Poisson–Gaussian NLL. */
function poissonGaussianNll64(z: Float64Array, y: Float64Array, a: number, b: number, bMin: number): number {
  let s = 0;
  for (let i = 0; i < z.length; i++) {
    const v = Math.max(a * z[i] + b, bMin);
    s += (z[i] - y[i]) ** 2 / (2 * v) + 0.5 * Math.log(v);
  }
  return s;
}

describe('likelihoods', () => {
  let M: Float64Array;
  let dense: LinearOperator;
  let nonlinear: ReturnType<typeof tanhOperator>;
  let x: tf.Tensor4D;
  let y: tf.Tensor4D;
  let x64: Float64Array;
  let y64: Float64Array;
  let baseline: number;

  before(async () => {
    await initEngine({ quiet: true });
    M = randomMatrix(MOUT, N, 11, 0.8);
    dense = denseOperator(M, IN, OUT);
    nonlinear = tanhOperator(M, IN, OUT);
    x64 = randomArray(B * N, 1, 0.1, 0.9);
    y64 = randomArray(B * MOUT, 2, 0.2, 0.8);
    x = tf.tensor4d(Float32Array.from(x64), [B, ...IN] as [number, number, number, number]);
    y = tf.tensor4d(Float32Array.from(y64), [B, ...OUT] as [number, number, number, number]);
  });
  after(() => {
    tf.dispose([x, y]);
    dense.dispose();
    nonlinear.dispose();
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    assert.equal(tf.memory().numTensors, baseline, 'tensor leak');
  });

  const dense64 = (v: ArrayLike<number>): Float64Array => {
    const out = new Float64Array(B * MOUT);
    for (let i = 0; i < B; i++) out.set(matVec(M, MOUT, N, Array.from(v).slice(i * N, (i + 1) * N)), i * MOUT);
    return out;
  };

  /** Checks value and grad of `lik` against float64 references, finite differences and autodiff. */
  function checkGradient(lik: Likelihood, nll64: (v: Float64Array) => number): void {
    const value = lik.value(x, y);
    const perImage = lik.valuePerImage(x, y);
    const g = lik.grad(x, y);
    const auto = tf.tidy(() => tf.grad((t: tf.Tensor) => lik.value(t as tf.Tensor4D, y))(x));
    const v = value.dataSync()[0];
    assert.ok(Math.abs(v - nll64(x64)) <= 1e-5 * Math.abs(nll64(x64)), `value ${v} vs float64 ${nll64(x64)}`);
    const pi = perImage.dataSync();
    assert.equal(pi.length, B);
    assert.ok(Math.abs(pi[0] + pi[1] - v) <= 1e-5 * Math.abs(v));
    const fd = centralDifferences(nll64, x64);
    assert.ok(relativeError(read(g), fd) < 1e-3, `grad vs finite differences: ${relativeError(read(g), fd)}`);
    assert.ok(relativeError(read(g), read(auto)) < 1e-4, `grad vs autodiff: ${relativeError(read(g), read(auto))}`);
    tf.dispose([value, perImage, g, auto]);
  }

  describe('gaussian', () => {
    it('value is ‖A x − y‖²/(2σ²) summed per image; grad matches finite differences and autodiff (linear A)', () => {
      checkGradient(gaussianLikelihood(dense, { sigma: 0.3 }), (v) => gaussianNll64(dense64(v), y64, [0.3]));
    });

    it('supports one σ per image', () => {
      checkGradient(gaussianLikelihood(dense, { sigma: [0.3, 0.7] }), (v) => gaussianNll64(dense64(v), y64, [0.3, 0.7]));
    });

    it('uses the vjp for a non-linear A (grad matches finite differences and autodiff)', () => {
      checkGradient(gaussianLikelihood(nonlinear, { sigma: 0.5 }), (v) => gaussianNll64(nonlinear.f64(v), y64, [0.5]));
    });

    it('gives Gauss–Newton weight 1/σ², per image when σ is', () => {
      const w1 = gaussianLikelihood(dense, { sigma: 0.5 }).gaussNewtonWeight(x);
      const w2 = gaussianLikelihood(dense, { sigma: [0.5, 0.25] }).gaussNewtonWeight(x);
      assert.deepEqual(Array.from(w1.dataSync()), [4]);
      assert.deepEqual(w2.shape, [2, 1, 1, 1]);
      assert.deepEqual(Array.from(w2.dataSync()), [4, 16]);
      tf.dispose([w1, w2]);
    });

    it('samples y = A(x) + σ n reproducibly from a seed, with the right noise level', () => {
      const big = tf.fill([2, 64, 64, 1], 0.5) as tf.Tensor4D;
      const lik = gaussianLikelihood(identity(), { sigma: [0.1, 0.2] });
      const a = lik.sample(big, 7);
      const b = lik.sample(big, 7);
      const c = lik.sample(big, 8);
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
      assert.notDeepEqual(Array.from(a.dataSync()), Array.from(c.dataSync()));
      const d = a.dataSync();
      for (const [n, sigma] of [[0, 0.1], [1, 0.2]]) {
        let s = 0;
        for (let i = n * 4096; i < (n + 1) * 4096; i++) s += (d[i] - 0.5) ** 2;
        const std = Math.sqrt(s / 4096);
        assert.ok(Math.abs(std - sigma) < 0.05 * sigma, `image ${n}: std ${std} vs σ ${sigma}`);
      }
      const rngLike = { next: rand(3) };
      const e = lik.sample(big, rngLike);
      assert.deepEqual(e.shape, [2, 64, 64, 1]);
      tf.dispose([big, a, b, c, e]);
    });

    it('names the shapes when y does not match A(x)', () => {
      const lik = gaussianLikelihood(dense, { sigma: 0.1 });
      const bad = tf.zeros([2, 3, 3, 2]) as tf.Tensor4D;
      assert.throws(() => lik.value(x, bad), /y has shape \[2, 3, 3, 2\] but A = dense 12x18 maps x \[2, 3, 3, 2\] to \[2, 2, 2, 3\]/);
      assert.throws(() => lik.grad(x, bad), /y has shape \[2, 3, 3, 2\]/);
      bad.dispose();
    });

    it('rejects a per-image σ whose length differs from the batch, and σ ≤ 0', () => {
      const lik = gaussianLikelihood(dense, { sigma: [0.1, 0.2, 0.3] });
      assert.throws(() => lik.value(x, y), /sigma has 3 per-image values but the batch has 2 images/);
      assert.throws(() => gaussianLikelihood(dense, { sigma: 0 }), /sigma must be finite and > 0/);
    });
  });

  describe('poisson-gaussian', () => {
    const a = 0.05;
    const b = 0.01;

    it('value is Σ (z − y)²/(2v) + ½ log v; grad matches finite differences and autodiff (linear A)', () => {
      checkGradient(poissonGaussianLikelihood(dense, { a, b }), (v) => poissonGaussianNll64(dense64(v), y64, a, b, b));
    });

    it('grad matches finite differences and autodiff through a non-linear A', () => {
      checkGradient(poissonGaussianLikelihood(nonlinear, { a, b }), (v) => poissonGaussianNll64(nonlinear.f64(v), y64, a, b, b));
    });

    it('clamps the variance at bMin (the clamped entries get the Gaussian gradient)', () => {
      // a·z + b < bMin for the negative z below, so v = bMin there and dv/dz = 0.
      const xs = tf.tidy(() => tf.sub(x, 0.9) as tf.Tensor4D);
      const lik = poissonGaussianLikelihood(dense, { a: 0.5, b: 0.01, bMin: 0.02 });
      const g = lik.grad(xs, y);
      const auto = tf.tidy(() => tf.grad((t: tf.Tensor) => lik.value(t as tf.Tensor4D, y))(xs));
      const xs64 = read(xs);
      const fd = centralDifferences((v) => poissonGaussianNll64(dense64(v), y64, 0.5, 0.01, 0.02), xs64);
      const z = dense64(xs64);
      assert.ok(z.some((v) => 0.5 * v + 0.01 < 0.02) && z.some((v) => 0.5 * v + 0.01 > 0.02), 'test needs both regimes');
      assert.ok(relativeError(read(g), read(auto)) < 1e-4, `vs autodiff ${relativeError(read(g), read(auto))}`);
      assert.ok(relativeError(read(g), fd) < 1e-3, `vs finite differences ${relativeError(read(g), fd)}`);
      tf.dispose([xs, g, auto]);
    });

    it('gives the Fisher information 1/v + a²/(2v²) as Gauss–Newton weight', () => {
      const lik = poissonGaussianLikelihood(dense, { a, b });
      const w = lik.gaussNewtonWeight(x);
      const z = dense64(x64);
      const expected = Array.from(z, (zi) => {
        const v = Math.max(a * zi + b, b);
        return 1 / v + (a * zi + b > b ? (a * a) / (2 * v * v) : 0);
      });
      assert.deepEqual(w.shape, [B, ...OUT]);
      assert.ok(relativeError(read(w), expected) < 1e-5);
      w.dispose();
    });

    it('samples with variance a·z + b, reproducibly', () => {
      const lik = poissonGaussianLikelihood(identity(), { a: 0.02, b: 1e-4 });
      const clean = tf.fill([1, 96, 96, 1], 0.6) as tf.Tensor4D;
      const s1 = lik.sample(clean, 5);
      const s2 = lik.sample(clean, 5);
      assert.deepEqual(Array.from(s1.dataSync()), Array.from(s2.dataSync()));
      const d = s1.dataSync();
      let s = 0;
      for (let i = 0; i < d.length; i++) s += (d[i] - 0.6) ** 2;
      const variance = s / d.length;
      const expected = 0.02 * 0.6 + 1e-4;
      assert.ok(Math.abs(variance - expected) < 0.06 * expected, `variance ${variance} vs ${expected}`);
      tf.dispose([clean, s1, s2]);
    });

    it('names the shapes when y does not match A(x), and rejects negative parameters', () => {
      const lik = poissonGaussianLikelihood(dense, { a, b });
      const bad = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
      assert.throws(() => lik.valuePerImage(x, bad), /y has shape \[1, 2, 2, 3\] but A = dense 12x18 maps x \[2, 3, 3, 2\] to \[2, 2, 2, 3\]/);
      assert.throws(() => poissonGaussianLikelihood(dense, { a: -1, b }), /a must be finite and >= 0/);
      bad.dispose();
    });
  });
});
