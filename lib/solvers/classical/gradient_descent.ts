/** (Projected) gradient descent with Armijo backtracking. */
import { tf } from '../../engine/tf';
import { IterationCallback, Recorder, SolverOptions, SolverResult, SOLVER_DEFAULTS } from './history';
import { armijoBacktracking, ArmijoOptions } from './line_search';
import { Problem } from '../../tasks/problem';
import { distance, norm } from './vector';

/**
 * Options of {@link gradientDescent}.
 * @example
 * gradientDescent(problem, x0, { maxIter: 200, step0: 1, c: 1e-4, backtrack: 0.5, project: true });
 */
export interface GradientDescentOptions extends SolverOptions, Omit<ArmijoOptions, 'step0'> {
  /** First trial step of the first iteration (default 1). */
  step0?: number;
  /**
   * The first trial step of iteration k+1 is `stepGrowth · α_k` (default 2, so the step adapts
   * to the problem's scale); 0 restarts every iteration at `step0` (textbook Armijo).
   */
  stepGrowth?: number;
  /**
   * Project every iterate onto the problem's box, or onto [0, 1] when the problem has none
   * (default: true exactly when the problem has a box).
   */
  project?: boolean;
}

/**
 * Gradient descent with Armijo backtracking, optionally projected onto a box:
 *
 * `x_{k+1} = P(x_k − α_k ∇f(x_k))`, with `α_k` the first of `α⁰, ρα⁰, ρ²α⁰, …` such that
 * `f(x_{k+1}) ≤ f(x_k) + c ∇f(x_k)ᵀ(x_{k+1} − x_k)` (Armijo along the projection arc), so the
 * objective decreases monotonically (up to the float32 guard of `line_search.ts`).
 * The whole batch shares one step size (the objective is the sum over images). When projecting,
 * the start is projected too (`x_0 = P(x0)`).
 * Stops at `maxIter`, on `tol`/`gradTol` (see {@link SolverOptions}), when the callback returns
 * false, or when no step decreases the objective (float32 precision reached).
 *
 * @param problem the objective `f = L + φ` (and box)
 * @param x0 the starting point `[b, h, w, c]` (not modified, not disposed)
 * @param options iterations, tolerances, line-search constants, projection, truth for PSNR/SSIM
 * @param onIteration called with every record (iteration 0 = the start); return false to stop
 * @returns the last iterate (caller owns it) and the history
 * @example
 * const { x, history } = gradientDescent(problem, y, { maxIter: 200, project: true, truth });
 * console.log(history.at(-1)?.psnr);
 * x.dispose();
 */
export function gradientDescent(
  problem: Problem,
  x0: tf.Tensor4D,
  options: GradientDescentOptions = {},
  onIteration?: IterationCallback,
): SolverResult {
  const maxIter = options.maxIter ?? SOLVER_DEFAULTS.maxIter;
  const growth = options.stepGrowth ?? 2;
  const projecting = options.project ?? problem.box !== undefined;
  const project = projecting ? (t: tf.Tensor4D) => problem.project(t, [0, 1]) : undefined;
  const recorder = new Recorder('gradientDescent', problem, x0, options, onIteration);

  let x = project ? project(x0) : (tf.clone(x0) as tf.Tensor4D);
  let f = problem.objective(x);
  let g = problem.gradient(x);
  let evaluations = 1;
  const gradNorm = (): number => projectedGradientNorm(x, g, project);
  recorder.record({ iteration: 0, objective: f, step: 0, stepNorm: 0, gradNorm: gradNorm(), evaluations }, x);
  let stop = recorder.stopReason(norm(x));
  let step = options.step0 ?? 1;
  let alpha = 0;

  for (let k = 1; !stop && k <= maxIter; k++) {
    const xPrev = x;
    const previousNorm = norm(xPrev);
    const ok = tf.tidy(() => {
      const d = tf.neg(g) as tf.Tensor4D;
      const ls = armijoBacktracking(problem, xPrev, f, g, d, { ...options, step0: step }, project);
      evaluations += ls.evaluations;
      if (!ls.accepted || !ls.x) return false;
      x = tf.keep(ls.x);
      f = ls.f;
      const gNew = ls.g ?? problem.gradient(x);
      g.dispose();
      g = tf.keep(gNew);
      alpha = ls.alpha;
      step = growth > 0 ? alpha * growth : (options.step0 ?? 1);
      return true;
    });
    if (!ok) {
      stop = { reason: `no step decreased the objective at iteration ${k} (float32 precision or a non-descent direction)`, converged: false };
      break;
    }
    const stepNorm = distance(x, xPrev);
    xPrev.dispose();
    recorder.record({ iteration: k, objective: f, step: alpha, stepNorm, gradNorm: gradNorm(), evaluations }, x);
    stop = recorder.stopReason(previousNorm);
  }
  g.dispose();
  return { x, history: recorder.history, converged: stop?.converged ?? false, reason: stop?.reason ?? `maxIter ${maxIter} reached` };
}

/**
 * The gradient norm that measures stationarity: `‖∇f(x)‖` without a projection, and the
 * projected-gradient norm `‖x − P(x − ∇f(x))‖` with one (0 exactly at box-constrained stationary
 * points).
 * @param x the point
 * @param g `∇f(x)`
 * @param project the projection `P`, or undefined
 * @example
 * projectedGradientNorm(x, g, (t) => tf.clipByValue(t, 0, 1));
 */
export function projectedGradientNorm(x: tf.Tensor4D, g: tf.Tensor4D, project?: (t: tf.Tensor4D) => tf.Tensor4D): number {
  if (!project) return norm(g);
  const p = tf.tidy(() => project(tf.sub(x, g) as tf.Tensor4D));
  const v = distance(x, p);
  p.dispose();
  return v;
}
