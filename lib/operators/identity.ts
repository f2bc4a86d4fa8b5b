/** The identity operator: the forward map of denoising. */
import { tf } from '../engine/tf';
import { linearOperator } from './linear';
import { LinearOperator } from './types';

/**
 * The identity `A x = x` (denoising: `y = x + noise`), with `Aᵀ = A`, `AᵀA = I` and `‖A‖ = 1`.
 * Outputs are new tensors (clones), so disposing them never frees the input.
 * @example
 * const A = identity();
 * const y = A.forward(x); // same values and shape as x
 */
export function identity(): LinearOperator {
  return linearOperator({
    name: 'identity',
    outputShape: (s) => [...s],
    inputShape: (s) => [...s],
    apply: (x) => tf.clone(x),
    applyAdjoint: (y) => tf.clone(y),
    applyNormal: (x) => tf.clone(x),
  });
}
