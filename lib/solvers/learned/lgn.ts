/**
 * Learned regularised Gauss–Newton: a recurrent network refines a Gauss–Newton direction instead
 * of a plain gradient (after Burger & Kaltenbacher's iteratively regularised Gauss–Newton).
 */
import { tf } from '../../engine/tf';
import { Likelihood } from '../../likelihoods/types';
import { Problem } from '../../tasks/problem';
import { checkBlocks } from './conv';
import { CellGradient, cellGradient, checkCellGradient, DEFAULT_EPSILON, Epsilon, EpsilonConfig, fisherWeightOnImageGrid, inverseSoftplus, startPoint } from './data_term';
import { Damping, dotPerImage, gaussNewtonDirection, gaussNewtonRightHandSide, SolveGradient } from './gauss_newton_direction';
import { NamedTensor, ParamOwner, ParamSet } from './params';
import { BenchCell } from './rim_cell';
import { LearnedSolver, RunOptions } from './types';

/**
 * Configuration of an {@link Lgn}. Every field has a default ({@link resolveLgnConfig}).
 * @example
 * const noDirection: Partial<LgnConfig> = { useDirection: false }; // the RIM with the same cell
 */
export interface LgnConfig {
  kind: 'lgn';
  /** Image channels (default 1). */
  channels: number;
  /** Steps T (default 8). */
  steps: number;
  /** Features of the RIM-bench cell (default 32). */
  features: number;
  /** Residual blocks in the cell's read-out (as the RIM's `blocks`, {@link BenchCell}; absent: none, so earlier configurations are unchanged). */
  blocks?: number;
  /** CG iterations per step for the direction (default 5). */
  cgIterations: number;
  /** Gradients through the solve: unrolled CG (default) or implicit differentiation (linear operators only: a custom op cannot run autodiff through a segmenter). */
  solveGradient: SolveGradient;
  /**
   * The damping operator `R` of the system (`JᵀWJ + α_t w̄ R`): `'identity'` or `'smoothness'`
   * (`∇ᵀ∇ + 0.01 I`: fills the operator's null space smoothly, so that on super-resolution δ is not
   * a rescaled gradient). Absent: the identity, so earlier configurations are unchanged.
   */
  damping?: Damping;
  /**
   * How δ_t is scaled for the network: `'raw'` (absent: as solved, the earlier models) or
   * `'stabilised'`, `δ·W/(1 + εW)` with the Fisher weight W and the learned ε of the stabilised
   * gradient (for the Gaussian `δ/(σ² + ε)`), so that δ and the gradient input
   * `Aᵀ(y − Ax)/(σ² + ε)` have the same scale. Raw, δ is hundreds of times smaller than the
   * gradient input (at σ = 2/255: σ² + ε ≈ 0.002), and a network started with zero δ weights
   * never learns to use it (Adam moves a weight by about the learning rate per step).
   */
  directionScale?: 'raw' | 'stabilised';
  /** The damping α (relative to the mean Fisher weight): `softplus(a)`, learned, one per step or shared (default: per step, 0.1 at start). */
  alpha: { init: number; learn: boolean; perStep: boolean };
  /** ε of the stabilised likelihood gradient (as the RIM). */
  epsilon: EpsilonConfig;
  /** Feed the Gauss–Newton direction δ_t (default true). */
  useDirection: boolean;
  /** Feed the stabilised gradient ∇ log p (default true); false with `useDirection` true: `[x, δ]` only. */
  useGradient: boolean;
  /**
   * The gradient fed to the cell (as the RIM's option): `'stabilised'` (default, `−∇L/(1 + εW)`) or
   * `'rms'`, `−∇L` divided by its root mean square per image (unit scale whatever the likelihood's
   * scale: for the categorical likelihood through a segmenter, whose raw gradient is tiny).
   */
  gradient: CellGradient;
  /** false resets the hidden state every step. */
  useState: boolean;
  /** Seed of the weights (default 0). */
  seed: number;
}

