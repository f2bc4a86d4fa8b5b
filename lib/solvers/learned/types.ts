/**
 * The interface of learned iterative solvers `x_{t+1} = x_t + N_w(∇ log p(y | x_t), x_t, state)`:
 * objects called as `solver.run(y, problem)` that return every iterate.
 */
import { tf } from '../../engine/tf';
import { Problem } from '../../tasks/problem';
import { NamedTensor } from './params';

/**
 * Options of {@link LearnedSolver.run}.
 * @example
 * const xs = rim.run(y, problem, { steps: 4, x0 });
 */
export interface RunOptions {
  /** Number of steps T (default: the solver's configured `steps`). */
  steps?: number;
  /**
   * Start point `[b, h, w, c]` (not owned). Default: `Aᵀy` for a linear operator, else `y` when
   * the operator maps y's shape to itself; otherwise `x0` is required.
   */
  x0?: tf.Tensor4D;
}

/** The kinds of learned solvers the library builds from a configuration. */
export type LearnedSolverKind = 'rim' | 'lgd' | 'lgn' | 'spade' | 'cnn';

/**
 * A learned iterative solver.
 * @example
 * const solver: LearnedSolver = new Rim({ channels: 1 });
 * const xs = solver.run(y, problem); // T iterates [b, h, w, c]
 * const x = xs[xs.length - 1];
 * tf.dispose(xs);
 * solver.dispose();
 */
export interface LearnedSolver {
  readonly kind: LearnedSolverKind;
  /** The full configuration (defaults filled in); JSON-serialisable. */
  readonly config: { kind: LearnedSolverKind; steps: number; channels: number } & object;
  /**
   * Runs T steps from the start point and returns the iterates `x_1 … x_T` (each `[b, h, w, c]`,
   * owned by the caller). Differentiable: call it inside `tf.variableGrads` to train.
   * @param y the measurement `[b, h', w', c']`
   * @param problem the problem whose likelihood (and operator, optional prior) defines the data term
   */
  run(y: tf.Tensor4D, problem: Problem, options?: RunOptions): tf.Tensor4D[];
  /** The number of trainable scalars. */
  paramCount(): number;
  /** The trainable variables, in a fixed order (for optimizers). */
  trainableVariables(): tf.Variable[];
  /** Copies of the weights by logical name; the caller disposes the tensors. */
  getWeights(): NamedTensor[];
  /** Sets every weight by logical name (shapes checked; unknown or missing names are errors). */
  setWeights(weights: NamedTensor[] | tf.NamedTensorMap): void;
  /** Frees the weights. */
  dispose(): void;
}
