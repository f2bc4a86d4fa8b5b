/** Gaussian deblurring as a training task: `y = k * x + σ·n` with the blur of notebook 01. */
import { z } from 'zod';
import { Rng } from '../io/rng';
import { gaussianLikelihood } from '../likelihoods/gaussian';
import { gaussianBlur } from '../operators/blur';
import { drawSeed, drawSigmas, TaskDefinition } from './types';

/** Parameters of {@link deblurTrainingTask}. */
export interface DeblurParams {
  /** Side of the Gaussian kernel (odd; default 9). */
  kernelSize: number;
  /** Its standard deviation in pixels (default 1.6). */
  kernelSigma: number;
  /** Noise σ ~ U[sigmaMin, sigmaMax]/255 per patch (default 2, 2). */
  sigmaMin: number;
  sigmaMax: number;
}

const params = z
  .object({
    kernelSize: z.number().int().min(1).default(9),
    kernelSigma: z.number().positive().default(1.6),
    sigmaMin: z.number().positive().default(2),
    sigmaMax: z.number().positive().default(2),
  })
  .strict()
  .refine((p) => p.kernelSize % 2 === 1, { message: 'must be odd', path: ['kernelSize'] })
  .refine((p) => p.sigmaMax >= p.sigmaMin, { message: 'needs sigmaMin <= sigmaMax (8-bit units)', path: ['sigmaMax'] });

/**
 * Gaussian deblurring (zero boundary, as notebook 01's task), σ drawn per patch.
 * @example
 * { "task": { "kind": "deblur", "kernelSize": 9, "kernelSigma": 1.6, "sigmaMin": 2, "sigmaMax": 2 } }
 */
export const deblurTrainingTask: TaskDefinition<DeblurParams> = {
  kind: 'deblur',
  description: 'Gaussian deblurring y = k * x + σn (zero boundary)',
  params: params as unknown as z.ZodType<DeblurParams, z.ZodTypeDef, unknown>,
  degradeBatch(clean, p, seed) {
    const rng = new Rng(seed);
    const sigmas = drawSigmas(rng, clean.shape[0], p.sigmaMin, p.sigmaMax);
    const likelihood = gaussianLikelihood(gaussianBlur(p.kernelSize, p.kernelSigma), { sigma: sigmas });
    const y = likelihood.sample(clean, drawSeed(rng));
    return [{ clean: clean.clone(), y, likelihood, describe: `σ·255 = [${sigmas.map((s) => (s * 255).toFixed(1)).join(', ')}]` }];
  },
  summary: (p) => `deblur ${p.kernelSize}×${p.kernelSize} s=${p.kernelSigma}, σ ∈ [${p.sigmaMin}, ${p.sigmaMax}]/255`,
};