/** Fills the defaults of a learned Gauss–Newton configuration and checks it. */
export function resolveLgnConfig(config: Partial<LgnConfig> = {}): LgnConfig {
  const out: LgnConfig = {
    kind: 'lgn',
    channels: config.channels ?? 1,
    steps: config.steps ?? 8,
    features: config.features ?? 32,
    ...(config.blocks !== undefined ? { blocks: config.blocks } : {}),
    cgIterations: config.cgIterations ?? 5,
    solveGradient: config.solveGradient ?? 'unrolled',
    ...(config.damping !== undefined ? { damping: config.damping } : {}),
    ...(config.directionScale !== undefined ? { directionScale: config.directionScale } : {}),
    alpha: { init: 0.1, learn: true, perStep: true, ...(config.alpha ?? {}) },
    epsilon: { ...DEFAULT_EPSILON, ...(config.epsilon ?? {}) },
    useDirection: config.useDirection ?? true,
    useGradient: config.useGradient ?? true,
    gradient: config.gradient ?? 'stabilised',
    useState: config.useState ?? true,
    seed: config.seed ?? 0,
  };
  if ((config as { kind?: string }).kind !== undefined && (config as { kind?: string }).kind !== 'lgn') {
    throw new Error(`LGN: config.kind must be 'lgn', got ${JSON.stringify((config as { kind?: string }).kind)}`);
  }
  if (out.channels !== 1 && out.channels !== 3) throw new Error(`LGN: channels must be 1 or 3, got ${out.channels}`);
  for (const key of ['steps', 'features', 'cgIterations'] as const) {
    if (!Number.isInteger(out[key]) || out[key] < 1) throw new Error(`LGN: ${key} must be a positive integer, got ${out[key]}`);
  }
  if (out.blocks !== undefined) checkBlocks('LGN', out.blocks);
  if (out.solveGradient !== 'unrolled' && out.solveGradient !== 'implicit') throw new Error(`LGN: solveGradient must be 'unrolled' or 'implicit', got ${JSON.stringify(out.solveGradient)}`);
  if (out.damping !== undefined && out.damping !== 'identity' && out.damping !== 'smoothness') throw new Error(`LGN: damping must be 'identity' or 'smoothness', got ${JSON.stringify(out.damping)}`);
  if (out.directionScale !== undefined && out.directionScale !== 'raw' && out.directionScale !== 'stabilised') throw new Error(`LGN: directionScale must be 'raw' or 'stabilised', got ${JSON.stringify(out.directionScale)}`);
  if (!(out.alpha.init > 0)) throw new Error(`LGN: alpha.init must be > 0, got ${out.alpha.init}`);
  checkCellGradient('LGN', out.gradient);
  if (!out.useDirection && !out.useGradient) throw new Error('LGN: useDirection and useGradient are both false: the network would see x only');
  return out;
}

/**
 * `v·W/(1 + εW)`, the scale of the stabilised gradient (W the likelihood's Fisher weight on the
 * image grid, as `stabilisedLogLikelihoodGradient` in data_term.ts uses it): the `'stabilised'` direction scale.
 */
function stabilisedScale(likelihood: Likelihood, x: tf.Tensor4D, v: tf.Tensor4D, eps: tf.Scalar): tf.Tensor4D {
  return tf.tidy(() => {
    const w = fisherWeightOnImageGrid(likelihood, x);
    return tf.div(tf.mul(v, w), tf.add(1, tf.mul(eps, w))) as tf.Tensor4D;
  });
}

/**
 * A learned Gauss–Newton solver:
 *
 * `x_{t+1} = x_t + Δ_t`, `(Δ_t, s_{t+1}) = N_w([x_t, δ_t, g_t], s_t)`,
 *
 * where `δ_t` solves `(JᵀWJ + α_t w̄ R) δ = JᵀW (y − A(x_t))` (R = I, or `∇ᵀ∇ + κ I` with `damping: 'smoothness'`) by `cgIterations` CG steps
 * ({@link gaussNewtonDirection}; J, W from the problem's likelihood, any operator) and `g_t` is
 * the RIM's stabilised gradient (or, with `gradient: 'rms'`, the RMS-normalised one);
 * `α_t = softplus(a_t)` learned per step (or shared); N_w is the RIM-bench cell with `3c` input
 * channels (`2c` when one input is dropped). The prior of the problem, if any, is not used (the
 * network is the regulariser).
 * @example
 * const lgn = new Lgn({ steps: 6, cgIterations: 5 });
 * const xs = lgn.run(y, problem, { x0 }); lgn.alphas(); // α_t per step
 */
export class Lgn extends ParamOwner implements LearnedSolver {
  readonly kind = 'lgn' as const;
  readonly config: LgnConfig;
  private readonly epsilon: Epsilon;
  private readonly cell: BenchCell;
  private readonly alphaRaw?: tf.Variable;

