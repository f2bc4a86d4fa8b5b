/** Signal-dependent (Poisson–Gaussian) denoising as a training task: `y = x + sqrt(a·x + b)·n`. */
import { z } from 'zod';
import { Rng } from '../util/rng';
import { poissonGaussianLikelihood } from '../likelihoods/poisson_gaussian';
import { identity } from '../operators/identity';
import { drawSeed, TaskDefinition } from './types';

/**
 * Parameters of {@link poissonGaussianTask}: per patch `a ~ U[aMin, aMax]` (the Poisson gain on
 * [0, 1] images) and `σ_b ~ U[sigmaBMin, sigmaBMax]/255` (the Gaussian part, `b = σ_b²`).
 */
export interface PoissonGaussianParams {
  aMin: number;
  aMax: number;
  sigmaBMin: number;
  sigmaBMax: number;
}

const params = z
  .object({
    aMin: z.number().min(0).default(0.001),
    aMax: z.number().min(0).default(0.05),
    sigmaBMin: z.number().min(0).default(2),
    sigmaBMax: z.number().min(0).default(20),
  })
  .strict()
  .refine((p) => p.aMax >= p.aMin, { message: 'needs aMin <= aMax', path: ['aMax'] })
  .refine((p) => p.sigmaBMax >= p.sigmaBMin, { message: 'needs sigmaBMin <= sigmaBMax (8-bit units)', path: ['sigmaBMax'] })
  .refine((p) => p.aMax > 0 || p.sigmaBMax > 0, { message: 'needs some noise: aMax > 0 or sigmaBMax > 0', path: ['aMax'] });

/**
 * Poisson–Gaussian denoising (the seed project's `η(x)`), `A = I`, the heteroscedastic Gaussian
 * likelihood of the core with `(a, b)` drawn per patch; a solver trained on it gets that
 * likelihood's gradient (and Fisher weight) at every step.
 * @example
 * { "task": { "kind": "poisson-gaussian", "aMin": 0.001, "aMax": 0.05, "sigmaBMin": 2, "sigmaBMax": 20 } }
 */
export const poissonGaussianTask: TaskDefinition<PoissonGaussianParams> = {
  kind: 'poisson-gaussian',
  description: 'signal-dependent denoising y = x + sqrt(a·x + b)·n, (a, b) drawn per patch',
  params: params as unknown as z.ZodType<PoissonGaussianParams, z.ZodTypeDef, unknown>,
  degradeBatch(clean, p, seed) {
    const rng = new Rng(seed);
    const n = clean.shape[0];
    const a = Array.from({ length: n }, () => rng.uniform(p.aMin, p.aMax));
    const b = Array.from({ length: n }, () => (rng.uniform(p.sigmaBMin, p.sigmaBMax) / 255) ** 2);
    const likelihood = poissonGaussianLikelihood(identity(), { a, b, bMin: Math.max(1e-6, Math.min(...b)) });
    const y = likelihood.sample(clean, drawSeed(rng));
    return [{ clean: clean.clone(), y, likelihood, describe: `a = [${a.map((v) => v.toFixed(4)).join(', ')}], σ_b·255 = [${b.map((v) => (Math.sqrt(v) * 255).toFixed(1)).join(', ')}]` }];
  },
  summary: (p) => `Poisson–Gaussian denoising, a ∈ [${p.aMin}, ${p.aMax}], σ_b ∈ [${p.sigmaBMin}, ${p.sigmaBMax}]/255`,
};
