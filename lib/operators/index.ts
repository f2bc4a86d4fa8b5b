/**
 * Forward maps `A` of `y = A(x) + noise`: identity (denoising), blur, MATLAB bicubic downsampling
 * (super-resolution), masks (inpainting), compositions and non-linear maps (networks), plus the
 * operator norm by power iteration.
 */
export * from './types';
// `formatShape` is also exported by metrics; import it from './linear' directly to avoid an ambiguous re-export.
export { assertNhwc, linearOperator, sameShape } from './linear';
export type { LinearOperatorSpec } from './linear';
export * from './identity';
export * from './blur';
export * from './resize';
export * from './imresize';
export * from './downsample';
export * from './mask';
export * from './compose';
export * from './nonlinear';
export * from './segmentation';
export * from './norm';