  constructor(config: Partial<LgnConfig> = {}) {
    const resolved = resolveLgnConfig(config);
    super(new ParamSet(resolved.seed));
    this.config = resolved;
    const c = resolved;
    this.epsilon = new Epsilon(this.params, c.epsilon);
    const inputs = c.channels * (1 + (c.useDirection ? 1 : 0) + (c.useGradient ? 1 : 0));
    this.cell = new BenchCell(this.params, 'cell/', c.channels, c.features, inputs, c.blocks ?? 0);
    if (c.alpha.learn) this.alphaRaw = this.params.constant('alpha/raw', [c.alpha.perStep ? c.steps : 1], inverseSoftplus(c.alpha.init));
  }

  /**
   * The same network with another linear solve: a new {@link Lgn} with these fields changed and a
   * copy of this one's weights (e.g. how much the CG count or the damping matter at test time,
   * `npm run evaluate -- … --cg-iterations N --damping smoothness`). The caller disposes both.
   * @example
   * const moreCg = lgn.withSolve({ cgIterations: 10 });
   */
  withSolve(overrides: Partial<Pick<LgnConfig, 'cgIterations' | 'damping'>>): Lgn {
    const unknown = Object.keys(overrides).filter((k) => k !== 'cgIterations' && k !== 'damping');
    if (unknown.length) throw new Error(`LGN.withSolve: only cgIterations and damping can change, got ${unknown.join(', ')}`);
    return this.copy({ ...this.config, ...overrides });
  }

  /**
   * A test-time ablation: the same network with the first convolution's weights for one input
   * (`'direction'` δ_t or `'gradient'` g_t) set to zero, so that it computes what it would with that
   * input always zero. A network that ignores an input gives (nearly) its own outputs back; e.g. on
   * SR ×3 the learned GN models, started from a RIM with a zero δ channel, never learned to use δ
   * (`npm run evaluate -- … --ablate direction`). The caller disposes both.
   * @example
   * const noDelta = lgn.ablated('direction');
   */
  ablated(input: 'direction' | 'gradient'): Lgn {
    const c = this.config;
    if (input !== 'direction' && input !== 'gradient') throw new Error(`LGN.ablated: input must be 'direction' or 'gradient', got ${JSON.stringify(input)}`);
    if (input === 'direction' ? !c.useDirection : !c.useGradient) throw new Error(`LGN.ablated: this LGN is built without the ${input} input`);
    const from = c.channels * (input === 'direction' ? 1 : 1 + (c.useDirection ? 1 : 0)); // inputs are [x, δ?, g?]
    const name = 'cell/c1/kernel';
    return this.copy(c, (weights) => {
      const kernel = weights.find((w) => w.name === name);
      if (!kernel || kernel.tensor.rank !== 4) throw new Error(`LGN.ablated: no 4-D ${name} among the weights`);
      const k = kernel.tensor;
      kernel.tensor = tf.tidy(() => {
        const inChannels = k.shape[2] as number;
        const keep = Array.from({ length: inChannels }, (_, i) => (i >= from && i < from + c.channels ? 0 : 1));
        return tf.mul(k, tf.reshape(tf.tensor1d(keep), [1, 1, inChannels, 1]));
      });
      k.dispose();
    });
  }

  /**
   * A new {@link Lgn} of `config` holding a copy of this one's weights, after `edit` (which may
   * replace tensors in the list, disposing the ones it replaces); disposed again if that fails.
   */
  private copy(config: LgnConfig, edit?: (weights: NamedTensor[]) => void): Lgn {
    const out = new Lgn(config);
    const weights = this.getWeights();
    try {
      edit?.(weights);
      out.setWeights(weights);
    } catch (err) {
      out.dispose();
      throw err;
    } finally {
      tf.dispose(weights.map((w) => w.tensor));
    }
    return out;
  }

  /** α_t for t = 1..T (read back; for figures). */
  alphas(): number[] {
    const c = this.config;
    if (!this.alphaRaw) return Array.from({ length: c.steps }, () => c.alpha.init);
    const v = tf.tidy(() => tf.softplus(this.alphaRaw as tf.Variable).dataSync());
    return c.alpha.perStep ? Array.from(v) : Array.from({ length: c.steps }, () => v[0]);
  }

