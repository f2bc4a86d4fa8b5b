/**
 * Experiments built from the library: restoration tasks with their benchmark protocols, TV
 * restoration with the classical solvers, λ search on training images, test-set evaluation
 * (rows for results tables), solver comparisons, SR benchmark helpers (bicubic baseline),
 * published numbers and run-time estimates.
 * @example
 * import { denoisingTask, chooseLambda, evaluateTask } from 'lgd-workspace';
 */
export * from './tv';
export * from './sr';
export * from './tasks';
export * from './data';
export * from './classical';
export * from './figures';
export * from './published';
export * from './runtime';
export * from './learned';
export * from './evaluate';
export * from './ensemble';
export * from './restore';
export * from './generalization';
export * from './semantic';
export * from './semantic_eval';
export * from './synthesize';
export * from './poisson';
