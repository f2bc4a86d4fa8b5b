/** Recurrent inference machines (Putzky & Welling 2017) as a configurable learned solver. */
import { tf } from '../../engine/tf';
import { Problem } from '../../tasks/problem';
import { checkBlocks } from './conv';
import { CellGradient, cellGradient, checkCellGradient, DEFAULT_EPSILON, Epsilon, EpsilonConfig, measurementOnImageGrid, startPoint } from './data_term';
import { ParamOwner, ParamSet } from './params';
import { BenchCell, RimCell, StridedCell } from './rim_cell';
import { LearnedSolver, RunOptions } from './types';

/**
 * Configuration of a {@link Rim}. Every field has a default ({@link resolveRimConfig}).
 * @example
 * const paper: Partial<RimConfig> = { cell: 'strided', link: 'logistic', steps: 20 };
 * const noGrad: Partial<RimConfig> = { useGradient: false };
 */
export interface RimConfig {
  kind: 'rim';
  /** Image channels c: 1 (gray) or 3 (color). Default 1. */
  channels: number;
  /** Steps T (default 8, the RIM-bench setting; the paper uses 20). */
  steps: number;
  /** `'bench'` (default): the RIM-bench cell of `rim_torch.py`; `'strided'`: the paper's cell. */
  cell: 'bench' | 'strided';
  /** Feature channels F: bench cell default 32; strided cell: the conv features, default 64. */
  features: number;
  /** Hidden channels of the strided cell's GRU (default 256; the bench cell's GRUs have F). */
  hidden: number;
  /** Kernel of the strided cell's ConvGRU (default 1; see {@link StridedCell}). */
  gruKernel: number;
  /**
   * Residual blocks in the bench cell's read-out (see {@link BenchCell}; absent: none). They start
   * as the identity, so `init: { model, keepMissing: true }` deepens a trained RIM without changing
   * what it computes. Kept absent unless given, so that the configurations (and resume keys) of
   * earlier runs are unchanged.
   */
  blocks?: number;
  /**
   * `'identity'` (default): iterate on x. `'logistic'`: iterate on η with `x = sigmoid(η)`, start
   * `η₀ = logit(clip(x₀, δ, 1 − δ))`, δ = 1e-3, and feed the gradient with respect to η,
   * `sigmoid'(η) ⊙ g` (the chain rule through the link).
   */
  link: 'identity' | 'logistic';
  /** The stabiliser ε of the gradient `Aᵀ(y − Ax)/(σ² + ε)` (default learned, 1e-3 at start). */
  epsilon: EpsilonConfig;
  /** Ablation: false replaces the gradient channels by y (or Aᵀy), same parameter count. */
  useGradient: boolean;
  /**
   * Channels of y on the image grid seen instead of the gradient when `useGradient` is false
   * (absent: `channels`; e.g. 11 for a one-hot CamVid label map). Unused with the gradient. Kept
   * absent unless given, so that the configurations (and resume keys) of earlier runs are unchanged.
   */
  measurementChannels?: number;
  /**
   * The gradient fed to the cell: `'stabilised'` (absent: the RIM's `−∇L/(1 + εW)`) or `'rms'`,
   * `−∇L` over its root mean square per image, for operators whose Jacobian is far from unit
   * scale (through a segmenter `|∇L|` is ~10²–10³ per pixel). Kept absent unless given, so that
   * the configurations (and resume keys) of earlier runs are unchanged.
   */
  gradient?: CellGradient;
  /** Ablation: false resets the hidden state to zero at every step. */
  useState: boolean;
  /** Shared weights across steps (default true, the RIM); false: one cell per step. */
  sharedWeights: boolean;
  /** Seed of the weight initialisation (default 0). */
  seed: number;
}