  private alphaAt(t: number): tf.Scalar {
    const c = this.config;
    if (!this.alphaRaw) return tf.scalar(c.alpha.init);
    const i = c.alpha.perStep ? Math.min(t, c.steps - 1) : 0;
    return tf.tidy(() => tf.reshape(tf.softplus(tf.slice(this.alphaRaw as tf.Variable, [i], [1])), []) as tf.Scalar);
  }

  run(y: tf.Tensor4D, problem: Problem, options: RunOptions = {}): tf.Tensor4D[] {
    return this.iterate(y, problem, options);
  }

  /**
   * How far the Gauss–Newton direction the network is given departs from the gradient: runs as
   * {@link run} and returns, per step t = 1..T, the cosine between `δ_t` (the CG direction at
   * `x_t`) and the system's right-hand side `JᵀW(y − A(x_t))` (the negative likelihood gradient),
   * one value per image (NaN where `x_t` fits `y` exactly: no direction). 1 means the GN direction is a rescaled gradient: the network learns
   * nothing from it that the gradient input does not already say (e.g. an operator with
   * `AAᵀ ≈ c·I`, such as bicubic downsampling); lower values, new information (deblurring).
   * @returns `[T][b]` cosines
   * @example
   * lgn.directionCosines(y, problem).map((c) => mean(c)); // per step, mean over images
   */
  directionCosines(y: tf.Tensor4D, problem: Problem, options: RunOptions = {}): number[][] {
    const cosines: number[][] = [];
    const iterates = this.iterate(y, problem, options, (x, d) => {
      const rhs = tf.tidy(() => gaussNewtonRightHandSide(problem.likelihood, x, y, problem.likelihood.gaussNewtonWeight(x)));
      const cos = tf.tidy(() => {
        const norms = tf.sqrt(tf.mul(dotPerImage(d, d), dotPerImage(rhs, rhs)));
        return tf.where(tf.greater(norms, 0), tf.div(dotPerImage(d, rhs), tf.maximum(norms, 1e-30)), tf.fill(norms.shape, NaN)); // NaN: x_t fits y exactly
      });
      cosines.push(Array.from(cos.dataSync()));
      tf.dispose([rhs, cos]);
    });
    tf.dispose(iterates);
    return cosines;
  }

  /** The iteration of {@link run}; `observe(x_t, δ_t)` sees each step's direction (not owned) when given. */
  private iterate(y: tf.Tensor4D, problem: Problem, options: RunOptions, observe?: (x: tf.Tensor4D, direction: tf.Tensor4D) => void): tf.Tensor4D[] {
    const c = this.config;
    if (observe && !c.useDirection) throw new Error('LGN.directionCosines: this LGN is built without the GN direction (useDirection false)');
    const steps = options.steps ?? c.steps;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`LGN.run: steps must be a positive integer, got ${steps}`);
    const x0 = startPoint(problem, y, options.x0);
    if (x0.shape[3] !== c.channels) {
      x0.dispose();
      throw new Error(`LGN.run: images have ${x0.shape[3]} channels, the LGN was built for ${c.channels}`);
    }
    let x = x0;
    let state: tf.Tensor4D[] | null = null;
    const iterates: tf.Tensor4D[] = [];
    try {
      for (let t = 0; t < steps; t++) {
        const out = tf.tidy(() => {
          const parts: tf.Tensor4D[] = [x];
          if (c.useDirection) {
            const direction = gaussNewtonDirection(problem.likelihood, x, y, this.alphaAt(t), { iterations: c.cgIterations, gradient: c.solveGradient, damping: c.damping });
            observe?.(x, direction);
            parts.push(c.directionScale === 'stabilised' ? stabilisedScale(problem.likelihood, x, direction, this.epsilon.value()) : direction);
          }
          if (c.useGradient) parts.push(cellGradient(c.gradient, problem.likelihood, x, y, this.epsilon));
          const input = tf.concat(parts, 3) as tf.Tensor4D; // [b, h, w, 2c or 3c]
          const { delta, state: next } = this.cell.step(input, c.useState ? state : null);
          return { xNext: tf.add(x, delta) as tf.Tensor4D, next };
        });
        if (state) tf.dispose(state);
        state = out.next;
        if (t === 0) x.dispose();
        x = out.xNext;
        iterates.push(x);
      }
    } catch (err) {
      tf.dispose(iterates);
      if (iterates.length === 0) x.dispose();
      throw err;
    } finally {
      if (state) tf.dispose(state);
    }
    return iterates;
  }
}
