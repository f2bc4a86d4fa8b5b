/**
 * The regularised Gauss–Newton direction of a learned solver, as differentiable tensor code: a
 * fixed number of conjugate-gradient iterations on
 *
 * `(JᵀWJ + α·w̄ R) δ = JᵀW (y − A(x))`,
 *
 * per image (the images of a batch are independent systems), through Jacobian–vector and
 * vector–Jacobian products only (no matrices). `W` is the likelihood's Gauss–Newton (Fisher)
 * weight and `w̄` its per-image mean, so that α is relative to the noise level (for Gaussian noise
 * the system is `(JᵀJ + α I) δ = Jᵀ(y − Ax)`). The damping `R` is the identity (Levenberg–Marquardt,
 * the default) or, with `damping: 'smoothness'`, `∇ᵀ∇ + κ I` (the negative Neumann Laplacian plus a
 * small ridge κ = {@link SMOOTHNESS_RIDGE}): where `J` has a null space (super-resolution) the
 * identity leaves δ in the range of `Jᵀ` — for an operator with `JJᵀ ≈ c·I`, such as bicubic
 * downsampling, a rescaled gradient — while the smoothness damping fills the null space with the
 * smoothest δ that explains the residual, a direction the gradient does not give. Gradients flow through the CG iterations
 * (`'unrolled'`) or by implicit differentiation of the linear solve (`'implicit'`: one more CG
 * solve in the backward pass, exact when `JᵀWJ` does not depend on `x` — linear operators with a
 * constant weight — and ignoring that dependence otherwise; linear operators only, since tfjs
 * cannot run autodiff inside a backward pass). For a likelihood whose measurement is
 * not shaped like `A(x)` (the categorical one through a segmenter) the right-hand side is `−∇ₓL`
 * ({@link gaussNewtonRightHandSide}).
 */
import { tf } from '../../engine/tf';
import { Likelihood } from '../../likelihoods/types';
import { isLinear } from '../../operators/types';
import { imageGradient, imageGradientAdjoint } from '../../priors/finite_differences';
import { jacobianVectorProduct } from '../classical/jacobian';

/** How gradients pass the linear solve. */
export type SolveGradient = 'unrolled' | 'implicit';

/** The damping `R` of the Gauss–Newton system: `'identity'` (`I`) or `'smoothness'` (`∇ᵀ∇ + κ I`). */
export type Damping = 'identity' | 'smoothness';

/** κ of the smoothness damping `∇ᵀ∇ + κ I` (keeps the system definite where `J` maps constants to 0). */
export const SMOOTHNESS_RIDGE = 0.01;

/**
 * `v ↦ R v` for a damping (see {@link Damping}).
 * @example
 * const rv = dampingApply('smoothness')(v); // ∇ᵀ∇v + 0.01 v
 */
export function dampingApply(damping: Damping): (v: tf.Tensor4D) => tf.Tensor4D {
  if (damping === 'identity') return (v) => v;
  if (damping !== 'smoothness') throw new Error(`Gauss–Newton damping must be 'identity' or 'smoothness', got ${JSON.stringify(damping)}`);
  return (v) =>
    tf.tidy(() => {
      const [dv, dh] = imageGradient(v);
      return tf.add(imageGradientAdjoint(dv, dh), tf.mul(v, SMOOTHNESS_RIDGE)) as tf.Tensor4D;
    });
}

const TINY = 1e-20;

/** `<a, b>` per image, `[b, 1, 1, 1]`. */
export function dotPerImage(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  return tf.sum(tf.mul(a, b), [1, 2, 3], true) as tf.Tensor4D;
}

/**
 * `k` CG iterations for `M v = b` from `v = 0`, with `M` symmetric positive definite, per image.
 * Pure tensor code (differentiable; no read-back). Division guards keep a converged image
 * (zero residual) at its solution.
 * @param apply `v ↦ M v`
 * @param b `[n, h, w, c]`
 * @param k iterations (≥ 1)
 * @example
 * const x = cgSolve((v) => tf.mul(v, 2) as tf.Tensor4D, b, 3); // b / 2
 */
