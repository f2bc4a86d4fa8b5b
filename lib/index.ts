/**
 * lgd-workspace: learned iterative image restoration in TypeScript.
 * Import everything from the package name: `import { initEngine, loadImages, psnr } from 'lgd-workspace'`.
 */
export * from './settings';
export * from './engine';
export * from './io';
export * from './metrics';
export * from './report';
export * from './operators';
export * from './likelihoods';
export * from './priors';
export * from './solvers/classical';
export * from './experiments';
export * from './solvers/learned';
export * from './training';
export * from './tasks';
export * from './segmentation';
