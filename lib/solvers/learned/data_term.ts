/**
 * What learned solvers read from a problem: the start point, the stabilised likelihood gradient
 * with its learned ε, and the stand-in for that gradient in the "no gradient" ablation.
 */
import { tf } from '../../engine/tf';
import { formatShape, sameShape } from '../../engine/shapes';
import { Likelihood } from '../../likelihoods/types';
import { isLinear } from '../../operators/types';
import { Problem } from '../../tasks/problem';
import { ParamSet } from './params';

/**
 * The stabiliser ε of the likelihood gradient.
 * @example
 * const eps: EpsilonConfig = { learn: true, init: 1e-3 };
 */
export interface EpsilonConfig {
  /** Learn ε = softplus(s) (one trainable scalar s; default true). */
  learn: boolean;
  /** ε at initialisation (default 1e-3; `learn: false, init: 0` gives the plain gradient). */
  init: number;
}

/** Default ε: learned, starting at 1e-3. */
export const DEFAULT_EPSILON: EpsilonConfig = { learn: true, init: 1e-3 };

/** `softplus⁻¹(e) = log(exp(e) − 1)`, computed stably. */
export function inverseSoftplus(e: number): number {
  if (!(e > 0)) throw new Error(`inverseSoftplus: needs e > 0, got ${e}`);
  return e > 20 ? e : e + Math.log(-Math.expm1(-e));
}

/**
 * The stabiliser ε of `Aᵀ(y − Ax)/(σ² + ε)`: `softplus(s)` with a trainable scalar `s` (weight
 * name `epsilon/raw`), or a constant ≥ 0.
 */
export class Epsilon {
  private readonly raw?: tf.Variable;
  private readonly constant: number;

  constructor(params: ParamSet, config: EpsilonConfig) {
    if (!(config.init >= 0 && Number.isFinite(config.init))) throw new Error(`epsilon.init must be finite and >= 0, got ${config.init}`);
    if (config.learn && !(config.init > 0)) throw new Error('epsilon.init must be > 0 when epsilon is learned (ε = softplus(s) > 0)');
    this.constant = config.init;
    if (config.learn) this.raw = params.constant('epsilon/raw', [], inverseSoftplus(config.init));
  }

  /** ε as a scalar tensor (differentiable when learned). */
  value(): tf.Scalar {
    return this.raw ? (tf.softplus(this.raw) as tf.Scalar) : tf.scalar(this.constant);
  }
}

/**
 * The gradient of the log-likelihood, stabilised:
 *
 * `g = ∇ₓ log p(y | x) · 1/(1 + ε·W(x)) = −∇ₓL · σ²/(σ² + ε)`
 *
 * where `W = likelihood.gaussNewtonWeight(x)` is the Fisher weight of the measurement. For the
 * Gaussian likelihood `W = 1/σ²` and `g = Aᵀ(y − Ax)/(σ² + ε)` exactly (the RIM paper's input).
 * For Poisson–Gaussian, `W = 1/v + a²/(2v²)` with the local variance `v = a·A(x) + b`, so `1/W`
 * plays the role of a per-pixel σ²: the factor is applied per pixel when `W` has the image's
 * shape (e.g. denoising, `A = I`), and as its per-image mean otherwise (e.g. blur or
 * downsampling, where the measurement grid is not the image grid). With ε = 0 it is the plain
 * `∇ log p`.
 * @param likelihood the data term (with its operator)
 * @param x the current image `[b, h, w, c]`
 * @param y the measurement
 * @param eps ε (scalar tensor)
 * @returns `[b, h, w, c]`
 */
export function stabilisedLogLikelihoodGradient(likelihood: Likelihood, x: tf.Tensor4D, y: tf.Tensor4D, eps: tf.Scalar): tf.Tensor4D {
  return tf.tidy(() => {
    const grad = likelihood.grad(x, y); // ∇L = −∇ log p, [b, h, w, c]
    const w = fisherWeightOnImageGrid(likelihood, x); // 1/σ², broadcasts against x
    return tf.div(tf.neg(grad), tf.add(1, tf.mul(eps, w))) as tf.Tensor4D;
  });
}

/**
 * The data-term gradient with the noise level divided out, `∇L / W(x)`: for the Gaussian
 * likelihood exactly `Aᵀ(Ax − y)`, the gradient of `½‖Ax − y‖²` that learned gradient descent
 * (Adler & Öktem) feeds its network. `W` as in {@link stabilisedLogLikelihoodGradient}.
 * @returns `[b, h, w, c]`
 */
export function normalisedDataGradient(likelihood: Likelihood, x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.div(likelihood.grad(x, y), fisherWeightOnImageGrid(likelihood, x)) as tf.Tensor4D);
}

/**
 * The likelihood's Fisher (Gauss–Newton) weight `W(x)` in a shape that broadcasts against the
 * image: as given when it is a scalar, per image (`[b, 1, 1, 1]`) or image-shaped; else (a
 * per-pixel weight on a measurement grid other than the image grid) its per-image mean.
 */
