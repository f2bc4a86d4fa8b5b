/** Limited-memory BFGS with a strong-Wolfe line search (unconstrained). */
import { tf } from '../../engine/tf';
import { IterationCallback, Recorder, SolverOptions, SolverResult, SOLVER_DEFAULTS } from './history';
import { strongWolfe, WolfeOptions } from './line_search';
import { Problem } from '../../tasks/problem';
import { distance, dot, norm } from './vector';

/**
 * Options of {@link lbfgs}.
 * @example
 * lbfgs(problem, x0, { memory: 5, maxIter: 100, c1: 1e-4, c2: 0.9 });
 */
export interface LbfgsOptions extends SolverOptions, Omit<WolfeOptions, 'step0'> {
  /** Number of stored pairs `(s, y)` (default 10). */
  memory?: number;
  /** First trial step of the first iteration and after a memory reset (default `min(1, 1/‖∇f‖)`). */
  step0?: number;
  /**
   * Not supported: L-BFGS here is unconstrained (no L-BFGS-B). `true` throws; the problem's box is
   * ignored. Use {@link gradientDescent} or {@link gaussNewton} for projected iterations.
   */
  project?: boolean;
}

/**
 * L-BFGS (Nocedal & Wright, algorithm 7.5): `x_{k+1} = x_k + α_k d_k`, `d_k = −H_k ∇f(x_k)` from
 * the two-loop recursion over the last `memory` pairs `s_i = x_{i+1} − x_i`,
 * `y_i = ∇f(x_{i+1}) − ∇f(x_i)`, with `H⁰ = (sᵀy / yᵀy) I`, and `α_k` from a strong-Wolfe search
 * (`c₁ = 1e-4`, `c₂ = 0.9`, first trial 1). Pairs with `sᵀy ≤ 1e-10 ‖s‖‖y‖` are skipped (keeps
 * `H_k` positive definite); when the search fails the memory is cleared and a steepest-descent
 * step is tried before giving up.
 *
 * The batch is one vector (inner products run over all images), which is exact for the
 * separable objective but couples the images' curvature pairs; the problem's box is ignored
 * (unconstrained method).
 *
 * @param problem the objective `f = L + φ`
 * @param x0 the starting point `[b, h, w, c]` (not modified, not disposed)
 * @param options memory, iterations, tolerances, Wolfe constants, truth for PSNR/SSIM
 * @param onIteration called with every record (iteration 0 = the start); return false to stop
 * @returns the last iterate (caller owns it) and the history
 * @example
 * const { x, history, reason } = lbfgs(problem, x0, { memory: 10, maxIter: 100 });
 */
export function lbfgs(problem: Problem, x0: tf.Tensor4D, options: LbfgsOptions = {}, onIteration?: IterationCallback): SolverResult {
  if (options.project) {
    throw new Error('lbfgs: projection is not supported (this L-BFGS is unconstrained); use gradientDescent or gaussNewton with project: true');
  }
  const memory = options.memory ?? 10;
  if (!(Number.isInteger(memory) && memory >= 1)) throw new Error(`lbfgs: memory must be an integer >= 1, got ${memory}`);
  const maxIter = options.maxIter ?? SOLVER_DEFAULTS.maxIter;
  const recorder = new Recorder('lbfgs', problem, x0, options, onIteration);

  let x = tf.clone(x0) as tf.Tensor4D;
  let f = problem.objective(x);
  let g = problem.gradient(x);
  let evaluations = 1;
  const pairs: Array<{ s: tf.Tensor4D; y: tf.Tensor4D; rho: number }> = [];
  const clearMemory = () => {
    for (const p of pairs) tf.dispose([p.s, p.y]);
    pairs.length = 0;
  };
  recorder.record({ iteration: 0, objective: f, step: 0, stepNorm: 0, gradNorm: norm(g), evaluations }, x);
  let stop = recorder.stopReason(norm(x));

  for (let k = 1; !stop && k <= maxIter; k++) {
    const xPrev = x;
    const previousNorm = norm(xPrev);
    let alpha = 0;
    const ok = tf.tidy(() => {
      for (let attempt = 0; attempt < 2; attempt++) {
        const d = pairs.length > 0 ? twoLoop(g, pairs) : (tf.neg(g) as tf.Tensor4D);
        let descent = dot(g, d);
        let dir = d;
        if (!(descent < 0)) {
          clearMemory();
          dir = tf.neg(g) as tf.Tensor4D;
          descent = dot(g, dir);
          if (!(descent < 0)) return false; // ∇f = 0
        }
        const step0 = pairs.length > 0 ? 1 : (options.step0 ?? Math.min(1, 1 / Math.max(norm(g), 1e-30)));
        const ls = strongWolfe(problem, xPrev, f, g, dir, { ...options, step0 });
        evaluations += ls.evaluations;
        if (ls.accepted && ls.x && ls.g) {
          const s = tf.sub(ls.x, xPrev) as tf.Tensor4D;
          const yv = tf.sub(ls.g, g) as tf.Tensor4D;
          const sy = dot(s, yv);
          if (sy > 1e-10 * norm(s) * norm(yv)) {
            pairs.push({ s: tf.keep(s), y: tf.keep(yv), rho: 1 / sy });
            if (pairs.length > memory) {
              const old = pairs.shift()!;
              tf.dispose([old.s, old.y]);
            }
          }
          x = tf.keep(ls.x);
          g.dispose();
          g = tf.keep(ls.g);
          f = ls.f;
          alpha = ls.alpha;
          return true;
        }
        if (pairs.length === 0) return false;
        clearMemory(); // retry once with steepest descent
      }
      return false;
    });
    if (!ok) {
      stop = { reason: `line search failed at iteration ${k} (float32 precision or a non-descent direction)`, converged: false };
      break;
    }
    const stepNorm = distance(x, xPrev);
    xPrev.dispose();
    recorder.record({ iteration: k, objective: f, step: alpha, stepNorm, gradNorm: norm(g), evaluations }, x);
    stop = recorder.stopReason(previousNorm);
  }
  clearMemory();
  g.dispose();
  return { x, history: recorder.history, converged: stop?.converged ?? false, reason: stop?.reason ?? `maxIter ${maxIter} reached` };
}

/**
 * The two-loop recursion: `−H g` for the L-BFGS inverse-Hessian approximation built from `pairs`
 * (oldest first), with `H⁰ = γ I`, `γ = sᵀy / yᵀy` of the newest pair.
 */
function twoLoop(g: tf.Tensor4D, pairs: ReadonlyArray<{ s: tf.Tensor4D; y: tf.Tensor4D; rho: number }>): tf.Tensor4D {
  return tf.tidy(() => {
    let q: tf.Tensor = g;
    const alphas: tf.Tensor[] = [];
    for (let i = pairs.length - 1; i >= 0; i--) {
      const a = tf.mul(tf.sum(tf.mul(pairs[i].s, q)), pairs[i].rho); // scalar
      alphas[i] = a;
      q = tf.sub(q, tf.mul(a, pairs[i].y));
    }
    const newest = pairs[pairs.length - 1];
    const gamma = tf.div(tf.sum(tf.mul(newest.s, newest.y)), tf.sum(tf.square(newest.y))); // sᵀy / yᵀy
    let r: tf.Tensor = tf.mul(gamma, q);
    for (let i = 0; i < pairs.length; i++) {
      const b = tf.mul(tf.sum(tf.mul(pairs[i].y, r)), pairs[i].rho);
      r = tf.add(r, tf.mul(tf.sub(alphas[i], b), pairs[i].s));
    }
    return tf.neg(r) as tf.Tensor4D;
  });
}
