/**
 * Tasks (degradations) for training and evaluation: the registry of training tasks, their
 * definitions, and the restoration problem every solver family takes.
 */
export * from './types';
export * from './registry';
export * from './denoise';
export * from './super_resolution';
export * from './deblur';
export * from './poisson_gaussian';
export * from './semantic';
