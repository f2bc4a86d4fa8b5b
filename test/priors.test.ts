import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import { imageGradient, imageGradientAdjoint, Prior, tikhonovGradient, totalVariation } from '../lib/priors';
import { rand, centralDifferences, relativeError } from './helpers/numeric';




const read = (t: tf.Tensor) => Float64Array.from(t.dataSync());

const [B, H, W, C] = [2, 4, 5, 3];

/** Float64 forward differences (NHWC, Neumann): [dv, dh] at every pixel. */
function differences64(x: Float64Array): { dv: Float64Array; dh: Float64Array } {
  const dv = new Float64Array(x.length);
  const dh = new Float64Array(x.length);
  const at = (b: number, i: number, j: number, c: number) => ((b * H + i) * W + j) * C + c;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let c = 0; c < C; c++) {
          const k = at(b, i, j, c);
          dv[k] = i < H - 1 ? x[at(b, i + 1, j, c)] - x[k] : 0;
          dh[k] = j < W - 1 ? x[at(b, i, j + 1, c)] - x[k] : 0;
        }
  return { dv, dh };
}

function tv64(x: Float64Array, lambda: number, eps: number): number {
  const { dv, dh } = differences64(x);
  let s = 0;
  for (let k = 0; k < x.length; k++) s += Math.sqrt(dv[k] ** 2 + dh[k] ** 2 + eps * eps);
  return lambda * s;
}

function tikhonov64(x: Float64Array, lambda: number): number {
  const { dv, dh } = differences64(x);
  let s = 0;
  for (let k = 0; k < x.length; k++) s += dv[k] ** 2 + dh[k] ** 2;
  return (lambda / 2) * s;
}

