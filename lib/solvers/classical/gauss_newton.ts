/**
 * Regularised Gauss–Newton / Levenberg–Marquardt with conjugate-gradient inner solves and a
 * decaying damping, after the iteratively regularised Gauss–Newton method (Bakushinsky;
 * Kaltenbacher, Neubauer & Scherzer; Burger & Kaltenbacher).
 */
import { tf } from '../../engine/tf';
import { isLinear } from '../../operators/types';
import { conjugateGradient } from './conjugate_gradient';
import { projectedGradientNorm } from './gradient_descent';
import { IterationCallback, Recorder, SolverOptions, SolverResult, SOLVER_DEFAULTS } from './history';
import { jacobianVectorProduct } from './jacobian';
import { Problem } from '../../tasks/problem';
import { distance, norm } from './vector';

/**
 * Options of {@link gaussNewton}.
 * @example
 * gaussNewton(problem, x0, { maxIter: 10, cgIter: 30, damping: 1e-2, dampingDecay: 0.5 });
 */
export interface GaussNewtonOptions extends SolverOptions {
  /** Conjugate-gradient iterations per outer step (default 20). */
  cgIter?: number;
  /** Relative residual at which CG stops (default 1e-6). */
  cgTol?: number;
  /** Initial damping `α₀ ≥ 0` (default 1; absolute, in the units of `JᵀWJ`). */
  damping?: number;
  /** Decay `q ∈ (0, 1]` of the damping after an accepted step: `α_{k+1} = max(q α_k, αmin)` (default 0.5). */
  dampingDecay?: number;
  /** Floor `αmin ≥ 0` of the damping (default 0). */
  dampingMin?: number;
  /** Factor by which the damping grows when a step does not decrease `f` (default 10; a failed undamped step retries with α = 1). */
  dampingIncrease?: number;
  /** Tries per iteration with growing damping before giving up (default 10). */
  maxRetries?: number;
  /** Project each iterate onto the problem's box (or [0, 1]) (default: true exactly when the problem has a box). */
  project?: boolean;
  /** Float32 guard: a step is accepted when `f` grows by at most `noiseTol·|f|` (default 1e-6; 0 for strict decrease). */
  noiseTol?: number;
}

/**
 * Regularised Gauss–Newton (Levenberg–Marquardt): at `x_k`, solve with CG
 *
 * `(Jᵀ W J + α_k I + H_φ) δ = −∇f(x_k)`, then `x_{k+1} = P(x_k + δ)`,
 *
 * where `J` is the Jacobian of `A` at `x_k`, `W` the likelihood's Gauss–Newton (Fisher) weight,
 * `H_φ` the prior's PSD Hessian approximation (exact for Tikhonov, lagged diffusivity for TV).
 * `Jᵀ(W J v)`: for linear `A` with a per-image constant `W` it is `W·A.normal(v)`; otherwise
 * `J v` comes from {@link jacobianVectorProduct} (forward map for linear `A`, else the
 * double-vjp trick) and `Jᵀ u` from `A.vjp(x, u)`.
 *
 * Damping: following the iteratively regularised Gauss–Newton method (Burger & Kaltenbacher), the
 * regularisation decays geometrically, `α_{k+1} = max(q α_k, αmin)`. Unlike full IRGN, the
 * right-hand side is `−∇f` (no pull `α_k (x_k − x₀)` back to the start), so fixed points are
 * stationary points of `f` and, for a convex `f`, the limit is its minimiser; the prior `φ`
 * supplies the regularisation. A step that does not decrease `f` is retried with `α_k` times
 * `dampingIncrease` (the Levenberg–Marquardt safeguard). CG runs per image
 * (see {@link conjugateGradient}); the projection (when on) is applied after the step.
 *
 * @param problem the objective `f = L + φ` (and box)
 * @param x0 the starting point `[b, h, w, c]` (not modified, not disposed)
 * @param options inner/outer iterations, damping schedule, tolerances, truth for PSNR/SSIM
 * @param onIteration called with every record (iteration 0 = the start); return false to stop
 * @returns the last iterate (caller owns it) and the history (`damping`, `innerIterations` per step)
 * @example
 * const { x, history } = gaussNewton(problem, x0, { maxIter: 10, cgIter: 30, damping: 1e-2 });
 */
