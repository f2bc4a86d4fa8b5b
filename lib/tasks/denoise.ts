/** Blind Gaussian denoising: `y = x + σ·n`, σ drawn per patch (optionally as an 8-bit file: clipped and rounded). */
import { z } from 'zod';
import { to8bit } from '../io/image';
import { Rng } from '../io/rng';
import { gaussianLikelihood } from '../likelihoods/gaussian';
import { identity } from '../operators/identity';
import { drawSigmas, TaskDefinition } from './types';

/** Parameters of {@link denoiseTask}: σ ~ U[sigmaMin, sigmaMax] on the 0..255 scale, per patch. */
export interface DenoiseParams {
  sigmaMin: number;
  sigmaMax: number;
  /**
   * Clip the noisy patch to [0, 1] and round it to 8 bits, as the quantized benchmark setting
   * (`evaluate --quantize`, the RIM paper's color table) does. Absent (the default): the noisy patch
   * as drawn. The likelihood stays Gaussian with the drawn σ, as in the evaluation task, so the
   * network learns what clipping and rounding do to the gradient.
   */
  quantize?: boolean;
}

const params = z
  .object({
    sigmaMin: z.number().positive().default(5),
    sigmaMax: z.number().positive().default(55),
    // optional without a default: runs configured before it existed keep their resume key
    quantize: z.boolean().optional(),
  })
  .strict()
  .refine((p) => p.sigmaMax >= p.sigmaMin, { message: 'needs sigmaMin <= sigmaMax (8-bit units)', path: ['sigmaMax'] });

/**
 * Blind Gaussian denoising, `A = I`, `σ ~ U[sigmaMin, sigmaMax]/255` per patch; the noise of a
 * batch comes from its seed alone (the draws of the earlier `blindNoise`, so runs trained before
 * tasks existed resume exactly). With `quantize` the noisy patch is clipped and rounded to 8 bits.
 * @example
 * { "task": { "kind": "denoise", "sigmaMin": 5, "sigmaMax": 55 } }
 * { "task": { "kind": "denoise", "sigmaMin": 5, "sigmaMax": 55, "quantize": true } }
 */
export const denoiseTask: TaskDefinition<DenoiseParams> = {
  kind: 'denoise',
  description: 'blind Gaussian denoising, A = I, σ ~ U[sigmaMin, sigmaMax]/255 per patch',
  params: params as unknown as z.ZodType<DenoiseParams, z.ZodTypeDef, unknown>,
  degradeBatch(clean, p, seed) {
    const rng = new Rng(seed);
    const sigmas = drawSigmas(rng, clean.shape[0], p.sigmaMin, p.sigmaMax);
    const likelihood = gaussianLikelihood(identity(), { sigma: sigmas });
    const noisy = likelihood.sample(clean, Math.floor(rng.next() * 2147483647));
    const y = p.quantize ? to8bit(noisy) : noisy;
    if (p.quantize) noisy.dispose();
    return [{ clean: clean.clone(), y, likelihood, describe: `σ·255 = [${sigmas.map((s) => (s * 255).toFixed(1)).join(', ')}]${p.quantize ? ', 8-bit' : ''}` }];
  },
  summary: (p) => `denoise, σ ∈ [${p.sigmaMin}, ${p.sigmaMax}]/255${p.quantize ? ', clipped and rounded to 8 bits' : ''}`,
};