export function fisherWeightOnImageGrid(likelihood: Likelihood, x: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const w = likelihood.gaussNewtonWeight(x); // broadcasts against A(x)
    const perImage = w.rank === 0 || (w.rank === 4 && w.shape[1] === 1 && w.shape[2] === 1 && w.shape[3] === 1);
    return perImage || sameShape(w.shape, x.shape) ? w : tf.mean(w, [1, 2, 3], true); // [b, 1, 1, 1]
  });
}

/**
 * `y` brought to the image grid: the likelihood's own view when it has one (the categorical
 * likelihood's one-hot label map, `K` channels), else `y` when shapes match, else `Aᵀy` for a
 * linear operator. The input that replaces the likelihood gradient in the "no gradient"
 * ablation (with `y` or `Aᵀy` the network keeps exactly the same channels and parameters; a
 * one-hot needs the solver's `measurementChannels`). With `expected`, a result of other than
 * `expected.channels` channels is an error naming the solver.
 */
export function measurementOnImageGrid(problem: Problem, y: tf.Tensor4D, xShape: readonly number[], expected?: { channels: number; solver: string }): tf.Tensor4D {
  const out = onImageGrid(problem, y, xShape);
  if (expected && out.shape[3] !== expected.channels) {
    const got = out.shape[3];
    out.dispose();
    throw new Error(`${expected.solver}.run: y on the image grid has ${got} channel(s), the no-gradient ${expected.solver} was built for ${expected.channels} (measurementChannels)`);
  }
  return out;
}

function onImageGrid(problem: Problem, y: tf.Tensor4D, xShape: readonly number[]): tf.Tensor4D {
  const own = problem.likelihood.measurementOnImageGrid;
  if (own) return own(y, xShape);
  if (sameShape(y.shape, xShape)) return tf.clone(y);
  const A = problem.operator;
  if (isLinear(A)) return A.adjoint(y);
  throw new Error(`no-gradient ablation: y ${formatShape(y.shape)} is not on the image grid ${formatShape(xShape)} and ${A.name} is not linear (no Aᵀy)`);
}

/**
 * The default start point: `Aᵀy` for a linear operator; `y` when the (non-linear) operator maps
 * y's shape to itself; otherwise `x0` must be given.
 * @returns a new tensor (the caller disposes it), checked against the problem
 */
export function startPoint(problem: Problem, y: tf.Tensor4D, x0?: tf.Tensor4D): tf.Tensor4D {
  let x: tf.Tensor4D;
  if (x0) x = tf.clone(x0);
  else {
    const A = problem.operator;
    if (isLinear(A)) x = A.adjoint(y);
    else {
      let maps = false;
      try {
        maps = sameShape(A.outputShape(y.shape), y.shape);
      } catch {
        maps = false;
      }
      if (!maps) throw new Error(`learned solver: ${A.name} is non-linear and does not map y's shape ${formatShape(y.shape)} to itself; pass x0`);
      x = tf.clone(y);
    }
  }
  try {
    problem.checkInput(x, 'x0');
  } catch (err) {
    x.dispose();
    throw err;
  }
  return x;
}

/**
 * `g / sqrt(mean over each image of g² + 1e-12)`, `[b, h, w, c]`. The 1e-12 sits inside the root:
 * an image whose gradient is exactly 0 (e.g. a patch of ignored labels) would otherwise give
 * sqrt's infinite derivative at 0, and NaN in the training gradient.
 */
export function rmsNormalised(g: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.div(g, tf.sqrt(tf.add(tf.mean(tf.square(g), [1, 2, 3], true), 1e-12))) as tf.Tensor4D);
}

/** Which likelihood gradient a RIM-style cell sees ({@link cellGradient}). */
export type CellGradient = 'stabilised' | 'rms';

/**
 * The gradient input of a RIM-style cell (the RIM's and the learned GN's `gradient` option):
 * `'stabilised'`, the stabilised log-likelihood gradient `−∇L/(1 + εW)` with the learned `ε`
 * ({@link stabilisedLogLikelihoodGradient}), or `'rms'`, `−∇L` over its root mean square per image
 * ({@link rmsNormalised}: unit scale whatever the likelihood's scale). `[b, h, w, c]`.
 * @example
 * const g = cellGradient('rms', problem.likelihood, x, y, epsilon);
 */
export function cellGradient(kind: CellGradient, likelihood: Likelihood, x: tf.Tensor4D, y: tf.Tensor4D, epsilon: Epsilon): tf.Tensor4D {
  return kind === 'rms'
    ? tf.tidy(() => tf.neg(rmsNormalised(likelihood.grad(x, y))) as tf.Tensor4D)
    : stabilisedLogLikelihoodGradient(likelihood, x, y, epsilon.value());
}

/**
 * Checks a `gradient` option ({@link CellGradient}); `who` prefixes the error (e.g. `'RIM'`).
 * @throws `<who>: gradient must be 'stabilised' or 'rms', got <value>`
 */
export function checkCellGradient(who: string, value: unknown): void {
  if (value !== 'stabilised' && value !== 'rms') throw new Error(`${who}: gradient must be 'stabilised' or 'rms', got ${JSON.stringify(value)}`);
}
