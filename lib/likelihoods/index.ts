/**
 * Likelihoods (noise models / data terms) of `y = A(x) + noise`: each gives `value(x, y)`,
 * `grad(x, y)`, a Gauss–Newton weight and a seeded sampler.
 * @example
 * import { gaussianLikelihood } from './likelihoods';
 * const lik = gaussianLikelihood(blur, { sigma: 0.01 });
 * const y = lik.sample(x, 0);
 */
export * from './types';
export * from './gaussian';
export * from './poisson_gaussian';
export * from './categorical';
export * from './define';
export * from './noise';
export { checkMeasurement, checkLikelihoodMeasurement } from './shapes';
