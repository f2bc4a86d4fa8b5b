/** Blind Gaussian denoising: `y = x + σ·n`, σ drawn per patch. */
import { z } from 'zod';
import { Rng } from '../io/rng';
import { gaussianLikelihood } from '../likelihoods/gaussian';
import { identity } from '../operators/identity';
import { drawSigmas, TaskDefinition } from './types';

/** Parameters of {@link denoiseTask}: σ ~ U[sigmaMin, sigmaMax] on the 0..255 scale, per patch. */
export interface DenoiseParams {
  sigmaMin: number;
  sigmaMax: number;
}

const params = z
  .object({
    sigmaMin: z.number().positive().default(5),
    sigmaMax: z.number().positive().default(55),
  })
  .strict()
  .refine((p) => p.sigmaMax >= p.sigmaMin, { message: 'needs sigmaMin <= sigmaMax (8-bit units)', path: ['sigmaMax'] });

/**
 * Blind Gaussian denoising, `A = I`, `σ ~ U[sigmaMin, sigmaMax]/255` per patch; the noise of a
 * batch comes from its seed alone (the draws of the earlier `blindNoise`, so runs trained before
 * tasks existed resume exactly).
 * @example
 * { "task": { "kind": "denoise", "sigmaMin": 5, "sigmaMax": 55 } }
 */
export const denoiseTask: TaskDefinition<DenoiseParams> = {
  kind: 'denoise',
  description: 'blind Gaussian denoising, A = I, σ ~ U[sigmaMin, sigmaMax]/255 per patch',
  params: params as unknown as z.ZodType<DenoiseParams, z.ZodTypeDef, unknown>,
  degradeBatch(clean, p, seed) {
    const rng = new Rng(seed);
    const sigmas = drawSigmas(rng, clean.shape[0], p.sigmaMin, p.sigmaMax);
    const likelihood = gaussianLikelihood(identity(), { sigma: sigmas });
    const y = likelihood.sample(clean, Math.floor(rng.next() * 2147483647));
    return [{ clean: clean.clone(), y, likelihood, describe: `σ·255 = [${sigmas.map((s) => (s * 255).toFixed(1)).join(', ')}]` }];
  },
  summary: (p) => `denoise, σ ∈ [${p.sigmaMin}, ${p.sigmaMax}]/255`,
};