export function gaussNewton(
  problem: Problem,
  x0: tf.Tensor4D,
  options: GaussNewtonOptions = {},
  onIteration?: IterationCallback,
): SolverResult {
  const maxIter = options.maxIter ?? SOLVER_DEFAULTS.maxIter;
  const decay = options.dampingDecay ?? 0.5;
  const dampingMin = options.dampingMin ?? 0;
  const increase = options.dampingIncrease ?? 10;
  const maxRetries = options.maxRetries ?? 10;
  const noiseTol = options.noiseTol ?? 1e-6;
  let damping = options.damping ?? 1;
  if (!(damping >= 0) || !(dampingMin >= 0)) throw new Error(`gaussNewton: damping and dampingMin must be >= 0, got ${damping}, ${dampingMin}`);
  if (!(decay > 0 && decay <= 1)) throw new Error(`gaussNewton: dampingDecay must be in (0, 1], got ${decay}`);
  if (!(increase > 1)) throw new Error(`gaussNewton: dampingIncrease must be > 1, got ${increase}`);
  const projecting = options.project ?? problem.box !== undefined;
  const project = projecting ? (t: tf.Tensor4D) => problem.project(t, [0, 1]) : undefined;
  const recorder = new Recorder('gaussNewton', problem, x0, options, onIteration);
  const { operator, likelihood, prior } = problem;

  let x = project ? project(x0) : (tf.clone(x0) as tf.Tensor4D);
  let f = problem.objective(x);
  let g = problem.gradient(x);
  let evaluations = 1;
  recorder.record({ iteration: 0, objective: f, step: 0, stepNorm: 0, gradNorm: projectedGradientNorm(x, g, project), evaluations }, x);
  let stop = recorder.stopReason(norm(x));

  for (let k = 1; !stop && k <= maxIter; k++) {
    const xPrev = x;
    const previousNorm = norm(xPrev);
    let used = damping;
    let inner = 0;
    const ok = tf.tidy(() => {
      const w = likelihood.gaussNewtonWeight(xPrev); // scalar, [b,1,1,1] or like A(x)
      const perImageWeight = w.rank === 0 || w.shape.slice(1).every((n) => n === 1);
      const dataCurvature = (v: tf.Tensor4D): tf.Tensor4D =>
        isLinear(operator) && perImageWeight
          ? (tf.mul(w, operator.normal(v)) as tf.Tensor4D)
          : operator.vjp(xPrev, tf.mul(w, jacobianVectorProduct(operator, xPrev, v)) as tf.Tensor4D);
      const rhs = tf.neg(g) as tf.Tensor4D;
      for (let attempt = 0; attempt <= maxRetries; attempt++) {
        const alpha = used;
        const apply = (v: tf.Tensor4D): tf.Tensor4D =>
          tf.tidy(() => {
            let hv = tf.add(dataCurvature(v), tf.mul(v, alpha));
            if (prior) hv = tf.add(hv, prior.hessianApprox(xPrev, v));
            return hv as tf.Tensor4D;
          });
        const cg = conjugateGradient(apply, rhs, { maxIter: options.cgIter ?? 20, tol: options.cgTol ?? 1e-6 });
        inner += cg.iterations;
        const trial = tf.tidy(() => {
          const moved = tf.add(xPrev, cg.solution) as tf.Tensor4D;
          return project ? project(moved) : moved;
        });
        cg.solution.dispose();
        const fTrial = problem.objective(trial);
        evaluations++;
        if (fTrial <= f + noiseTol * Math.abs(f)) {
          x = tf.keep(trial);
          f = fTrial;
          return true;
        }
        trial.dispose();
        used = used > 0 ? used * increase : 1; // an undamped step that failed retries with α = 1
      }
      return false;
    });
    if (!ok) {
      stop = { reason: `no damped step decreased the objective at iteration ${k} (damping up to ${used.toExponential(2)})`, converged: false };
      break;
    }
    damping = Math.max(used * decay, dampingMin);
    g.dispose();
    g = problem.gradient(x);
    const stepNorm = distance(x, xPrev);
    xPrev.dispose();
    recorder.record(
      { iteration: k, objective: f, step: 1, stepNorm, gradNorm: projectedGradientNorm(x, g, project), evaluations, damping: used, innerIterations: inner },
      x,
    );
    stop = recorder.stopReason(previousNorm);
  }
  g.dispose();
  return { x, history: recorder.history, converged: stop?.converged ?? false, reason: stop?.reason ?? `maxIter ${maxIter} reached` };
}
