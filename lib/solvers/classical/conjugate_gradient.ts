/** Conjugate gradients for `H δ = r` with a symmetric positive (semi-)definite `H` per image. */
import { tf } from '../../engine/tf';

/**
 * Options of {@link conjugateGradient}.
 * @example
 * conjugateGradient(apply, rhs, { maxIter: 30, tol: 1e-8 });
 */
export interface ConjugateGradientOptions {
  /** Maximum number of iterations (default 20). */
  maxIter?: number;
  /** Stop when every image has `‖r_n − H δ_n‖ ≤ tol · ‖r_n‖` (default 1e-6). */
  tol?: number;
}

/**
 * What {@link conjugateGradient} returns.
 * @example
 * const { solution, iterations, relativeResidual } = conjugateGradient(apply, rhs);
 */
export interface ConjugateGradientResult {
  /** The approximate solution, shaped like the right-hand side; the caller owns it. */
  solution: tf.Tensor4D;
  /** Iterations run. */
  iterations: number;
  /** The largest relative residual over the batch, `max_n ‖r_n − H δ_n‖ / ‖r_n‖`. */
  relativeResidual: number;
}

/**
 * Conjugate gradients from `δ₀ = 0` on a batch of independent systems `H_n δ_n = r_n` (`H` acts
 * image by image, i.e. is block diagonal): the step lengths `α`, `β` are computed per image,
 * so each image follows its own CG recursion —
 * `α = ρ/(pᵀHp)`, `δ += α p`, `s −= α Hp`, `β = ρ'/ρ`, `p = s + β p` (`ρ = sᵀs`) —
 * and an image whose residual is exactly zero stops moving. Each iteration runs in `tf.tidy`.
 * @param apply `v ↦ H v` on `[b, h, w, c]` (must act on each image separately)
 * @param rhs the right-hand side `r`, `[b, h, w, c]`
 * @param options iterations and tolerance
 * @example
 * const { solution } = conjugateGradient((v) => tf.mul(v, 2), rhs); // rhs / 2
 */
export function conjugateGradient(
  apply: (v: tf.Tensor4D) => tf.Tensor4D,
  rhs: tf.Tensor4D,
  options: ConjugateGradientOptions = {},
): ConjugateGradientResult {
  const maxIter = options.maxIter ?? 20;
  const tol = options.tol ?? 1e-6;
  const sumImage = (t: tf.Tensor) => tf.sum(t, [1, 2, 3], true); // [b, 1, 1, 1]
  let delta = tf.zerosLike(rhs) as tf.Tensor4D;
  let residual = tf.clone(rhs) as tf.Tensor4D;
  let direction = tf.clone(rhs) as tf.Tensor4D;
  let rho = tf.tidy(() => sumImage(tf.square(rhs)) as tf.Tensor4D);
  const rhsNorm2 = Array.from(rho.dataSync());
  const relative = (rr: ArrayLike<number>) =>
    Math.max(...Array.from(rr, (v, n) => (rhsNorm2[n] > 0 ? Math.sqrt(Math.max(v, 0) / rhsNorm2[n]) : 0)));
  let rel = relative(rho.dataSync());
  let iterations = 0;
  while (iterations < maxIter && rel > tol) {
    const next: tf.Tensor4D[] = tf.tidy(() => {
      const hp = apply(direction); // [b, h, w, c]
      const alpha = tf.divNoNan(rho, sumImage(tf.mul(direction, hp))); // [b, 1, 1, 1]
      const d = tf.add(delta, tf.mul(alpha, direction)) as tf.Tensor4D;
      const r = tf.sub(residual, tf.mul(alpha, hp)) as tf.Tensor4D;
      const rhoNew = sumImage(tf.square(r)) as tf.Tensor4D;
      const p = tf.add(r, tf.mul(tf.divNoNan(rhoNew, rho), direction)) as tf.Tensor4D;
      return [d, r, p, rhoNew];
    });
    tf.dispose([delta, residual, direction, rho]);
    [delta, residual, direction, rho] = next;
    iterations++;
    rel = relative(rho.dataSync());
  }
  tf.dispose([residual, direction, rho]);
  return { solution: delta, iterations, relativeResidual: rel };
}