/** Fills the defaults of a RIM configuration and checks it. */
export function resolveRimConfig(config: Partial<RimConfig> = {}): RimConfig {
  const cell = config.cell ?? 'bench';
  const out: RimConfig = {
    kind: 'rim',
    channels: config.channels ?? 1,
    steps: config.steps ?? 8,
    cell,
    features: config.features ?? (cell === 'bench' ? 32 : 64),
    hidden: config.hidden ?? (cell === 'bench' ? config.features ?? 32 : 256),
    gruKernel: config.gruKernel ?? (cell === 'bench' ? 3 : 1),
    ...(config.blocks !== undefined ? { blocks: config.blocks } : {}),
    link: config.link ?? 'identity',
    epsilon: { ...DEFAULT_EPSILON, ...(config.epsilon ?? {}) },
    useGradient: config.useGradient ?? true,
    ...(config.measurementChannels !== undefined ? { measurementChannels: config.measurementChannels } : {}),
    ...(config.gradient !== undefined ? { gradient: config.gradient } : {}),
    useState: config.useState ?? true,
    sharedWeights: config.sharedWeights ?? true,
    seed: config.seed ?? 0,
  };
  if ((config as { kind?: string }).kind !== undefined && (config as { kind?: string }).kind !== 'rim') {
    throw new Error(`RIM: config.kind must be 'rim', got ${JSON.stringify((config as { kind?: string }).kind)}`);
  }
  if (out.channels !== 1 && out.channels !== 3) throw new Error(`RIM: channels must be 1 or 3, got ${out.channels}`);
  for (const key of ['steps', 'features', 'hidden', 'gruKernel'] as const) {
    if (!Number.isInteger(out[key]) || out[key] < 1) throw new Error(`RIM: ${key} must be a positive integer, got ${out[key]}`);
  }
  if (out.blocks !== undefined) checkBlocks('RIM', out.blocks);
  if (out.cell !== 'bench' && (out.blocks ?? 0) > 0) throw new Error(`RIM: blocks (residual read-out) belong to the bench cell, not the ${out.cell} cell`);
  const m = out.measurementChannels;
  if (m !== undefined && (!Number.isInteger(m) || m < 1)) throw new Error(`RIM: measurementChannels must be a positive integer, got ${m}`);
  if (out.gradient !== undefined) checkCellGradient('RIM', out.gradient);
  if (out.cell !== 'bench' && out.cell !== 'strided') throw new Error(`RIM: cell must be 'bench' or 'strided', got ${JSON.stringify(out.cell)}`);
  if (out.cell === 'bench' && out.hidden !== out.features) throw new Error('RIM: the bench cell has hidden = features; set features only');
  if (out.link !== 'identity' && out.link !== 'logistic') throw new Error(`RIM: link must be 'identity' or 'logistic', got ${JSON.stringify(out.link)}`);
  return out;
}

const LINK_DELTA = 1e-3;

/**
 * A recurrent inference machine:
 *
 * `η_{t+1} = η_t + Δ_t`, `(Δ_t, s_{t+1}) = N_w([x_t, g_t], s_t)`, `x_t = Ψ(η_t)`,
 *
 * with `g_t = Aᵀ(y − A x_t)/(σ² + ε)` the stabilised log-likelihood gradient (learned ε =
 * softplus(s); any likelihood, see {@link cellGradient}), Ψ the identity or the
 * logistic link, and N_w the RIM-bench cell (default) or the paper's strided cell, with weights
 * shared across steps. Works with any operator: the gradient is always on the image grid.
 *
 * Ablations are flags: `useGradient: false` (g replaced by y, same parameters), `useState: false`
 * (state reset every step), `sharedWeights: false` (a cell per step).
 * @example
 * const rim = new Rim({ channels: 1, features: 32, steps: 8 });
 * const problem = createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y });
 * const xs = rim.run(y, problem); // 8 iterates [b, h, w, 1]
 * tf.dispose(xs);
 * rim.dispose();
 */
export class Rim extends ParamOwner implements LearnedSolver {
  readonly kind = 'rim' as const;
  readonly config: RimConfig;
  private readonly epsilon: Epsilon;
  private readonly cells: RimCell[];

