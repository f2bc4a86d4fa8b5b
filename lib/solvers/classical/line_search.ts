/**
 * Line searches along `x(α) = P(x + α d)`: Armijo backtracking (with an optional projection) and
 * a strong-Wolfe search (bracketing and zoom, Nocedal & Wright algorithms 3.5–3.6).
 *
 * Float32 guard: near a minimiser, `f(x(α)) − f(x)` drowns in float32 rounding (about 1e-7·|f|),
 * and a plain Armijo test then rejects good steps, stalling the solver at `‖x − x*‖ ~ sqrt(ε)`.
 * Both searches therefore also accept Hager & Zhang's *approximate* Armijo condition
 * `f(x(α)) ≤ f(x) + noiseTol·|f(x)|` and `∇f(x(α))ᵀs ≤ (2c − 1)·∇f(x)ᵀs` (`s = x(α) − x`),
 * which is exact for quadratics and uses gradients, which stay accurate. Set `noiseTol = 0`
 * for the plain test (the objective then decreases strictly).
 */
import { tf } from '../../engine/tf';
import { Problem } from '../../tasks/problem';
import { dot } from './vector';

/**
 * One accepted (or failed) line search.
 * @example
 * const ls = armijoBacktracking(problem, x, f, g, d);
 * if (ls.accepted) console.log(ls.alpha, ls.f);
 */
export interface LineSearchResult {
  /** True when a step satisfying the conditions was found. */
  accepted: boolean;
  /** The accepted step size (the last tried one on failure). */
  alpha: number;
  /** The new point (undefined on failure); the caller owns it. */
  x?: tf.Tensor4D;
  /** `f(x)` at the new point (the last tried value on failure). */
  f: number;
  /** `∇f` at the new point when the search computed it (the caller owns it). */
  g?: tf.Tensor4D;
  /** Objective evaluations spent. */
  evaluations: number;
  /** True when the step was accepted by the approximate (float32-noise) condition. */
  approximate: boolean;
}

/**
 * Options of {@link armijoBacktracking}.
 * @example
 * armijoBacktracking(problem, x, f, g, d, { step0: 1, c: 1e-4, backtrack: 0.5, noiseTol: 0 });
 */
export interface ArmijoOptions {
  /** First trial step (default 1). */
  step0?: number;
  /** Sufficient-decrease constant `c ∈ (0, 1)` (default 1e-4). */
  c?: number;
  /** Backtracking factor `ρ ∈ (0, 1)`: `α ← ρ α` (default 0.5). */
  backtrack?: number;
  /** Maximum number of trials (default 40). */
  maxTrials?: number;
  /** Relative float32-noise level of the approximate condition (default 1e-6; 0 disables). */
  noiseTol?: number;
}

/**
 * Armijo backtracking along the projection arc `x(α) = P(x + α d)` (Bertsekas): the first of
 * `α = step0, ρ·step0, ρ²·step0, …` with
 * `f(x(α)) ≤ f(x) + c · ∇f(x)ᵀ(x(α) − x)`
 * (for `P = I` this is the usual `f(x + αd) ≤ f(x) + c α ∇f(x)ᵀd`), or the approximate condition
 * of the module notes.
 * @param problem the objective
 * @param x the current point
 * @param f0 `f(x)`
 * @param g0 `∇f(x)`
 * @param d a descent direction (e.g. `−∇f(x)`)
 * @param options constants, see {@link ArmijoOptions}
 * @param project the projection `P` (identity when undefined); must return a new tensor
 * @example
 * const d = tf.neg(g);
 * const ls = armijoBacktracking(problem, x, f, g, d, { step0: 1 });
 * if (ls.accepted) { x.dispose(); x = ls.x!; }
 */