export function cgSolve(apply: (v: tf.Tensor4D) => tf.Tensor4D, b: tf.Tensor4D, k: number): tf.Tensor4D {
  if (!Number.isInteger(k) || k < 1) throw new Error(`cgSolve: iterations must be a positive integer, got ${k}`);
  return tf.tidy(() => {
    let x = tf.zerosLike(b) as tf.Tensor4D;
    let r = b;
    let p = b;
    let rs = dotPerImage(r, r); // [n, 1, 1, 1]
    for (let i = 0; i < k; i++) {
      const ap = apply(p);
      const a = tf.div(rs, tf.add(dotPerImage(p, ap), TINY)) as tf.Tensor4D;
      x = tf.add(x, tf.mul(a, p)) as tf.Tensor4D;
      if (i === k - 1) break;
      r = tf.sub(r, tf.mul(a, ap)) as tf.Tensor4D;
      const rsNew = dotPerImage(r, r);
      p = tf.add(r, tf.mul(tf.div(rsNew, tf.add(rs, TINY)), p)) as tf.Tensor4D;
      rs = rsNew;
    }
    return x;
  });
}

/**
 * The Gauss–Newton operator `v ↦ JᵀWJ v` of a likelihood at `x`, and the per-image mean `w̄` of
 * its weight: for a linear operator with a per-image weight `W·Aᵀ(A v)` (or `A.normal`); else
 * `J v` by {@link jacobianVectorProduct} and `Jᵀu` by the operator's adjoint / vjp.
 */
export function gaussNewtonOperator(likelihood: Likelihood, x: tf.Tensor4D): { apply: (v: tf.Tensor4D) => tf.Tensor4D; weight: tf.Tensor; meanWeight: tf.Tensor4D } {
  const weight = likelihood.gaussNewtonWeight(x); // broadcasts against A(x)
  const meanWeight = tf.tidy(() => (weight.rank === 4 ? tf.mean(weight, [1, 2, 3], true) : tf.reshape(weight, [1, 1, 1, 1]))) as tf.Tensor4D;
  return { apply: gaussNewtonApply(likelihood, x, weight), weight, meanWeight };
}

/** `v ↦ JᵀWJ v` at `x` for a given weight `W` (see {@link gaussNewtonOperator}). */
export function gaussNewtonApply(likelihood: Likelihood, x: tf.Tensor4D, weight: tf.Tensor): (v: tf.Tensor4D) => tf.Tensor4D {
  const A = likelihood.operator;
  const perImage = weight.size <= x.shape[0];
  return (v) =>
    tf.tidy(() => {
      if (isLinear(A) && perImage) return tf.mul(weight, A.normal(v)) as tf.Tensor4D;
      const u = tf.mul(weight, jacobianVectorProduct(A, x, v)) as tf.Tensor4D;
      return isLinear(A) ? A.adjoint(u) : A.vjp(x, u);
    });
}

/**
 * The right-hand side of the Gauss–Newton system at `x`: `JᵀW (y − A(x))` when `y` lives where
 * `A(x)` does (Gaussian-type likelihoods: it is `−∇ₓL` for the Gaussian), and the negative
 * gradient `−∇ₓL` (Fisher scoring) when the measurement is not shaped like `A(x)` (a likelihood
 * with `measurementShape`, e.g. the categorical one: `y` a label map, `A(x)` the logits).
 * @example
 * const rhs = gaussNewtonRightHandSide(likelihood, x, labels, likelihood.gaussNewtonWeight(x));
 */
