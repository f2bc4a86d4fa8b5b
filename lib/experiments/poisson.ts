/**
 * Signal-dependent (Poisson–Gaussian) denoising for evaluation: `y = x + sqrt(a·x + b)·n`, the
 * seed project's `η(x)`. The same noisy images can be given to every kind of solver: with the
 * Poisson–Gaussian likelihood (a model trained on it, TV with that data term), with a Gaussian
 * likelihood of the matching effective σ (a Gaussian-trained model, the shift of the
 * generalization study), or through the generalized Anscombe transform (the classical bridge).
 */
import { tf } from '../engine/tf';
import { gaussianLikelihood } from '../likelihoods/gaussian';
import { poissonGaussianLikelihood } from '../likelihoods/poisson_gaussian';
import { mean } from '../metrics/mean';
import { psnrPerImage } from '../metrics/psnr';
import { ssimPerImage } from '../metrics/ssim';
import { identity } from '../operators/identity';
import { LearnedSolver } from '../solvers/learned/types';
import { createProblem } from '../tasks/problem';
import type { Method } from './evaluate';
import { to8bit } from './sr';
import { RestorationTask } from './tasks';

/**
 * Options of {@link poissonGaussianDenoisingTask}.
 * @example
 * const opts: PoissonGaussianTaskOptions = { a: 0.01, sigmaB: 10 };
 */
export interface PoissonGaussianTaskOptions {
  /** Poisson gain `a ≥ 0` on [0, 1] images (the variance grows by `a·x`). */
  a: number;
  /** The Gaussian part's σ_b on the 0..255 scale (`b = (σ_b/255)²`). */
  sigmaB: number;
  /**
   * The likelihood solvers get: 'poisson-gaussian' (default; the model of the noise) or
   * 'gaussian' with σ = `sigmaEff` (what a Gaussian-trained model is given).
   */
  likelihood?: 'poisson-gaussian' | 'gaussian';
  /** σ of the Gaussian likelihood on the 0..255 scale (with `likelihood: 'gaussian'`); see {@link effectiveSigma}. */
  sigmaEff?: number;
  /** Seed of test image 0 (default the protocol `9000 + 10·σ_b + round(1000·a)`, the same for both likelihoods). */
  seed?: number;
}

/**
 * The σ (0..255 scale) of a Gaussian with the Poisson–Gaussian noise's mean variance at mean
 * intensity `m` ∈ [0, 1]: `255·sqrt(a·m + b)`.
 * @example
 * effectiveSigma(0.01, 10, 0.45); // ≈ 27.5
 */
export function effectiveSigma(a: number, sigmaB: number, meanIntensity: number): number {
  return 255 * Math.sqrt(a * meanIntensity + (sigmaB / 255) ** 2);
}

/**
 * Poisson–Gaussian denoising as a {@link RestorationTask}: `y` drawn by the Poisson–Gaussian
 * likelihood's seeded sampler (not clipped), naive estimate `y`, PSNR/SSIM on [0, 1] of the 8-bit
 * output. Both likelihood variants degrade identically (same seeds), so their rows compare.
 * @example
 * const pg = poissonGaussianDenoisingTask({ a: 0.01, sigmaB: 10 });                                  // for rim_pg, TV
 * const asGauss = poissonGaussianDenoisingTask({ a: 0.01, sigmaB: 10, likelihood: 'gaussian', sigmaEff: 27.5 }); // for rim_gray
 */
