/**
 * Classical solvers of `min_x f(x) = L(y, x) + φ(x)`, as functions
 * `(problem, x0, options, onIteration?) → { x, history, converged, reason }`:
 * projected gradient descent with Armijo backtracking, L-BFGS with a strong-Wolfe search, and
 * regularised Gauss–Newton / Levenberg–Marquardt with CG inner solves.
 * @example
 * import { createProblem, lbfgs } from './solvers/classical';
 * const problem = createProblem({ likelihood, y, prior });
 * const { x, history } = lbfgs(problem, x0, { maxIter: 50, truth });
 */
export * from './problem';
export * from './history';
export * from './line_search';
export * from './conjugate_gradient';
export * from './jacobian';
export * from './gradient_descent';
export * from './lbfgs';
export * from './gauss_newton';