export function gaussNewtonRightHandSide(likelihood: Likelihood, x: tf.Tensor4D, y: tf.Tensor4D, weight: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    if (likelihood.measurementShape) return tf.neg(likelihood.grad(x, y)) as tf.Tensor4D;
    const A = likelihood.operator;
    const residual = tf.sub(y, A.forward(x)) as tf.Tensor4D; // [b, h', w', c']
    const weighted = tf.mul(weight, residual) as tf.Tensor4D;
    return isLinear(A) ? A.adjoint(weighted) : A.vjp(x, weighted); // JᵀW r, [b, h, w, c]
  });
}

/**
 * The damped Gauss–Newton direction `δ = (JᵀWJ + α·w̄ R)⁻¹ JᵀW (y − A(x))` by `iterations` CG
 * steps; `α` a scalar tensor (trainable or not), `R` the `damping` (default the identity).
 * Differentiable in `x`, `y` and `α` by unrolling, or (`gradient: 'implicit'`) by implicit
 * differentiation of the solve.
 * @returns `[b, h, w, c]`, like `x`
 * @example
 * const d = gaussNewtonDirection(likelihood, x, y, tf.scalar(0.1), { iterations: 5 });
 */
export function gaussNewtonDirection(
  likelihood: Likelihood,
  x: tf.Tensor4D,
  y: tf.Tensor4D,
  alpha: tf.Scalar,
  options: { iterations: number; gradient?: SolveGradient; damping?: Damping },
): tf.Tensor4D {
  const damp = dampingApply(options.damping ?? 'identity');
  return tf.tidy(() => {
    const A = likelihood.operator;
    const { apply, weight, meanWeight } = gaussNewtonOperator(likelihood, x);
    const rhs = gaussNewtonRightHandSide(likelihood, x, y, weight);
    const system = (a: tf.Tensor, mv: (v: tf.Tensor4D) => tf.Tensor4D, wbar: tf.Tensor) => (v: tf.Tensor4D) => tf.add(mv(v), tf.mul(tf.mul(a, wbar), damp(v))) as tf.Tensor4D;
    if ((options.gradient ?? 'unrolled') === 'unrolled') return cgSolve(system(alpha, apply, meanWeight), rhs, options.iterations);
    // A custom op's forward and backward run without a tape, so Jacobian products by autodiff cannot run inside them.
    if (!isLinear(A)) throw new Error(`learned Gauss–Newton: solveGradient 'implicit' needs a linear operator (${A.name} is not linear: its Jacobian products use autodiff, which tfjs cannot run inside a custom gradient); use solveGradient 'unrolled'`);
    // Implicit: everything the backward pass needs is an input of the custom op (saved by the
    // engine), not a closure over tensors that the surrounding tidy frees before backprop.
    const solve = tf.customGrad(((b: tf.Tensor4D, a: tf.Scalar, w: tf.Tensor, wbar: tf.Tensor4D, at: tf.Tensor4D, save: (t: tf.Tensor[]) => void) => {
      const d = cgSolve(system(a, apply, wbar), b, options.iterations);
      save([d, a, w, wbar, at]);
      return {
        value: d,
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [dSaved, aSaved, wSaved, wbarSaved, atSaved] = saved as [tf.Tensor4D, tf.Scalar, tf.Tensor, tf.Tensor4D, tf.Tensor4D];
          const u = cgSolve(system(aSaved, gaussNewtonApply(likelihood, atSaved, wSaved), wbarSaved), dy, options.iterations); // M⁻¹ dy (M symmetric)
          const dAlpha = tf.neg(tf.sum(tf.mul(tf.mul(u, wbarSaved), damp(dSaved)))); // −<M⁻¹dy, w̄ R δ>
          // The weight and the linearisation point enter M only: their dependence is not followed.
          return [u, dAlpha, tf.zerosLike(wSaved), tf.zerosLike(wbarSaved), tf.zerosLike(atSaved)];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (b: tf.Tensor4D, a: tf.Scalar, w: tf.Tensor, wbar: tf.Tensor4D, at: tf.Tensor4D) => tf.Tensor4D;
    return solve(rhs, alpha, weight, meanWeight, x);
  });
}