  constructor(config: Partial<RimConfig> = {}) {
    const resolved = resolveRimConfig(config);
    super(new ParamSet(resolved.seed));
    this.config = resolved;
    const c = this.config;
    this.epsilon = new Epsilon(this.params, c.epsilon);
    const inChannels = c.channels + (c.useGradient ? c.channels : c.measurementChannels ?? c.channels); // [x, g] or [x, y on the grid]
    const makeCell = (prefix: string): RimCell =>
      c.cell === 'bench'
        ? new BenchCell(this.params, prefix, c.channels, c.features, inChannels, c.blocks ?? 0)
        : new StridedCell(this.params, prefix, c.channels, c.features, c.hidden, c.gruKernel, inChannels);
    this.cells = c.sharedWeights ? [makeCell('cell/')] : Array.from({ length: c.steps }, (_, t) => makeCell(`step${t}/cell/`));
  }

  run(y: tf.Tensor4D, problem: Problem, options: RunOptions = {}): tf.Tensor4D[] {
    const c = this.config;
    const steps = options.steps ?? c.steps;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`RIM.run: steps must be a positive integer, got ${steps}`);
    if (!c.sharedWeights && steps > c.steps) throw new Error(`RIM.run: per-step weights exist for ${c.steps} steps, asked for ${steps}`);
    const x0 = startPoint(problem, y, options.x0);
    if (x0.shape[3] !== c.channels) {
      x0.dispose();
      throw new Error(`RIM.run: images have ${x0.shape[3]} channels, the RIM was built for ${c.channels}`);
    }
    const logistic = c.link === 'logistic';
    // η: the iterated variable (x itself for the identity link).
    let eta = logistic
      ? tf.tidy(() => {
          const p = tf.clipByValue(x0, LINK_DELTA, 1 - LINK_DELTA);
          return tf.log(tf.div(p, tf.sub(1, p))) as tf.Tensor4D;
        })
      : x0;
    let x = logistic ? tf.sigmoid(eta) : x0; // [b, h, w, c]
    if (logistic) x0.dispose();
    let substitute: tf.Tensor4D | null = null;
    try {
      if (!c.useGradient) substitute = measurementOnImageGrid(problem, y, x.shape, { channels: c.measurementChannels ?? c.channels, solver: 'RIM' });
    } catch (err) {
      x.dispose();
      if (eta !== x) eta.dispose();
      throw err;
    }
    let state: tf.Tensor4D[] | null = null;
    const iterates: tf.Tensor4D[] = [];
    try {
      for (let t = 0; t < steps; t++) {
        const cell = this.cells[c.sharedWeights ? 0 : t];
        const out = tf.tidy(() => {
          let g: tf.Tensor4D;
          if (substitute) g = substitute;
          else {
            g = cellGradient(c.gradient ?? 'stabilised', problem.likelihood, x, y, this.epsilon); // [b, h, w, c]
            if (logistic) g = tf.mul(g, tf.mul(x, tf.sub(1, x))) as tf.Tensor4D; // ∂/∂η = Ψ'(η) ∂/∂x
          }
          const input = tf.concat([x, g], 3) as tf.Tensor4D; // [b, h, w, 2c] (c + m without the gradient)
          const { delta, state: next } = cell.step(input, c.useState ? state : null);
          const etaNext = tf.add(eta, delta) as tf.Tensor4D;
          const xNext = logistic ? (tf.sigmoid(etaNext) as tf.Tensor4D) : etaNext;
          return { etaNext, xNext, next };
        });
        if (state) tf.dispose(state);
        state = out.next;
        const [prevEta, prevX] = [eta, x];
        eta = out.etaNext;
        x = out.xNext;
        iterates.push(x);
        // Free what is not an iterate: the start point (x₀ and η₀), and every η of the logistic link.
        if (t === 0) {
          prevX.dispose();
          if (prevEta !== prevX) prevEta.dispose();
        } else if (logistic) prevEta.dispose();
      }
    } catch (err) {
      tf.dispose(iterates);
      if (iterates.length === 0) {
        x.dispose();
        if (eta !== x) eta.dispose();
      } else if (logistic) eta.dispose();
      throw err;
    } finally {
      if (state) tf.dispose(state);
      substitute?.dispose();
    }
    if (logistic) eta.dispose();
    return iterates;
  }
}
