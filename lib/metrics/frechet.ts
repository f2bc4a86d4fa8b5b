/**
 * Fréchet distance between two sets of feature vectors, each summarised by a Gaussian (mean and
 * covariance): `‖μ₁ − μ₂‖² + tr(C₁ + C₂ − 2 (C₁^½ C₂ C₁^½)^½)`. With Inception features this is
 * the FID; here the features are a segmenter's (see `Segmenter.features`), so tables call it "FD
 * in φ' features", not FID. Plain float64 arithmetic (the symmetric eigen-decompositions by cyclic
 * Jacobi rotations): the dimensions are small (tens).
 * @example
 * frechetDistance(realFeatures, synthFeatures); // 0 for identical sets, grows with the gap
 */

/** Mean and (unbiased, n − 1) covariance of row vectors. */
export interface GaussianStats {
  mean: Float64Array;
  /** Row-major `d × d`. */
  cov: Float64Array;
  d: number;
  n: number;
}

/**
 * Mean and covariance of `n ≥ 2` feature vectors of one dimension `d`.
 * @throws If there are fewer than 2 vectors, or their lengths differ, or a value is not finite.
 */
export function gaussianStats(vectors: ReadonlyArray<ArrayLike<number>>, what = 'features'): GaussianStats {
  const n = vectors.length;
  if (n < 2) throw new Error(`gaussianStats: ${what} need at least 2 vectors for a covariance, got ${n}`);
  const d = vectors[0].length;
  if (d === 0) throw new Error(`gaussianStats: ${what} are empty vectors`);
  const mean = new Float64Array(d);
  vectors.forEach((v, i) => {
    if (v.length !== d) throw new Error(`gaussianStats: ${what} vector ${i} has ${v.length} values, vector 0 has ${d}`);
    for (let k = 0; k < d; k++) {
      if (!Number.isFinite(v[k])) throw new Error(`gaussianStats: ${what} vector ${i} has a non-finite value at ${k}`);
      mean[k] += v[k] / n;
    }
  });
  const cov = new Float64Array(d * d);
  for (const v of vectors) {
    for (let a = 0; a < d; a++) {
      const da = v[a] - mean[a];
      for (let b = a; b < d; b++) cov[a * d + b] += (da * (v[b] - mean[b])) / (n - 1);
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a];
  return { mean, cov, d, n };
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
 * @returns eigenvalues and the eigenvectors as the columns of a row-major `d × d` matrix
 */
export function symmetricEigen(matrix: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  if (matrix.length !== d * d) throw new Error(`symmetricEigen: expected ${d}×${d} = ${d * d} values, got ${matrix.length}`);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  const offNorm = (): number => {
    let s = 0;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) s += a[i * d + j] ** 2;
    return s;
  };
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += a[i] ** 2;
  for (let sweep = 0; sweep < 100 && offNorm() > 1e-30 * Math.max(scale, 1e-300); sweep++) {
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          // columns p, q of A
          const akp = a[k * d + p];
          const akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          // rows p, q of A
          const apk = a[p * d + k];
          const aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p];
          const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i];
  return { values, vectors: v };
}

/** The principal square root of a symmetric positive semi-definite matrix (negative eigenvalues from round-off clipped to 0). */
export function sqrtPsd(matrix: ArrayLike<number>, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(values[k], 0));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = vectors[i * d + k] * r;
      for (let j = 0; j < d; j++) out[i * d + j] += vik * vectors[j * d + k];
    }
  }
  return out;
}

function matMul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
}

/**
 * The Fréchet distance of two Gaussians, `‖μ₁ − μ₂‖² + tr C₁ + tr C₂ − 2 tr (C₁^½ C₂ C₁^½)^½`
 * (the symmetric form of `tr (C₁C₂)^½`, so no complex square roots arise).
 */
export function frechetDistanceOfStats(a: GaussianStats, b: GaussianStats): number {
  if (a.d !== b.d) throw new Error(`frechetDistance: feature dimensions differ (${a.d} and ${b.d})`);
  const d = a.d;
  let dist = 0;
  for (let k = 0; k < d; k++) dist += (a.mean[k] - b.mean[k]) ** 2;
  let trace = 0;
  for (let k = 0; k < d; k++) trace += a.cov[k * d + k] + b.cov[k * d + k];
  const s1 = sqrtPsd(a.cov, d);
  const m = matMul(matMul(s1, b.cov, d), s1, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
  const { values } = symmetricEigen(m, d);
  let cross = 0;
  for (const v of values) cross += Math.sqrt(Math.max(v, 0));
  return Math.max(dist + trace - 2 * cross, 0);
}

/**
 * The Fréchet distance between two sets of feature vectors (≥ 2 each, same dimension).
 * @example
 * frechetDistance([[0, 0], [1, 1], [2, 0]], [[0, 0], [1, 1], [2, 0]]); // 0
 */
export function frechetDistance(a: ReadonlyArray<ArrayLike<number>>, b: ReadonlyArray<ArrayLike<number>>): number {
  return frechetDistanceOfStats(gaussianStats(a, 'first set'), gaussianStats(b, 'second set'));
}
