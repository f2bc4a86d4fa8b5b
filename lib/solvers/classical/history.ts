/**
 * What classical solvers report: one record per iteration (objective, step, norms, PSNR/SSIM
 * against a known truth, time), the result type, the options they share, and the recorder that
 * fills the history and calls the user's callback.
 */
import { tf } from '../../engine/tf';
import { psnr } from '../../metrics/psnr';
import { gaussianKernel1d, ssim } from '../../metrics/ssim';
import { formatShape, sameShape } from '../../operators/linear';
import { Problem } from '../../tasks/problem';

/**
 * One iteration of a classical solver. Iteration 0 describes the starting point.
 * @example
 * const { history } = lbfgs(problem, x0, { truth });
 * console.table(history.map((r) => ({ k: r.iteration, f: r.objective, psnr: r.psnr })));
 */
export interface IterationRecord {
  /** 0 for the starting point, then 1, 2, … */
  iteration: number;
  /** `f(x_k)` (summed over the batch). */
  objective: number;
  /** The accepted step size `α_k` (0 at iteration 0; 1 for a full Gauss–Newton step). */
  step: number;
  /** `‖x_k − x_{k−1}‖` over the batch (0 at iteration 0). */
  stepNorm: number;
  /** `‖∇f(x_k)‖`, or the projected-gradient norm `‖x_k − P(x_k − ∇f(x_k))‖` when projecting. */
  gradNorm: number;
  /** Objective evaluations so far (line-search trials included). */
  evaluations: number;
  /** Milliseconds since the solver started. */
  elapsedMs: number;
  /** Mean PSNR in dB against `truth` (only when `truth` is given). */
  psnr?: number;
  /** Mean SSIM against `truth` (only when `truth` is given and the images are at least 11×11). */
  ssim?: number;
  /** Gauss–Newton: the damping `α_k` used for this step. */
  damping?: number;
  /** Gauss–Newton: conjugate-gradient iterations of this step. */
  innerIterations?: number;
}

/**
 * What a classical solver returns.
 * @example
 * const { x, history, converged, reason } = gradientDescent(problem, x0);
 * if (!converged) console.log(reason);
 * x.dispose();
 */
export interface SolverResult {
  /** The last iterate, `[b, h, w, c]`; the caller owns (and disposes) it. */
  x: tf.Tensor4D;
  /** One record per iteration, iteration 0 first. */
  history: IterationRecord[];
  /** True when a tolerance was met (not when `maxIter` ran out or a line search failed). */
  converged: boolean;
  /** Why the solver stopped, in words. */
  reason: string;
}

/**
 * Called after every iteration (and once for the starting point) with the record and the current
 * iterate. `x` is only valid during the call (copy it with `tf.clone` to keep it). Return `false`
 * to stop the solver.
 * @example
 * gradientDescent(problem, x0, {}, (rec) => {
 *   console.log(rec.iteration, rec.objective);
 *   return rec.elapsedMs < 5000; // stop after 5 s
 * });
 */
export type IterationCallback = (record: IterationRecord, x: tf.Tensor4D) => void | boolean;

/**
 * Options every classical solver takes.
 * @example
 * lbfgs(problem, x0, { maxIter: 50, tol: 1e-6, gradTol: 1e-5, truth, dataRange: 1 });
 */
export interface SolverOptions {
  /** Maximum number of iterations (default 100). */
  maxIter?: number;
  /** Stop when `‖x_k − x_{k−1}‖ ≤ tol · max(‖x_{k−1}‖, 1)` (default 1e-6; 0 disables). */
  tol?: number;
  /** Stop when the (projected) gradient norm is `≤ gradTol` (default 0: disabled). */
  gradTol?: number;
  /**
   * Stop when the last iteration lowered the objective by at most `fTol · max(|f_{k−1}|, |f_k|, 1)`
   * (a relative-decrease rule, as L-BFGS-B's `factr`; default 0: disabled). In float32 the objective
   * carries a relative rounding error of about 1e-7, so a decrease below ~1e-6 of it is noise: past
   * that point a line search spends its evaluations on no progress.
   */
  fTol?: number;
  /** The ground truth, `[b, h, w, c]`: adds PSNR and SSIM to every record. */
  truth?: tf.Tensor4D;
  /** Data range of PSNR/SSIM (default 1, for images in [0, 1]). */
  dataRange?: number;
}

/**
 * The defaults of {@link SolverOptions}.
 * @example
 * SOLVER_DEFAULTS.maxIter; // 100
 */
