/**
 * Priors (regularisers) `φ(x)` with `value`, closed-form `grad` and a Hessian approximation:
 * smoothed total variation and Tikhonov on image gradients, plus the finite differences they use.
 * @example
 * import { totalVariation } from './priors';
 * const phi = totalVariation({ lambda: 0.05 });
 */
export * from './types';
export * from './finite_differences';
export * from './total_variation';
export * from './tikhonov';