export function armijoBacktracking(
  problem: Problem,
  x: tf.Tensor4D,
  f0: number,
  g0: tf.Tensor4D,
  d: tf.Tensor4D,
  options: ArmijoOptions = {},
  project?: (x: tf.Tensor4D) => tf.Tensor4D,
): LineSearchResult {
  const c = options.c ?? 1e-4;
  const rho = options.backtrack ?? 0.5;
  const maxTrials = options.maxTrials ?? 40;
  const noiseTol = options.noiseTol ?? 1e-6;
  if (!(c > 0 && c < 1)) throw new Error(`armijo: c must be in (0, 1), got ${c}`);
  if (!(rho > 0 && rho < 1)) throw new Error(`armijo: backtrack factor must be in (0, 1), got ${rho}`);
  let alpha = options.step0 ?? 1;
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new Error(`armijo: step0 must be finite and > 0, got ${alpha}`);
  let f = NaN;
  for (let trial = 1; trial <= maxTrials; trial++, alpha *= rho) {
    const a = alpha;
    const xa = tf.tidy(() => {
      const moved = tf.add(x, tf.mul(d, a)) as tf.Tensor4D;
      return project ? project(moved) : moved;
    });
    const s = tf.sub(xa, x);
    const decrease = dot(g0, s); // ∇f(x)ᵀ s < 0 for a descent step
    f = problem.objective(xa);
    if (decrease < 0 && f <= f0 + c * decrease) {
      s.dispose();
      return { accepted: true, alpha: a, x: xa, f, evaluations: trial, approximate: false };
    }
    if (decrease < 0 && noiseTol > 0 && f <= f0 + noiseTol * Math.abs(f0)) {
      const g = problem.gradient(xa);
      if (dot(g, s) <= (2 * c - 1) * decrease) {
        s.dispose();
        return { accepted: true, alpha: a, x: xa, f, g, evaluations: trial, approximate: true };
      }
      g.dispose();
    }
    s.dispose();
    xa.dispose();
  }
  return { accepted: false, alpha: alpha / rho, f, evaluations: maxTrials, approximate: false };
}

/**
 * Options of {@link strongWolfe}.
 * @example
 * strongWolfe(problem, x, f, g, d, { c1: 1e-4, c2: 0.9, maxEvaluations: 20 });
 */
export interface WolfeOptions {
  /** First trial step (default 1). */
  step0?: number;
  /** Sufficient-decrease constant `c₁` (default 1e-4). */
  c1?: number;
  /** Curvature constant `c₂ ∈ (c₁, 1)` (default 0.9, the usual value for quasi-Newton methods). */
  c2?: number;
  /** Maximum number of evaluations (default 25). */
  maxEvaluations?: number;
  /** Largest step tried while bracketing (default 1e10). */
  alphaMax?: number;
  /** Relative float32-noise level of the approximate condition (default 1e-6; 0 disables). */
  noiseTol?: number;
}

/** A point on the line: `x(α) = x + α d` with `f`, `∇f` and `φ'(α) = ∇f(x(α))ᵀ d`. */
interface Point {
  alpha: number;
  f: number;
  dphi: number;
  x?: tf.Tensor4D;
  g?: tf.Tensor4D;
}

function release(p: Point | undefined, keep?: Point): void {
  if (p && p !== keep && p.x) {
    p.x.dispose();
    p.g?.dispose();
    p.x = undefined;
    p.g = undefined;
  }
}

/**
 * A strong-Wolfe line search along `x + α d` (no projection): finds `α` with
 * `φ(α) ≤ φ(0) + c₁ α φ'(0)` (or the approximate condition of the module notes) and
 * `|φ'(α)| ≤ c₂ |φ'(0)|`, where `φ(α) = f(x + α d)`, by bracketing with step doubling and a
 * zoom with safeguarded cubic interpolation (Nocedal & Wright, algorithms 3.5 and 3.6). If the
 * evaluations run out, the best point that satisfies sufficient decrease is returned (still
 * `accepted`).
 * @param problem the objective
 * @param x the current point
 * @param f0 `f(x)`
 * @param g0 `∇f(x)`
 * @param d a descent direction (`∇f(x)ᵀd < 0`)
 * @param options constants, see {@link WolfeOptions}
 * @returns the step; on success `x` and `g` are the new point and its gradient (caller owns them)
 * @example
 * const ls = strongWolfe(problem, x, f, g, d, { step0: 1 });
 */