describe('priors', () => {
  let x: tf.Tensor4D;
  let x64: Float64Array;
  let baseline: number;

  before(async () => {
    await initEngine({ quiet: true });
    const r = rand(4);
    x64 = Float64Array.from({ length: B * H * W * C }, () => r());
    x = tf.tensor4d(Float32Array.from(x64), [B, H, W, C]);
  });
  after(() => x.dispose());
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    assert.equal(tf.memory().numTensors, baseline, 'tensor leak');
  });

  describe('finite differences', () => {
    it('computes forward differences with a zero last row/column (Neumann)', () => {
      const img = tf.tensor4d([0, 1, 3, 6], [1, 2, 2, 1]);
      const [dv, dh] = imageGradient(img);
      assert.deepEqual(Array.from(dv.dataSync()), [3, 5, 0, 0]);
      assert.deepEqual(Array.from(dh.dataSync()), [1, 0, 3, 0]);
      tf.dispose([img, dv, dh]);
    });

    it('has an exact adjoint: <∇x, p> = <x, ∇ᵀp>', () => {
      const r = rand(9);
      const p64 = Float64Array.from({ length: 2 * B * H * W * C }, () => r() - 0.5);
      const half = B * H * W * C;
      const pv = tf.tensor4d(Float32Array.from(p64.subarray(0, half)), [B, H, W, C]);
      const ph = tf.tensor4d(Float32Array.from(p64.subarray(half)), [B, H, W, C]);
      const [dv, dh] = imageGradient(x);
      const adj = imageGradientAdjoint(pv, ph);
      const lhs = read(dv).reduce((s, v, i) => s + v * p64[i], 0) + read(dh).reduce((s, v, i) => s + v * p64[half + i], 0);
      const rhs = read(adj).reduce((s, v, i) => s + v * x64[i], 0);
      assert.ok(Math.abs(lhs - rhs) < 1e-5 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`);
      tf.dispose([pv, ph, dv, dh, adj]);
    });

    it('handles images one pixel high or wide (zero differences along that axis)', () => {
      const row = tf.ones([1, 1, 4, 1]) as tf.Tensor4D;
      const [dv, dh] = imageGradient(row);
      const adj = imageGradientAdjoint(dv, dh);
      assert.deepEqual(Array.from(dv.dataSync()), [0, 0, 0, 0]);
      assert.deepEqual(adj.shape, [1, 1, 4, 1]);
      tf.dispose([row, dv, dh, adj]);
    });
  });

  /** Value vs float64, grad vs finite differences (float64) and autodiff. */
  function checkPrior(prior: Prior, f64: (v: Float64Array) => number): void {
    const value = prior.value(x);
    const perImage = prior.valuePerImage(x);
    const g = prior.grad(x);
    const auto = tf.tidy(() => tf.grad((t: tf.Tensor) => prior.value(t as tf.Tensor4D))(x));
    const expected = f64(x64);
    assert.ok(Math.abs(value.dataSync()[0] - expected) < 1e-5 * expected, `value ${value.dataSync()[0]} vs ${expected}`);
    assert.deepEqual(perImage.shape, [B]);
    const pi = perImage.dataSync();
    assert.ok(Math.abs(pi[0] + pi[1] - expected) < 1e-5 * expected);
    const fd = centralDifferences(f64, x64);
    assert.ok(relativeError(read(g), fd) < 1e-3, `grad vs finite differences ${relativeError(read(g), fd)}`);
    assert.ok(relativeError(read(g), read(auto)) < 1e-4, `grad vs autodiff ${relativeError(read(g), read(auto))}`);
    tf.dispose([value, perImage, g, auto]);
  }

  describe('total variation', () => {
    it('value is λ Σ sqrt(|∇x|² + ε²); grad matches finite differences and autodiff (ε = 0.1)', () => {
      checkPrior(totalVariation({ lambda: 0.7, epsilon: 0.1 }), (v) => tv64(v, 0.7, 0.1));
    });

    it('grad matches finite differences and autodiff with the default ε = 1e-2', () => {
      checkPrior(totalVariation({ lambda: 0.3 }), (v) => tv64(v, 0.3, 1e-2));
    });

    it('is λ·ε per pixel on constant images, with zero gradient', () => {
      const flat = tf.fill([1, 3, 3, 2], 0.4) as tf.Tensor4D;
      const prior = totalVariation({ lambda: 2, epsilon: 0.5 });
      const v = prior.value(flat);
      const g = prior.grad(flat);
      assert.ok(Math.abs(v.dataSync()[0] - 2 * 0.5 * 18) < 1e-5);
      assert.ok(read(g).every((e) => e === 0));
      tf.dispose([flat, v, g]);
    });

    it('hessianApprox is the lagged-diffusivity operator: symmetric, PSD, and exact on the linear part', () => {
      const prior = totalVariation({ lambda: 0.5, epsilon: 0.1 });
      const r = rand(21);
      const u = tf.tensor4d(Float32Array.from({ length: B * H * W * C }, () => r() - 0.5), [B, H, W, C]);
      const v = tf.tensor4d(Float32Array.from({ length: B * H * W * C }, () => r() - 0.5), [B, H, W, C]);
      const hu = prior.hessianApprox(x, u);
      const hv = prior.hessianApprox(x, v);
      const dot = (a: tf.Tensor, b: tf.Tensor) => read(a).reduce((s, e, i) => s + e * b.dataSync()[i], 0);
      assert.ok(Math.abs(dot(hu, v) - dot(u, hv)) < 1e-5 * Math.abs(dot(hu, v)) + 1e-6, 'symmetric');
      assert.ok(dot(hu, u) >= 0 && dot(hv, v) >= 0, 'positive semi-definite');
      // H(x) x = ∇φ(x): the gradient is the lagged operator applied at x itself.
      const hx = prior.hessianApprox(x, x);
      const g = prior.grad(x);
      assert.ok(relativeError(read(hx), read(g)) < 1e-5);
      tf.dispose([u, v, hu, hv, hx, g]);
    });
  });

  describe('tikhonov on gradients', () => {
    it('value is λ/2 ‖∇x‖²; grad matches finite differences and autodiff', () => {
      checkPrior(tikhonovGradient({ lambda: 1.3 }), (v) => tikhonov64(v, 1.3));
    });

    it('hessianApprox is the exact Hessian λ∇ᵀ∇ (independent of x)', () => {
      const prior = tikhonovGradient({ lambda: 1.3 });
      const zero = tf.zerosLike(x) as tf.Tensor4D;
      const hx = prior.hessianApprox(zero, x);
      const g = prior.grad(x);
      assert.ok(relativeError(read(hx), read(g)) < 1e-6);
      tf.dispose([zero, hx, g]);
    });
  });

  it('names the shapes of bad inputs, and rejects negative weights', () => {
    const flat = tf.zeros([4, 4]) as unknown as tf.Tensor4D;
    const other = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const tv = totalVariation({ lambda: 1 });
    assert.throws(() => tv.value(flat), /tv\(λ=1, ε=0.01\): x shape \[4, 4\] is not a 4-D NHWC shape/);
    assert.throws(() => tikhonovGradient({ lambda: 1 }).grad(flat), /x shape \[4, 4\] is not a 4-D NHWC shape/);
    assert.throws(() => tv.hessianApprox(x, other), /direction v has shape \[1, 4, 4, 1\] but x has shape \[2, 4, 5, 3\]/);
    assert.throws(() => totalVariation({ lambda: -1 }), /lambda must be a finite number >= 0/);
    assert.throws(() => totalVariation({ lambda: 1, epsilon: 0 }), /epsilon must be a finite number > 0/);
    tf.dispose([flat, other]);
  });
});
