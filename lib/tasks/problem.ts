/**
 * A variational restoration problem: minimise `f(x) = L(y, x) + φ(x)` over images `x`, optionally
 * subject to a box constraint `lo ≤ x ≤ hi`.
 */
import { tf } from '../engine/tf';
import { checkLikelihoodMeasurement } from '../likelihoods/shapes';
import { Likelihood } from '../likelihoods/types';
import { assertNhwc, formatShape } from '../operators/linear';
import { Operator } from '../operators/types';
import { Prior } from '../priors/types';

/**
 * What {@link createProblem} needs.
 * @example
 * const spec: ProblemSpec = { likelihood: gaussianLikelihood(A, { sigma: 0.01 }), y, box: [0, 1] };
 */
export interface ProblemSpec {
  /** The data term `L(y, x)`; it carries the forward operator `A`. */
  likelihood: Likelihood;
  /** The measurement `y`, `[b, h', w', c']`. Not owned: the caller disposes it after solving. */
  y: tf.Tensor4D;
  /** An optional regulariser `φ`. */
  prior?: Prior;
  /** An optional box `[lo, hi]` (e.g. `[0, 1]`) for the solvers' projection `P(x) = clip(x, lo, hi)`. */
  box?: readonly [number, number];
}

/**
 * The objective `f(x) = L(y, x) + φ(x)` with its gradient `∇f = ∇ₓL + ∇φ`, the projection onto
 * the box, and the pieces solvers need. Values are sums over the batch (the images of a batch are
 * independent problems solved jointly).
 * @example
 * const problem: Problem = createProblem({ likelihood, y, prior });
 * const f = problem.objective(x);  // number
 * const g = problem.gradient(x);   // [b, h, w, c]
 */
export interface Problem {
  readonly likelihood: Likelihood;
  /** The forward operator, `likelihood.operator` (one source of truth). */
  readonly operator: Operator;
  readonly y: tf.Tensor4D;
  readonly prior?: Prior;
  readonly box?: readonly [number, number];
  /** `f(x)` as a scalar tensor. */
  objectiveTensor(x: tf.Tensor4D): tf.Scalar;
  /** `f(x)` read back as a number. */
  objective(x: tf.Tensor4D): number;
  /** `f(x_n)` for each image, `[b]`. */
  objectivePerImage(x: tf.Tensor4D): tf.Tensor1D;
  /** `∇f(x)`, `[b, h, w, c]`. */
  gradient(x: tf.Tensor4D): tf.Tensor4D;
  /** `clip(x, lo, hi)` onto `box`, or onto `fallback` when the problem has none (a clone if neither). */
  project(x: tf.Tensor4D, fallback?: readonly [number, number]): tf.Tensor4D;
  /** Throws (naming the shapes) unless `x` is a valid input for `A` with `A(x)` shaped like `y`. */
  checkInput(x: tf.Tensor, role?: string): void;
}

/**
 * Builds a {@link Problem}:
 * `f(x) = L(y, x) + φ(x)`, `∇f(x) = ∇ₓL(y, x) + ∇φ(x)` (`φ = 0` without a prior).
 * @param spec the likelihood (with its operator), the data `y`, and optionally a prior and a box
 * @example
 * const problem = createProblem({
 *   likelihood: gaussianLikelihood(blur, { sigma: 0.01 }),
 *   y, prior: totalVariation({ lambda: 1e-3 }), box: [0, 1],
 * });
 * const { x, history } = gradientDescent(problem, y, { maxIter: 50 });
 */
export function createProblem(spec: ProblemSpec): Problem {
  const { likelihood, y, prior, box } = spec;
  assertNhwc('problem', 'y', y.shape);
  if (box && !(box[0] <= box[1])) throw new Error(`problem: box [${box[0]}, ${box[1]}] needs lo <= hi`);
  const problem: Problem = {
    likelihood,
    operator: likelihood.operator,
    y,
    prior,
    box,
    checkInput(x, role = 'x') {
      try {
        checkLikelihoodMeasurement('problem', likelihood, x, y);
      } catch (err) {
        throw new Error(`${(err as Error).message} (${role} has shape ${formatShape(x.shape)})`);
      }
    },
    objectivePerImage(x) {
      return tf.tidy(() => {
        const data = likelihood.valuePerImage(x, y);
        return (prior ? tf.add(data, prior.valuePerImage(x)) : data) as tf.Tensor1D;
      });
    },
    objectiveTensor(x) {
      return tf.tidy(() => tf.sum(problem.objectivePerImage(x)) as tf.Scalar);
    },
    objective(x) {
      const f = problem.objectiveTensor(x);
      const value = f.dataSync()[0];
      f.dispose();
      return value;
    },
    gradient(x) {
      return tf.tidy(() => {
        const g = likelihood.grad(x, y);
        return (prior ? tf.add(g, prior.grad(x)) : g) as tf.Tensor4D;
      });
    },
    project(x, fallback) {
      const b = box ?? fallback;
      return b ? tf.clipByValue(x, b[0], b[1]) : tf.clone(x);
    },
  };
  return problem;
}
