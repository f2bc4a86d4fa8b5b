import { strict as assert } from 'assert';
import { frechetDistance, gaussianStats, sqrtPsd, symmetricEigen } from '../lib/metrics/frechet';
import { Rng } from '../lib/util/rng';

/** n vectors of dimension d: x = L z + μ with z ~ N(0, I) from a seeded Rng. */
function sample(rng: Rng, n: number, d: number, mix: number[][], shift: number[]): number[][] {
  return Array.from({ length: n }, () => {
    const z = Array.from({ length: d }, () => rng.normal());
    return mix.map((row, i) => row.reduce((s, m, k) => s + m * z[k], 0) + shift[i]);
  });
}

describe('Fréchet distance (the FD of semantic synthesis, in segmenter features)', () => {
  it('symmetric eigen-decomposition reconstructs the matrix, and sqrtPsd squares back', () => {
    const rng = new Rng(3);
    const d = 7;
    const b = Array.from({ length: d * d }, () => rng.normal());
    const m = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) m[i * d + j] += b[i * d + k] * b[j * d + k]; // B Bᵀ, PSD
    const { values, vectors } = symmetricEigen(m, d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let r = 0;
        for (let k = 0; k < d; k++) r += vectors[i * d + k] * values[k] * vectors[j * d + k];
        assert.ok(Math.abs(r - m[i * d + j]) < 1e-9 * (1 + Math.abs(m[i * d + j])), `V Λ Vᵀ differs at ${i},${j}`);
      }
    }
    const s = sqrtPsd(m, d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let r = 0;
        for (let k = 0; k < d; k++) r += s[i * d + k] * s[k * d + j];
        assert.ok(Math.abs(r - m[i * d + j]) < 1e-8 * (1 + Math.abs(m[i * d + j])), `sqrt² differs at ${i},${j}`);
      }
    }
  });

  it('is 0 for identical sets, ‖Δμ‖² for a shifted copy, and the closed form in one dimension', () => {
    const rng = new Rng(1);
    const mix = [[1, 0.3, 0], [0.2, 0.8, 0.1], [0, 0.5, 1.2]];
    const a = sample(rng, 200, 3, mix, [0, 0, 0]);
    assert.ok(frechetDistance(a, a) < 1e-9, 'identical sets');
    const shifted = a.map((v) => [v[0] + 1, v[1] - 2, v[2] + 0.5]);
    assert.ok(Math.abs(frechetDistance(a, shifted) - (1 + 4 + 0.25)) < 1e-8, 'a shifted copy: the squared mean shift');
    // 1-D: (μ1 − μ2)² + σ1² + σ2² − 2 σ1 σ2 = (μ1 − μ2)² + (σ1 − σ2)²
    const x = [[1], [2], [4], [7]];
    const y = [[0], [3], [3], [10]];
    const sx = gaussianStats(x);
    const sy = gaussianStats(y);
    const expected = (sx.mean[0] - sy.mean[0]) ** 2 + (Math.sqrt(sx.cov[0]) - Math.sqrt(sy.cov[0])) ** 2;
    assert.ok(Math.abs(frechetDistance(x, y) - expected) < 1e-10);
  });

  it('grows with the gap between the distributions and is symmetric', () => {
    const rng = new Rng(2);
    const mix = [[1, 0], [0, 1]];
    const a = sample(rng, 400, 2, mix, [0, 0]);
    const near = sample(rng, 400, 2, [[1.1, 0], [0, 0.9]], [0.1, 0]);
    const far = sample(rng, 400, 2, [[2, 0.5], [0, 0.3]], [1, 1]);
    const dNear = frechetDistance(a, near);
    const dFar = frechetDistance(a, far);
    assert.ok(dNear < dFar, `near ${dNear} is not below far ${dFar}`);
    assert.ok(Math.abs(frechetDistance(far, a) - dFar) < 1e-9 * (1 + dFar), 'not symmetric');
  });

  it('names what is wrong with its input', () => {
    assert.throws(() => frechetDistance([[1, 2]], [[1, 2], [3, 4]]), /first set need at least 2 vectors/);
    assert.throws(() => frechetDistance([[1, 2], [3]], [[1, 2], [3, 4]]), /first set vector 1 has 1 values, vector 0 has 2/);
    assert.throws(() => frechetDistance([[1, 2], [3, 4]], [[1], [3]]), /dimensions differ \(2 and 1\)/);
    assert.throws(() => frechetDistance([[1, NaN], [3, 4]], [[1, 2], [3, 4]]), /non-finite value/);
  });
});
