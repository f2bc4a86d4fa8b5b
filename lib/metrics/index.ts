/**
 * Image quality metrics: PSNR, SSIM (skimage conventions, float64 in JavaScript), BT.601 luma,
 * border shaving and the super-resolution protocol.
 * @example
 * import { psnr, ssim, srMetrics } from './metrics';
 * psnr(denoised, clean);            // dB, data range 1
 * ssim(denoised, clean);            // Gaussian 11×11, sigma 1.5
 * srMetrics(sr, hr, 4);             // { psnr, ssim } on Y, 4 pixels shaved
 */
export * from './psnr';
export * from './ssim';
export * from './color';
export * from './mean';
export type { ImageBatch64 } from './images';
export { toImageBatch64, assertSameShape, formatShape } from './images';
export * from './segmentation';
export * from './frechet';
