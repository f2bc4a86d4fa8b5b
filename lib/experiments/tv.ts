/**
 * Total-variation restoration with the classical solvers: one call that builds the Gaussian
 * likelihood, the TV prior and the problem, and runs gradient descent, L-BFGS or Gauss–Newton.
 */
import { tf } from '../engine/tf';
import { gaussianLikelihood } from '../likelihoods/gaussian';
import { Likelihood } from '../likelihoods/types';
import { sameShape } from '../operators/linear';
import { Operator } from '../operators/types';
import { totalVariation } from '../priors/total_variation';
import { gaussNewton, GaussNewtonOptions } from '../solvers/classical/gauss_newton';
import { gradientDescent, GradientDescentOptions } from '../solvers/classical/gradient_descent';
import { IterationCallback, SolverResult } from '../solvers/classical/history';
import { lbfgs, LbfgsOptions } from '../solvers/classical/lbfgs';
import { createProblem } from '../tasks/problem';

/** The classical solvers by short name. */
export type ClassicalSolverName = 'gd' | 'lbfgs' | 'gauss-newton';

/**
 * Names of the solvers in tables and figures.
 * @example
 * SOLVER_LABELS.lbfgs; // 'L-BFGS'
 */
export const SOLVER_LABELS: Readonly<Record<ClassicalSolverName, string>> = {
  gd: 'gradient descent',
  lbfgs: 'L-BFGS',
  'gauss-newton': 'Gauss–Newton',
};

/** Extra options passed through to the chosen solver (its own option type). */
export type ClassicalSolverOptions = Partial<GradientDescentOptions & Omit<LbfgsOptions, 'project'> & GaussNewtonOptions>;

/**
 * Options of {@link tvRestore}.
 * @example
 * const opts: TvRestoreOptions = { operator: identity(), y, sigma: 25 / 255, lambda: 8, iterations: 20 };
 */
export interface TvRestoreOptions {
  /** The forward map `A` (not disposed). */
  operator: Operator;
  /** The measurement `y`, `[b, h', w', c']` (not disposed). */
  y: tf.Tensor4D;
  /** Noise standard deviation σ of the Gaussian likelihood, on the [0, 1] scale. */
  sigma: number;
  /** TV weight λ ≥ 0. */
  lambda: number;
  /** TV smoothing ε (default 1e-2, the library's default). */
  epsilon?: number;
  /** Which solver (default 'lbfgs'). */
  solver?: ClassicalSolverName;
  /** Maximum number of iterations (outer iterations for Gauss–Newton). */
  iterations: number;
  /** Starting point (not disposed); default `y` when `A` maps `y`'s shape to itself (denoising, deblurring). */
  x0?: tf.Tensor4D;
  /** Ground truth shaped like `x0`: adds PSNR/SSIM to every history record (costs a little per iteration). */
  truth?: tf.Tensor4D;
  /** Relative-step tolerance (default 1e-6, the solvers' default; 0 runs all iterations). */
  tol?: number;
  /** Solver-specific options (e.g. `{ cgIter: 10 }` for Gauss–Newton, `{ memory: 5 }` for L-BFGS). */
  solverOptions?: ClassicalSolverOptions;
  /** Called with every history record (iteration 0 = the start); return false to stop. */
  onIteration?: IterationCallback;
  /**
   * The data term (default the Gaussian likelihood of `operator` with `sigma`), e.g. the
   * Poisson–Gaussian likelihood of signal-dependent noise; its operator must be `operator`.
   */
  likelihood?: Likelihood;
}

/** Gauss–Newton's inner CG iterations when not given (fewer than the solver's default 20: cheaper outer steps). */
const DEFAULT_CG_ITER = 10;

/**
 * Restores `x` from `y = A(x) + n`, `n ~ N(0, σ²)`, by minimising the smoothed-TV objective
 *
 * `f(x) = ‖A x − y‖² / (2σ²) + λ Σ sqrt(|∇x|² + ε²)`
 *
 * with the chosen classical solver (unconstrained: no box, so all three solvers minimise the same
 * `f`). Every solver iteration runs in `tf.tidy`; nothing but the returned `x` stays allocated.
 * @param options operator, data, σ, λ, solver, iterations, start, truth
 * @returns the solver's result: the last iterate `x` (the caller disposes it) and its history
 * @example
 * const { x, history } = tvRestore({ operator: identity(), y, sigma: 25 / 255, lambda: 8, iterations: 20 });
 * x.dispose();
 */
export function tvRestore(options: TvRestoreOptions): SolverResult {
  const { operator, y, sigma, lambda, iterations } = options;
  const solver = options.solver ?? 'lbfgs';
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`tvRestore: iterations must be an integer >= 0, got ${iterations}`);
  if (!(SOLVER_LABELS as Record<string, string>)[solver]) {
    throw new Error(`tvRestore: unknown solver "${solver}" (use ${Object.keys(SOLVER_LABELS).join(', ')})`);
  }
  let x0 = options.x0;
  if (!x0) {
    let maps = false;
    try {
      maps = sameShape(operator.outputShape(y.shape), y.shape);
    } catch {
      maps = false;
    }
    if (!maps) throw new Error(`tvRestore: A = ${operator.name} does not map y's shape [${y.shape.join(', ')}] to itself; give x0 (e.g. a bicubic upsampling)`);
    x0 = y;
  }
  if (options.likelihood && options.likelihood.operator !== operator) throw new Error(`tvRestore: the likelihood's operator ${options.likelihood.operator.name} is not A = ${operator.name}`);
  const likelihood = options.likelihood ?? gaussianLikelihood(operator, { sigma });
  const prior = totalVariation({ lambda, epsilon: options.epsilon });
  const problem = createProblem({ likelihood, y, prior });
  const common = { maxIter: iterations, truth: options.truth, ...(options.tol !== undefined ? { tol: options.tol } : {}) };
  const extra = options.solverOptions ?? {};
  if (solver === 'gd') return gradientDescent(problem, x0, { ...extra, ...common }, options.onIteration);
  if (solver === 'lbfgs') return lbfgs(problem, x0, { ...extra, ...common }, options.onIteration);
  return gaussNewton(problem, x0, { cgIter: DEFAULT_CG_ITER, ...extra, ...common }, options.onIteration);
}
