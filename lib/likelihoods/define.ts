/**
 * The shared frame of the likelihoods: a noise model is given by its per-value terms, their
 * derivative and its noise level at `z = A(x)`; this builds the {@link Likelihood} around them
 * (shape checks, per-image sums, the pull-back of `∂L/∂z` through the operator, seeded sampling
 * that is reproducible for every seed, 0 included: {@link normalNoise}).
 */
import { sameShape } from '../engine/shapes';
import { tf } from '../engine/tf';
import { formatShape } from '../operators/linear';
import { isLinear, Operator } from '../operators/types';
import { normalNoise } from './noise';
import { checkMeasurement } from './shapes';
import { Likelihood, resolveSeed } from './types';

/**
 * What a noise model supplies to {@link defineLikelihood}; every function gets `z = A(x)`
 * `[b, h', w', c']` and runs inside a `tf.tidy`.
 */
export interface NoiseModel {
  /** Used in errors and tables. */
  name: string;
  operator: Operator;
  /** `L` per image, `[b]` (sums over every measurement value of an image). */
  perImage(z: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor1D;
  /** `∂L/∂z`, like z (pulled back to the image by the operator's adjoint or vjp). */
  dz(z: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D;
  /** The Gauss–Newton weight; `forward()` gives `A(x)` when the weight depends on it. */
  weight(x: tf.Tensor4D, forward: () => tf.Tensor4D): tf.Tensor;
  /** The noise standard deviation at z (broadcasting against z): `y = z + std·n`. Needed unless `sample` is given. */
  std?(z: tf.Tensor4D): tf.Tensor;
  /** Draws `y` given `z` with a numeric seed, for noise models that are not `z + std·n` (e.g. labels drawn from a softmax). */
  sample?(z: tf.Tensor4D, seed: number): tf.Tensor4D;
  /** The measurement's shape for `z`'s shape when it is not z's shape (e.g. one label per pixel for per-class logits). */
  measurementShape?(zShape: readonly number[]): number[];
  /** `y` as channels on the image grid, given `z`'s shape (see {@link Likelihood.measurementOnImageGrid}). */
  measurementOnImageGrid?(y: tf.Tensor4D, zShape: readonly number[]): tf.Tensor4D;
}

/**
 * Builds a {@link Likelihood} from a noise model.
 * @example
 * const lik = defineLikelihood({ name: 'gaussian', operator: A, perImage: (z, y) => ..., dz: ..., weight: ..., std: () => tf.scalar(0.1) });
 */
export function defineLikelihood(model: NoiseModel): Likelihood {
  const { name, operator } = model;
  if (!model.std && !model.sample) throw new Error(`${name}: a noise model needs std or sample`);
  const shapeOf = model.measurementShape;
  const check = (x: tf.Tensor4D, y: tf.Tensor4D) => checkMeasurement(name, operator, x, y, shapeOf);
  const likelihood: Likelihood = {
    name,
    operator,
    valuePerImage(x, y) {
      check(x, y);
      return tf.tidy(() => model.perImage(operator.forward(x), y)); // [b]
    },
    value(x, y) {
      return tf.tidy(() => tf.sum(likelihood.valuePerImage(x, y)) as tf.Scalar);
    },
    grad(x, y) {
      check(x, y);
      return tf.tidy(() => {
        const dz = model.dz(operator.forward(x), y); // [b, h', w', c']
        return isLinear(operator) ? operator.adjoint(dz) : operator.vjp(x, dz); // [b, h, w, c]
      });
    },
    gaussNewtonWeight(x) {
      return tf.tidy(() => model.weight(x, () => operator.forward(x)));
    },
    sample(x, seed) {
      const s = resolveSeed(seed);
      return tf.tidy(() => {
        const z = operator.forward(x); // [b, h', w', c']
        if (model.sample) return model.sample(z, s);
        return tf.add(z, tf.mul((model.std as NonNullable<NoiseModel['std']>)(z), normalNoise(z.shape, s))) as tf.Tensor4D;
      });
    },
  };
  if (shapeOf) likelihood.measurementShape = (xShape) => shapeOf(operator.outputShape(xShape));
  const onGrid = model.measurementOnImageGrid;
  if (onGrid) {
    likelihood.measurementOnImageGrid = (y, xShape) => {
      const zShape = operator.outputShape(xShape);
      const expected = shapeOf ? shapeOf(zShape) : zShape;
      if (!sameShape(y.shape, expected)) throw new Error(`${name}: y is ${formatShape(y.shape)}, expected ${formatShape(expected)} for images ${formatShape(xShape)}`);
      return tf.tidy(() => onGrid(y, zShape));
    };
  }
  return likelihood;
}