export function strongWolfe(
  problem: Problem,
  x: tf.Tensor4D,
  f0: number,
  g0: tf.Tensor4D,
  d: tf.Tensor4D,
  options: WolfeOptions = {},
): LineSearchResult {
  const c1 = options.c1 ?? 1e-4;
  const c2 = options.c2 ?? 0.9;
  const maxEvaluations = options.maxEvaluations ?? 25;
  const alphaMax = options.alphaMax ?? 1e10;
  const noiseTol = options.noiseTol ?? 1e-6;
  if (!(c1 > 0 && c1 < c2 && c2 < 1)) throw new Error(`strong Wolfe: need 0 < c1 < c2 < 1, got c1=${c1}, c2=${c2}`);
  const dphi0 = dot(g0, d);
  if (!(dphi0 < 0)) throw new Error(`strong Wolfe: d is not a descent direction (∇fᵀd = ${dphi0})`);
  let evaluations = 0;
  const evaluate = (alpha: number): Point => {
    evaluations++;
    const xa = tf.tidy(() => tf.add(x, tf.mul(d, alpha)) as tf.Tensor4D);
    const f = problem.objective(xa);
    const g = problem.gradient(xa);
    return { alpha, f, dphi: dot(g, d), x: xa, g };
  };
  const sufficient = (p: Point): boolean =>
    p.f <= f0 + c1 * p.alpha * dphi0 || (noiseTol > 0 && p.f <= f0 + noiseTol * Math.abs(f0) && p.dphi <= (2 * c1 - 1) * dphi0);
  const curvature = (p: Point): boolean => Math.abs(p.dphi) <= -c2 * dphi0;
  const done = (p: Point, approximateFallback = false): LineSearchResult => ({
    accepted: true,
    alpha: p.alpha,
    x: p.x,
    g: p.g,
    f: p.f,
    evaluations,
    approximate: approximateFallback || !(p.f <= f0 + c1 * p.alpha * dphi0),
  });
  const fail = (last: Point): LineSearchResult => ({ accepted: false, alpha: last.alpha, f: last.f, evaluations, approximate: false });

  const zoom = (lo: Point, hi: Point): LineSearchResult => {
    while (evaluations < maxEvaluations) {
      const alpha = cubicMinimizer(lo, hi);
      const p = evaluate(alpha);
      if (!sufficient(p) || p.f > lo.f + noiseTol * Math.abs(f0)) {
        release(hi, lo);
        hi = p;
      } else {
        if (curvature(p)) {
          release(lo);
          release(hi);
          return done(p);
        }
        if (p.dphi * (hi.alpha - lo.alpha) >= 0) {
          release(hi);
          hi = lo;
        } else {
          release(lo, hi);
        }
        lo = p;
      }
      if (Math.abs(hi.alpha - lo.alpha) <= 1e-12 * Math.max(lo.alpha, 1e-12)) break;
    }
    release(hi, lo);
    return lo.x ? done(lo, true) : fail(hi);
  };

  let prev: Point = { alpha: 0, f: f0, dphi: dphi0 };
  let alpha = options.step0 ?? 1;
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new Error(`strong Wolfe: step0 must be finite and > 0, got ${alpha}`);
  for (let i = 1; evaluations < maxEvaluations; i++) {
    const p = evaluate(alpha);
    if (!sufficient(p) || (i > 1 && p.f >= prev.f + noiseTol * Math.abs(f0))) return zoom(prev, p);
    if (curvature(p)) {
      release(prev);
      return done(p);
    }
    if (p.dphi >= 0) return zoom(p, prev);
    release(prev);
    prev = p;
    if (alpha >= alphaMax) break;
    alpha = Math.min(2 * alpha, alphaMax);
  }
  return prev.x ? done(prev, true) : fail(prev);
}

/**
 * The minimiser of the cubic through `(a, f_a, f'_a)` and `(b, f_b, f'_b)` (Nocedal & Wright
 * eq. 3.59), safeguarded to the middle 80 % of the interval; bisection when the cubic has none.
 */
function cubicMinimizer(a: Point, b: Point): number {
  const lo = Math.min(a.alpha, b.alpha);
  const hi = Math.max(a.alpha, b.alpha);
  const width = hi - lo;
  const d1 = a.dphi + b.dphi - (3 * (a.f - b.f)) / (a.alpha - b.alpha);
  const disc = d1 * d1 - a.dphi * b.dphi;
  let t = NaN;
  if (disc >= 0 && Number.isFinite(disc)) {
    const d2 = Math.sign(b.alpha - a.alpha) * Math.sqrt(disc);
    t = b.alpha - (b.alpha - a.alpha) * ((b.dphi + d2 - d1) / (b.dphi - a.dphi + 2 * d2));
  }
  if (!Number.isFinite(t) || t < lo + 0.1 * width || t > hi - 0.1 * width) t = lo + 0.5 * width;
  return t;
}
