/**
 * The shared machinery of linear operators: shape checks with errors that name the operator and
 * the shape, and a factory that derives `vjp`, `normal` and the tidy/no-leak discipline from a
 * forward map and its exact adjoint.
 */
import { tf } from '../engine/tf';
import { assertNhwc, formatShape, sameShape } from '../engine/shapes';
import { LinearOperator } from './types';

export { assertNhwc, formatShape, sameShape };

/**
 * What {@link linearOperator} needs: the maps on checked shapes, and the shape relations.
 * @example
 * const spec: LinearOperatorSpec = { name: 'negate', outputShape: (s) => [...s], inputShape: (s) => [...s],
 *   apply: (x) => tf.neg(x), applyAdjoint: (y) => tf.neg(y) };
 */
export interface LinearOperatorSpec {
  name: string;
  /** Output shape for an input shape; throws (naming the operator and shape) when invalid. */
  outputShape(inputShape: readonly number[]): number[];
  /** Input shape for an output shape; throws (naming the operator and shape) when invalid. */
  inputShape(outputShape: readonly number[]): number[];
  /** `A x` on an input whose shape passed `outputShape` (runs inside `tf.tidy`). */
  apply(x: tf.Tensor4D): tf.Tensor4D;
  /** `Aᵀ y` on an output whose shape passed `inputShape` (runs inside `tf.tidy`). */
  applyAdjoint(y: tf.Tensor4D): tf.Tensor4D;
  /** `AᵀA x` when cheaper than the adjoint of the forward (runs inside `tf.tidy`). */
  applyNormal?(x: tf.Tensor4D): tf.Tensor4D;
  /** Frees what the operator owns. */
  dispose?(): void;
}

/**
 * Builds a {@link LinearOperator} from a forward map and its exact adjoint:
 * `vjp(x, v) = Aᵀ v` (independent of x), `normal(x) = Aᵀ(A x)`. Every call validates shapes
 * (errors name the operator and the offending shape) and runs inside `tf.tidy`, so only the
 * returned tensor survives.
 * @example
 * const scale2 = linearOperator({
 *   name: 'scale by 2',
 *   outputShape: (s) => [...s], inputShape: (s) => [...s],
 *   apply: (x) => tf.mul(x, 2), applyAdjoint: (y) => tf.mul(y, 2),
 * });
 * const y = scale2.forward(tf.ones([1, 4, 4, 1])); // all 2
 */
export function linearOperator(spec: LinearOperatorSpec): LinearOperator {
  const checkIn = (role: string, shape: readonly number[]): number[] => {
    assertNhwc(spec.name, role, shape);
    return spec.outputShape(shape);
  };
  const checkOut = (role: string, shape: readonly number[]): number[] => {
    assertNhwc(spec.name, role, shape);
    return spec.inputShape(shape);
  };
  const op: LinearOperator = {
    name: spec.name,
    linear: true,
    outputShape: (shape) => checkIn('input', shape),
    inputShape: (shape) => checkOut('output', shape),
    forward(x) {
      checkIn('input', x.shape);
      return tf.tidy(() => spec.apply(x));
    },
    adjoint(y) {
      checkOut('adjoint input', y.shape);
      return tf.tidy(() => spec.applyAdjoint(y));
    },
    normal(x) {
      checkIn('input', x.shape);
      return tf.tidy(() => (spec.applyNormal ? spec.applyNormal(x) : spec.applyAdjoint(spec.apply(x))));
    },
    vjp(x, v) {
      const expected = checkIn('input', x.shape);
      if (!sameShape(expected, v.shape)) {
        throw new Error(`${spec.name}: vjp cotangent shape ${formatShape(v.shape)} differs from the output shape ${formatShape(expected)} of input ${formatShape(x.shape)}`);
      }
      return tf.tidy(() => spec.applyAdjoint(v));
    },
    dispose() {
      spec.dispose?.();
    },
  };
  return op;
}