export const SOLVER_DEFAULTS = { maxIter: 100, tol: 1e-6, gradTol: 0, fTol: 0, dataRange: 1 } as const;

/**
 * Fills a solver's history: times from its construction, adds PSNR/SSIM when `truth` is set,
 * calls the callback, and tests the shared stopping rules.
 * @example
 * const rec = new Recorder('gd', problem, x0, options, onIteration);
 * rec.record({ iteration: 0, objective: f0, step: 0, stepNorm: 0, gradNorm: g0, evaluations: 1 }, x0);
 */
export class Recorder {
  readonly history: IterationRecord[] = [];
  private readonly start = performance.now();
  private readonly ssimOk: boolean;
  private stopped = false;

  /**
   * @param solver the solver's name (for error messages)
   * @param problem the problem (validates `x0` against it)
   * @param x0 the starting point
   * @param options the shared options
   * @param onIteration the user's callback
   */
  constructor(
    solver: string,
    problem: Problem,
    x0: tf.Tensor4D,
    private readonly options: SolverOptions,
    private readonly onIteration?: IterationCallback,
  ) {
    problem.checkInput(x0, `${solver}: x0`);
    for (const key of ['tol', 'gradTol', 'fTol'] as const) {
      const v = options[key];
      if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new Error(`${solver}: ${key} must be a finite number >= 0, got ${v}`);
    }
    const t = options.truth;
    if (t && !sameShape(t.shape, x0.shape)) {
      throw new Error(`${solver}: truth has shape ${formatShape(t.shape)} but x0 has shape ${formatShape(x0.shape)}`);
    }
    const win = gaussianKernel1d(1.5, 3.5).length;
    this.ssimOk = x0.shape[1] >= win && x0.shape[2] >= win;
  }

  /** Milliseconds since the solver started. */
  elapsed(): number {
    return performance.now() - this.start;
  }

  /**
   * Completes and stores a record, then calls the callback.
   * @returns false when the callback asked to stop
   */
  record(partial: Omit<IterationRecord, 'elapsedMs' | 'psnr' | 'ssim'>, x: tf.Tensor4D): boolean {
    const rec: IterationRecord = { ...partial, elapsedMs: this.elapsed() };
    const truth = this.options.truth;
    if (truth) {
      const dataRange = this.options.dataRange ?? SOLVER_DEFAULTS.dataRange;
      rec.psnr = psnr(x, truth, { dataRange });
      if (this.ssimOk) rec.ssim = ssim(x, truth, { dataRange });
    }
    this.history.push(rec);
    if (this.onIteration && this.onIteration(rec, x) === false) this.stopped = true;
    return !this.stopped;
  }

  /**
   * The shared stopping rules on the last record: the callback, `gradTol`, `tol` and `fTol`.
   * @param previousNorm `‖x_{k−1}‖`
   * @returns the reason to stop and whether it counts as convergence, or undefined to go on
   */
  stopReason(previousNorm: number): { reason: string; converged: boolean } | undefined {
    const rec = this.history[this.history.length - 1];
    const tol = this.options.tol ?? SOLVER_DEFAULTS.tol;
    const gradTol = this.options.gradTol ?? SOLVER_DEFAULTS.gradTol;
    if (!Number.isFinite(rec.objective)) return { reason: `objective is ${rec.objective} at iteration ${rec.iteration}`, converged: false };
    if (this.stopped) return { reason: 'stopped by the callback', converged: false };
    if (rec.gradNorm <= gradTol) return { reason: `gradient norm ${rec.gradNorm.toExponential(2)} <= gradTol ${gradTol}`, converged: true };
    if (rec.iteration > 0 && rec.stepNorm <= tol * Math.max(previousNorm, 1)) {
      return { reason: `relative step ${(rec.stepNorm / Math.max(previousNorm, 1)).toExponential(2)} <= tol ${tol}`, converged: true };
    }
    const fTol = this.options.fTol ?? SOLVER_DEFAULTS.fTol;
    const prev = this.history[this.history.length - 2];
    if (fTol > 0 && prev && rec.iteration > 0) {
      const decrease = (prev.objective - rec.objective) / Math.max(Math.abs(prev.objective), Math.abs(rec.objective), 1);
      if (decrease <= fTol) return { reason: `relative decrease ${decrease.toExponential(2)} <= fTol ${fTol}`, converged: true };
    }
    return undefined;
  }
}
