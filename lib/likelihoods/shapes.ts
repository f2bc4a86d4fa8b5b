/** Shape checks shared by the likelihoods: errors that name the likelihood, operator and shapes. */
import { tf } from '../engine/tf';
import { assertNhwc, formatShape, sameShape } from '../operators/linear';
import { Operator } from '../operators/types';
import type { Likelihood } from './types';

/**
 * Checks that `x` is an NHWC batch and that `y` has the shape `A.outputShape(x.shape)`; throws an
 * error naming the likelihood, the operator and both shapes otherwise.
 * @param who the likelihood's name (message prefix)
 * @param operator the forward map `A`
 * @param x the image, `[b, h, w, c]`
 * @param y the measurement
 * @param measurementShape the measurement's shape for `A(x)`'s shape, when it differs (e.g. one
 *   label per pixel for per-class logits: `[b, h, w, K] → [b, h, w, 1]`); default `A(x)`'s shape
 * @returns the measurement shape (`A.outputShape(x.shape)` by default)
 * @example
 * checkMeasurement('gaussian', blur, x, y);
 * // Error: gaussian: y has shape [1, 8, 8, 1] but A = blur maps x [1, 16, 16, 1] to [1, 16, 16, 1]
 */
export function checkMeasurement(
  who: string,
  operator: Operator,
  x: tf.Tensor,
  y: tf.Tensor,
  measurementShape?: (outputShape: readonly number[]) => number[],
): number[] {
  assertNhwc(who, 'x', x.shape);
  const out = operator.outputShape(x.shape);
  const expected = measurementShape ? measurementShape(out) : out;
  if (!sameShape(expected, y.shape)) {
    const of = measurementShape ? `, whose measurement has shape ${formatShape(expected)}` : '';
    throw new Error(`${who}: y has shape ${formatShape(y.shape)} but A = ${operator.name} maps x ${formatShape(x.shape)} to ${formatShape(out)}${of}`);
  }
  return expected;
}

/**
 * {@link checkMeasurement} for a likelihood: `y` must have the likelihood's measurement shape
 * (`A(x)`'s shape, or its `measurementShape` when it has one).
 * @param who the message prefix
 * @param likelihood the likelihood (with its operator)
 * @param x the image, `[b, h, w, c]`
 * @param y the measurement
 * @example
 * checkLikelihoodMeasurement('problem', categorical, x, labels); // labels [b, h, w, 1]
 */
export function checkLikelihoodMeasurement(who: string, likelihood: Likelihood, x: tf.Tensor, y: tf.Tensor): number[] {
  const shapeOf = likelihood.measurementShape?.bind(likelihood);
  return checkMeasurement(who, likelihood.operator, x, y, shapeOf && (() => shapeOf(x.shape)));
}

/**
 * A per-image parameter as a tensor that broadcasts against `[b, h, w, c]`: a scalar for a number,
 * `[b, 1, 1, 1]` for an array of `b` values (throws, naming both sizes, when `b` differs).
 * @param who the likelihood's name (message prefix)
 * @param what the parameter's name
 * @param value one number for every image, or one per image
 * @param batch the batch size `b`
 * @example
 * perImage('gaussian', 'sigma', [0.1, 0.2], 2); // tensor [2, 1, 1, 1]
 */
export function perImage(who: string, what: string, value: number | readonly number[], batch: number): tf.Tensor {
  if (typeof value === 'number') return tf.scalar(value);
  if (value.length !== batch) {
    throw new Error(`${who}: ${what} has ${value.length} per-image values but the batch has ${batch} images`);
  }
  return tf.tensor4d(Array.from(value), [batch, 1, 1, 1]);
}
