/**
 * Forward maps `A` of inverse problems `y = A(x) + noise` (noise belongs to the likelihood, not
 * to the operator). Images are NHWC float32 tensors `[b, h, w, c]`.
 */
import { tf } from '../engine/tf';

/** A (possibly non-linear) forward map with its vector-Jacobian product. */
export interface Operator {
  /** Human-readable name, used in errors and tables. */
  readonly name: string;
  /** `A(x)`: `[b, h, w, c]` -> `[b, h', w', c']`. */
  forward(x: tf.Tensor4D): tf.Tensor4D;
  /** `J_A(x)ᵀ v`: the gradient of `<A(x), v>` with respect to x. */
  vjp(x: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D;
  /** The output shape for an input shape (throws, naming both, when the input shape is invalid). */
  outputShape(inputShape: readonly number[]): number[];
  /** Frees any weights the operator owns (no-op for weightless ones). */
  dispose(): void;
}

/** A linear operator: `vjp(x, v) = adjoint(v)` for every x. */
export interface LinearOperator extends Operator {
  readonly linear: true;
  /** `Aᵀ y`: the exact adjoint (`<Ax, y> = <x, Aᵀy>`). */
  adjoint(y: tf.Tensor4D): tf.Tensor4D;
  /** `AᵀA x`. */
  normal(x: tf.Tensor4D): tf.Tensor4D;
  /** The input shape for an output shape (needed to apply the adjoint to data alone). */
  inputShape(outputShape: readonly number[]): number[];
}

/** True when `op` is linear. */
export function isLinear(op: Operator): op is LinearOperator {
  return (op as LinearOperator).linear === true;
}
