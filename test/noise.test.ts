import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import { gaussianLikelihood, normalNoise, poissonGaussianLikelihood, tfjsSeed } from '../lib/likelihoods';
import { gaussianBlur } from '../lib/operators/blur';
import { identity } from '../lib/operators/identity';
import { Operator } from '../lib/operators/types';

/** The bytes of a tensor (float32), for exact comparisons. */
function bytes(t: tf.Tensor): Buffer {
  const d = t.dataSync() as Float32Array;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** A smooth test image `[1, 24, 20, 1]` in [0.1, 0.9]. */
function testImage(): tf.Tensor4D {
  const h = 24;
  const w = 20;
  const v = new Float32Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) v[i * w + j] = 0.5 + 0.4 * Math.sin(i / 3) * Math.cos(j / 4);
  return tf.tensor4d(v, [1, h, w, 1]);
}

describe('reproducible noise (every seed, 0 included)', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('tfjs itself draws new noise for a seed of 0 (the fault this guards against)', () => {
    const a = tf.randomNormal([256], 0, 1, 'float32', 0);
    const b = tf.randomNormal([256], 0, 1, 'float32', 0);
    assert.notDeepEqual(bytes(a), bytes(b));
    tf.dispose([a, b]);
  });

  it('normalNoise gives the same bytes on every call for seed 0, and other noise than seeds 1 and 0.5', () => {
    const before = tf.memory().numTensors;
    const a = normalNoise([4, 8, 8, 1], 0);
    const b = normalNoise([4, 8, 8, 1], 0);
    const c = normalNoise([4, 8, 8, 1], 1);
    const d = normalNoise([4, 8, 8, 1], 0.5);
    assert.deepEqual(bytes(a), bytes(b));
    assert.notDeepEqual(bytes(a), bytes(c));
    assert.notDeepEqual(bytes(a), bytes(d));
    tf.dispose([a, b, c, d]);
    assert.equal(tf.memory().numTensors, before);
  });

  it('keeps the draws of nonzero seeds exactly as tfjs made them (committed numbers stay)', () => {
    for (const seed of [7, 1000, 25_000, -3, 2147483646]) {
      const ours = normalNoise([3, 5, 7, 1], seed, 25 / 255);
      const theirs = tf.randomNormal([3, 5, 7, 1], 0, 25 / 255, 'float32', seed);
      assert.deepEqual(bytes(ours), bytes(theirs), `seed ${seed}`);
      tf.dispose([ours, theirs]);
    }
  });

  it('has standard-normal statistics for seed 0', () => {
    const n = normalNoise([20000], 0);
    const v = n.dataSync();
    let s = 0;
    let s2 = 0;
    for (const x of v) {
      s += x;
      s2 += x * x;
    }
    const mean = s / v.length;
    const std = Math.sqrt(s2 / v.length - mean * mean);
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 0.03, `std ${std}`);
    n.dispose();
  });

  it('rejects a seed that is not a finite number, naming it', () => {
    assert.throws(() => tfjsSeed(NaN), /seed must be a finite number, got NaN/);
    assert.throws(() => normalNoise([2], Infinity), /seed must be a finite number, got Infinity/);
  });

  // The degradations of the notebooks: 00 (Gaussian noise, seed 0 on its first image), 01/02
  // (denoising and deblurring through the likelihoods' samplers), Poisson–Gaussian; a seed drawn
  // from a generator that gives 0 is the 'sum that reaches 0' case.
  const degradations: { name: string; make: () => { op: Operator; sample: (x: tf.Tensor4D, seed: number | { next(): number }) => tf.Tensor4D } }[] = [
    {
      name: 'notebook 00: x + N(0, (σ/255)²)',
      make: () => {
        const op = identity();
        return { op, sample: (x, seed) => tf.tidy(() => tf.add(x, normalNoise(x.shape, seed as number, 15 / 255)) as tf.Tensor4D) };
      },
    },
    {
      name: 'denoising (Gaussian likelihood, A = I)',
      make: () => {
        const op = identity();
        const lik = gaussianLikelihood(op, { sigma: 25 / 255 });
        return { op, sample: (x, seed) => lik.sample(x, seed) };
      },
    },
    {
      name: 'deblurring (Gaussian 9x9, s = 1.6, σ = 2)',
      make: () => {
        const op = gaussianBlur(9, 1.6);
        const lik = gaussianLikelihood(op, { sigma: 2 / 255 });
        return { op, sample: (x, seed) => lik.sample(x, seed) };
      },
    },
    {
      name: 'Poisson–Gaussian',
      make: () => {
        const op = identity();
        const lik = poissonGaussianLikelihood(op, { a: 0.01, b: 1e-4 });
        return { op, sample: (x, seed) => lik.sample(x, seed) };
      },
    },
  ];

  for (const { name, make } of degradations) {
    it(`${name}: identical bytes twice for seed 0, for a generator that yields seed 0, and for seed 3`, () => {
      const x = testImage();
      const { op, sample } = make();
      const z = op.forward(x);
      const clean = Buffer.from(bytes(z));
      z.dispose();
      const before = tf.memory().numTensors;
      for (const seed of [0, 3]) {
        const a = sample(x, seed);
        const b = sample(x, seed);
        assert.deepEqual(bytes(a), bytes(b), `seed ${seed}`);
        assert.notDeepEqual(bytes(a), clean, 'the degradation adds noise');
        tf.dispose([a, b]);
      }
      if (!name.startsWith('notebook 00')) {
        // the samplers also take a generator (notebook 00 passes numbers only)
        const zero = { next: () => 0 }; // resolveSeed: floor(0 · 2³¹) = 0
        const a = sample(x, zero);
        const b = sample(x, zero);
        const c = sample(x, 0);
        assert.deepEqual(bytes(a), bytes(b));
        assert.deepEqual(bytes(a), bytes(c));
        tf.dispose([a, b, c]);
      }
      assert.equal(tf.memory().numTensors, before);
      op.dispose();
      x.dispose();
    });
  }
});
