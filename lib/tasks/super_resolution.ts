/**
 * Bicubic super-resolution as a training task: `y = Q(D_s x + σ·n)` with MATLAB's antialiased
 * bicubic shrink `D_s` (the linear operator of the core, exact adjoint), several scales mixed in
 * every batch, and the learned solvers working on the BT.601 luma (the benchmarks' Y channel).
 */
import { z } from 'zod';
import { tf } from '../engine/tf';
import { to8bit } from '../io/image';
import { Rng } from '../io/rng';
import { gaussianLikelihood } from '../likelihoods/gaussian';
import { identity } from '../operators/identity';
import { downsample } from '../operators/downsample';
import { upsampleBicubic } from '../operators/imresize';
import { BT601_Y, rgbToY } from '../metrics/color';
import { drawSeed, drawSigmas, TaskDefinition, TrainingGroup } from './types';

/** Parameters of {@link superResolutionTrainingTask}. */
export interface SuperResolutionParams {
  /** Integer factors; the batch is split evenly among them (default [2, 3, 4]). */
  scales: number[];
  /** Noise σ ~ U[sigmaMin, sigmaMax]/255 per patch, added to the LR image before rounding (default 0, 2). */
  sigmaMin: number;
  sigmaMax: number;
  /** Round the LR image to 8 bits, as the benchmarks' LR files are (default true). */
  quantize: boolean;
  /** `'y'` (default): RGB training images degraded in RGB, then the solver restores the BT.601 luma; `'same'`: the images' own channels. */
  channel: 'y' | 'same';
}

const params = z
  .object({
    scales: z.array(z.number().int().min(2).max(8)).min(1).default([2, 3, 4]),
    sigmaMin: z.number().min(0).default(0),
    sigmaMax: z.number().min(0).default(2),
    quantize: z.boolean().default(true),
    channel: z.enum(['y', 'same']).default('y'),
  })
  .strict()
  .refine((p) => p.sigmaMax >= p.sigmaMin, { message: 'needs sigmaMin <= sigmaMax (8-bit units)', path: ['sigmaMax'] });

/** Σ of the squared BT.601 luma weights (on [0, 1] images): the variance gain of RGB noise in Y. */
export const LUMA_NOISE_GAIN = [BT601_Y.r, BT601_Y.g, BT601_Y.b].reduce((a, w) => a + (w / 255) ** 2, 0);

/**
 * The σ of the Gaussian likelihood on the measured channel for per-channel noise `sigma` (in
 * [0, 1] units) plus, when `quantize`, the rounding error of 8-bit files (variance 1/12 level²):
 * `sqrt((σ² + 1/(12·255²)) · gain)` with gain = {@link LUMA_NOISE_GAIN} on the luma, 1 otherwise.
 * @example
 * srLikelihoodSigma(0, true, true) * 255; // ≈ 0.166: an 8-bit LR image seen through its luma
 */
export function srLikelihoodSigma(sigma: number, quantize: boolean, onLuma: boolean): number {
  const q = quantize ? 1 / (12 * 255 * 255) : 0;
  const v = (sigma * sigma + q) * (onLuma ? LUMA_NOISE_GAIN : 1);
  if (!(v > 0)) throw new Error('super-resolution: the likelihood needs noise: sigmaMax > 0 or quantize');
  return Math.sqrt(v);
}

/**
 * Multi-scale bicubic SR: the batch is split into one group per scale (in order; batch size a
 * multiple of the number of scales); per group `y = to8bit(D_s x + σ·n)` on the training image's
 * channels, then (`channel: 'y'`) target and measurement are taken to the BT.601 luma; the
 * likelihood is Gaussian with `A = D_s` and σ from {@link srLikelihoodSigma}; the start point is
 * bicubic upsampling of `y` (not rounded).
 * @example
 * { "task": { "kind": "super-resolution", "scales": [2, 3, 4], "sigmaMin": 0, "sigmaMax": 2 } }
 */
export const superResolutionTrainingTask: TaskDefinition<SuperResolutionParams> = {
  kind: 'super-resolution',
  description: 'bicubic SR y = round8(D_s x + σn), scales mixed in every batch, luma restored',
  params: params as unknown as z.ZodType<SuperResolutionParams, z.ZodTypeDef, unknown>,
  modelChannels: (dataChannels, p) => (p.channel === 'y' ? 1 : dataChannels),
  patchMultiple: (p) => p.scales.reduce((a, s) => (a * s) / gcd(a, s), 1),
  batchMultiple: (p) => p.scales.length,
  degradeBatch(clean, p, seed) {
    const b = clean.shape[0];
    const k = p.scales.length;
    if (b % k !== 0) throw new Error(`super-resolution: batch size ${b} is not a multiple of the ${k} scales [${p.scales.join(', ')}]`);
    if (p.channel === 'y' && clean.shape[3] !== 3) throw new Error(`super-resolution: channel 'y' needs RGB training images, got ${clean.shape[3]} channel(s) (set data.channels to 3 or task.channel to 'same')`);
    const rng = new Rng(seed);
    const per = b / k;
    const groups: TrainingGroup[] = [];
    p.scales.forEach((s, g) => {
      const sigmas = drawSigmas(rng, per, p.sigmaMin, p.sigmaMax);
      const noiseSeed = drawSeed(rng);
      const A = downsample(s);
      const group = tf.tidy(() => {
        const hr = tf.slice(clean, [g * per, 0, 0, 0], [per, -1, -1, -1]); // [per, p, p, c]
        const lrClean = A.forward(hr); // [per, p/s, p/s, c]
        const noise = gaussianLikelihood(identity(), { sigma: sigmas.map((v) => Math.max(v, 1e-12)) });
        const noisy = p.sigmaMax > 0 ? noise.sample(lrClean, noiseSeed) : lrClean;
        const lr = p.quantize ? to8bit(noisy) : noisy;
        const onLuma = p.channel === 'y';
        const target = onLuma ? rgbToY(hr) : hr;
        const y = onLuma ? rgbToY(lr) : lr;
        const x0 = upsampleBicubic(y, s);
        return { clean: target, y, x0 };
      });
      const likelihood = gaussianLikelihood(A, { sigma: sigmas.map((v) => srLikelihoodSigma(v, p.quantize, p.channel === 'y')) });
      groups.push({ ...group, likelihood, describe: `x${s}, σ·255 = [${sigmas.map((v) => (v * 255).toFixed(2)).join(', ')}]` });
    });
    return groups;
  },
  summary: (p) => `super-resolution x${p.scales.join('/x')}, σ ∈ [${p.sigmaMin}, ${p.sigmaMax}]/255${p.quantize ? ', 8-bit LR' : ''}, on ${p.channel === 'y' ? 'the luma' : 'the image channels'}`,
};

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