export function poissonGaussianDenoisingTask(options: PoissonGaussianTaskOptions): RestorationTask & { readonly a: number; readonly b: number } {
  const { a, sigmaB } = options;
  if (!(Number.isFinite(a) && a >= 0)) throw new Error(`poissonGaussianDenoisingTask: a must be >= 0, got ${a}`);
  if (!(Number.isFinite(sigmaB) && sigmaB >= 0)) throw new Error(`poissonGaussianDenoisingTask: sigmaB must be >= 0 (0..255 scale), got ${sigmaB}`);
  if (a === 0 && sigmaB === 0) throw new Error('poissonGaussianDenoisingTask: no noise (a = 0 and sigmaB = 0)');
  const b = (sigmaB / 255) ** 2;
  const operator = identity();
  const noise = poissonGaussianLikelihood(operator, { a, b });
  const gaussian = options.likelihood === 'gaussian';
  if (gaussian && !(options.sigmaEff && options.sigmaEff > 0)) throw new Error("poissonGaussianDenoisingTask: likelihood 'gaussian' needs sigmaEff > 0 (0..255 scale)");
  const sigma = gaussian ? (options.sigmaEff as number) / 255 : Math.sqrt(a * 0.5 + b);
  const likelihood = gaussian ? gaussianLikelihood(operator, { sigma }) : noise;
  const setting = `a=${a}, sigma_b=${sigmaB}`;
  return {
    task: 'denoise',
    setting,
    label: `PG a=${a}, σb=${sigmaB}`,
    inputMethod: 'noisy input',
    operator,
    sigma,
    a,
    b,
    prepare: (image) => tf.clone(image),
    degrade: (truth, seed) => noise.sample(truth, seed),
    input: (y) => tf.clone(y),
    measure: (estimate, truth) => ({ psnr: mean(psnrPerImage(estimate, truth)), ssim: mean(ssimPerImage(estimate, truth)) }),
    measurePsnr: (estimate, truth) => mean(psnrPerImage(estimate, truth)),
    seed: options.seed ?? 9000 + 10 * sigmaB + Math.round(1000 * a),
    view: (y, _input, truth) => ({ y, x0: y, truth, sigma, likelihood, finish: (x) => to8bit(x), dispose: () => undefined }),
  };
}

/**
 * The generalized Anscombe transform of `y` with variance `a·x + b`: `f(y) = (2/a)·sqrt(max(a·y + 3a²/8 + b, 0))`
 * (noise of unit variance, approximately); `a = 0` is the Gaussian case `y/sqrt(b)`.
 */
export function anscombe(y: tf.Tensor4D, a: number, b: number): tf.Tensor4D {
  return tf.tidy(() => (a === 0 ? tf.div(y, Math.sqrt(b)) : tf.mul(tf.sqrt(tf.relu(tf.add(tf.mul(y, a), (3 * a * a) / 8 + b))), 2 / a)) as tf.Tensor4D);
}

/** The algebraic inverse of {@link anscombe}: `((a·f/2)² − 3a²/8 − b)/a` (`f·sqrt(b)` when `a = 0`). */
export function inverseAnscombe(f: tf.Tensor4D, a: number, b: number): tf.Tensor4D {
  return tf.tidy(() => (a === 0 ? tf.mul(f, Math.sqrt(b)) : tf.div(tf.sub(tf.square(tf.mul(f, a / 2)), (3 * a * a) / 8 + b), a)) as tf.Tensor4D);
}

/**
 * The classical bridge from signal-dependent to Gaussian noise as a method: the generalized
 * Anscombe transform, rescaled to [0, 1] (`z = (f(y) − f(0))/(f(1) − f(0))`, noise σ ≈
 * `1/(f(1) − f(0))`), denoised by a Gaussian-trained learned solver at that σ, then transformed back
 * (algebraic inverse) and rounded to 8 bits. Needs a task with `a`, `b` ({@link poissonGaussianDenoisingTask}).
 * @example
 * anscombeMethod(rimGray.solver, { name: 'Anscombe + RIM (ours)' });
 */
export function anscombeMethod(solver: LearnedSolver, options: { name: string }): Method {
  return {
    name: options.name,
    params: 'generalized Anscombe',
    restore(y, task) {
      const { a, b } = task as unknown as { a?: number; b?: number };
      if (a === undefined || b === undefined) throw new Error(`${options.name}: needs a Poisson–Gaussian task (with a, b), got ${task.task} ${task.setting}`);
      const lo = tf.tidy(() => anscombe(tf.zeros([1, 1, 1, 1]) as tf.Tensor4D, a, b).dataSync()[0]);
      const hi = tf.tidy(() => anscombe(tf.ones([1, 1, 1, 1]) as tf.Tensor4D, a, b).dataSync()[0]);
      const span = hi - lo;
      const z = tf.tidy(() => tf.div(tf.sub(anscombe(y, a, b), lo), span) as tf.Tensor4D);
      try {
        const problem = createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 1 / span }), y: z });
        const xs = tf.tidy(() => solver.run(z, problem, { x0: z }));
        const output = tf.tidy(() => to8bit(inverseAnscombe(tf.add(tf.mul(xs[xs.length - 1], span), lo) as tf.Tensor4D, a, b)));
        tf.dispose(xs);
        return { output };
      } finally {
        z.dispose();
      }
    },
  };
}
