/** The operator norm `‖A‖` of a linear operator, by power iteration. */
import { tf } from '../engine/tf';
import { Rng } from '../io/rng';
import { assertNhwc } from './linear';
import { LinearOperator } from './types';

/**
 * Options of {@link operatorNorm}.
 * @example
 * operatorNorm(A, [1, 64, 64, 3], { iterations: 50, seed: 1, tol: 1e-5 });
 */
export interface OperatorNormOptions {
  /** At most this many applications of `AᵀA` (default 100). */
  iterations?: number;
  /** Seed of the random start vector (default 0). */
  seed?: number;
  /** Stop when the estimate of `‖A‖²` changes by less than `tol` relative (default 1e-6). */
  tol?: number;
  /** Called after each iteration with the current estimate of `‖A‖`. */
  onIteration?: (iteration: number, norm: number) => void;
}

/**
 * `‖A‖ = sqrt(λ_max(AᵀA))`, the largest singular value, by power iteration on `AᵀA` from a seeded
 * Gaussian start `v₀` on inputs of shape `inputShape`:
 * `w = AᵀA v_k`, `λ_k = <v_k, w>` (Rayleigh quotient, `‖v_k‖ = 1`), `v_{k+1} = w / ‖w‖`,
 * stopping when `|λ_k − λ_{k−1}| ≤ tol · λ_k`. Returns `sqrt(λ_k)`, a lower bound that converges
 * to `‖A‖` (the step size of gradient descent on `½‖Ax − y‖²` is `1/‖A‖²`).
 * @example
 * const L = operatorNorm(gaussianBlur(7, 1.6), [1, 32, 32, 1]); // ≤ 1 for a normalised kernel
 */
export function operatorNorm(A: LinearOperator, inputShape: readonly number[], options: OperatorNormOptions = {}): number {
  assertNhwc(`operatorNorm(${A.name})`, 'input', inputShape);
  A.outputShape(inputShape);
  const iterations = options.iterations ?? 100;
  const tol = options.tol ?? 1e-6;
  const rng = new Rng(options.seed ?? 0);
  const size = inputShape.reduce((a, d) => a * d, 1);
  const start = new Float32Array(size);
  for (let i = 0; i < size; i++) start[i] = rng.normal();
  let v = tf.tidy(() => {
    const t = tf.tensor4d(start, inputShape as [number, number, number, number]);
    return tf.div(t, tf.norm(t)) as tf.Tensor4D;
  });
  let lambda = 0;
  try {
    for (let k = 1; k <= iterations; k++) {
      const prev = lambda;
      let lam = 0;
      let wNorm = 0;
      const next = tf.tidy(() => {
        const w = A.normal(v); // [b, h, w, c]
        const n = tf.norm(w);
        lam = tf.sum(tf.mul(v, w)).dataSync()[0];
        wNorm = n.dataSync()[0];
        return wNorm > 0 ? (tf.div(w, n) as tf.Tensor4D) : w;
      });
      v.dispose();
      v = next;
      lambda = lam;
      options.onIteration?.(k, Math.sqrt(Math.max(lambda, 0)));
      if (wNorm === 0 || Math.abs(lambda - prev) <= tol * Math.abs(lambda)) break;
    }
  } finally {
    v.dispose();
  }
  return Math.sqrt(Math.max(lambda, 0));
}
