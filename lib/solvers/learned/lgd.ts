/** Learned gradient descent (Adler & Öktem 2017) as a configurable learned solver. */
import { tf } from '../../engine/tf';
import { totalVariation } from '../../priors/total_variation';
import { Prior } from '../../priors/types';
import { Problem } from '../../tasks/problem';
import { checkBlocks, Conv2d } from './conv';
import {
  DEFAULT_EPSILON,
  Epsilon,
  EpsilonConfig,
  measurementOnImageGrid,
  normalisedDataGradient,
  rmsNormalised,
  stabilisedLogLikelihoodGradient,
  startPoint,
} from './data_term';
import { ParamOwner, ParamSet } from './params';
import { LearnedSolver, RunOptions } from './types';

/**
 * Configuration of an {@link Lgd}. Every field has a default ({@link resolveLgdConfig}).
 * @example
 * const perStep: Partial<LgdConfig> = { sharedWeights: false, steps: 10 };
 */
export interface LgdConfig {
  kind: 'lgd';
  /** Image channels c: 1 or 3 (default 1). */
  channels: number;
  /** Steps T (default 10, as published). */
  steps: number;
  /** Memory channels (default 5, as published). */
  memory: number;
  /** Features of the two hidden convolutions (default 32). */
  features: number;
  /** Shared weights across steps (default true); false: one network per step. */
  sharedWeights: boolean;
  /**
   * The data-term gradient fed to the network: `'normalised'` (default), `∇L/W = Aᵀ(Ax − y)` for
   * Gaussian noise, the gradient of `½‖Ax − y‖²` as in Adler & Öktem; or `'stabilised'`, the RIM's
   * `Aᵀ(Ax − y)/(σ² + ε)` with learned ε. (With relu layers and no bounded nonlinearity, LGD's
   * update is unbounded: at σ = 5/255 the stabilised gradient is ~700× the residual, and an
   * untrained 10-step LGD fed with it blows up to infinity. The normalised one keeps inputs O(1).)
   * `'rms'`: `∇L` divided by its root mean square per image, a unit-scale direction for
   * operators whose Jacobian is far from unit scale: through a segmenter `|∇L|` is ~10²–10³ per
   * pixel, and the normalised gradient blows an untrained LGD up just the same.
   */
  dataGradient: 'normalised' | 'stabilised' | 'rms';
  /** ε of the `'stabilised'` data gradient (default learned, 1e-3; unused and not created otherwise). */
  epsilon: EpsilonConfig;
  /**
   * The prior whose gradient is an input when the problem has none: smoothed TV with this
   * weight and smoothing (default λ = 1, ε = 0.01; a unit-scale feature, the network learns
   * its weight).
   */
  prior: { lambda: number; epsilon: number };
  /** Ablation: false replaces the data-term gradient by y (or Aᵀy), same parameter count. */
  useGradient: boolean;
  /**
   * Channels of y on the image grid seen instead of the data-term gradient when `useGradient` is
   * false (absent: `channels`; e.g. 11 for a one-hot CamVid label map). Kept absent unless given,
   * so that the configurations (and resume keys) of earlier runs are unchanged.
   */
  measurementChannels?: number;
  /** Ablation: false replaces the prior gradient by zeros, same parameter count. */
  usePriorGradient: boolean;
  /** Ablation: false resets the memory to zero at every step. */
  useState: boolean;
  /** Seed of the weight initialisation (default 0). */
  seed: number;
  /**
   * Residual blocks of the update network (default 0: Adler & Öktem's three convolutions). With
   * `blocks > 0`: conv → `blocks` × (conv, relu, conv, + skip) → relu → conv, all `features` wide
   * (the seed project's MSRResNet-style update network: 64 features, 4 blocks, ~300k parameters;
   * 40 features and 4 blocks match the RIM's ~122k).
   */
  blocks: number;
}

/** Fills the defaults of an LGD configuration and checks it. */
export function resolveLgdConfig(config: Partial<LgdConfig> = {}): LgdConfig {
  const out: LgdConfig = {
    kind: 'lgd',
    channels: config.channels ?? 1,
    steps: config.steps ?? 10,
    memory: config.memory ?? 5,
    features: config.features ?? 32,
    sharedWeights: config.sharedWeights ?? true,
    dataGradient: config.dataGradient ?? 'normalised',
    epsilon: { ...DEFAULT_EPSILON, ...(config.epsilon ?? {}) },
    prior: { lambda: 1, epsilon: 0.01, ...(config.prior ?? {}) },
    useGradient: config.useGradient ?? true,
    ...(config.measurementChannels !== undefined ? { measurementChannels: config.measurementChannels } : {}),
    usePriorGradient: config.usePriorGradient ?? true,
    useState: config.useState ?? true,
    seed: config.seed ?? 0,
    blocks: config.blocks ?? 0,
  };
  const kind = (config as { kind?: string }).kind;
  if (kind !== undefined && kind !== 'lgd') throw new Error(`LGD: config.kind must be 'lgd', got ${JSON.stringify(kind)}`);
  if (out.channels !== 1 && out.channels !== 3) throw new Error(`LGD: channels must be 1 or 3, got ${out.channels}`);
  if (out.dataGradient !== 'normalised' && out.dataGradient !== 'stabilised' && out.dataGradient !== 'rms') {
    throw new Error(`LGD: dataGradient must be 'normalised', 'stabilised' or 'rms', got ${JSON.stringify(out.dataGradient)}`);
  }
  for (const key of ['steps', 'memory', 'features'] as const) {
    if (!Number.isInteger(out[key]) || out[key] < 1) throw new Error(`LGD: ${key} must be a positive integer, got ${out[key]}`);
  }
  const m = out.measurementChannels;
  if (m !== undefined && (!Number.isInteger(m) || m < 1)) throw new Error(`LGD: measurementChannels must be a positive integer, got ${m}`);
  checkBlocks('LGD', out.blocks);
  return out;
}

/** The residual update network of {@link LgdConfig.blocks}: `[x, s, ∇data, ∇prior] → c + memory`. */
class LgdResNet {
  private readonly head: Conv2d;
  private readonly blocks: [Conv2d, Conv2d][];
  private readonly tail: Conv2d;
  constructor(params: ParamSet, prefix: string, c: number, memory: number, features: number, blocks: number, inChannels = 3 * c + memory) {
    this.head = new Conv2d(params, `${prefix}head`, { inChannels, outChannels: features, kernel: 3 });
    this.blocks = Array.from({ length: blocks }, (_, b) => [
      new Conv2d(params, `${prefix}block${b}/conv1`, { inChannels: features, outChannels: features, kernel: 3 }),
      new Conv2d(params, `${prefix}block${b}/conv2`, { inChannels: features, outChannels: features, kernel: 3 }),
    ]);
    this.tail = new Conv2d(params, `${prefix}tail`, { inChannels: features, outChannels: c + memory, kernel: 3 });
  }
  apply(input: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.head.apply(input); // [b, h, w, F]
      for (const [c1, c2] of this.blocks) h = tf.add(h, c2.apply(tf.relu(c1.apply(h)) as tf.Tensor4D)) as tf.Tensor4D;
      return this.tail.apply(tf.relu(h) as tf.Tensor4D); // [b, h, w, c + memory]
    });
  }
}

/** The per-step network: 3×3 convs `[x, s, ∇data, ∇prior] → F → F → c + memory`, relu between. */
class LgdNet {
  private readonly convs: Conv2d[];
  constructor(params: ParamSet, prefix: string, c: number, memory: number, features: number, inChannels = 3 * c + memory) {
    this.convs = [
      new Conv2d(params, `${prefix}conv1`, { inChannels, outChannels: features, kernel: 3 }),
      new Conv2d(params, `${prefix}conv2`, { inChannels: features, outChannels: features, kernel: 3 }),
      new Conv2d(params, `${prefix}conv3`, { inChannels: features, outChannels: c + memory, kernel: 3 }),
    ];
  }
  apply(input: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const h1 = tf.relu(this.convs[0].apply(input)); // [b, h, w, F]
      const h2 = tf.relu(this.convs[1].apply(h1)); // [b, h, w, F]
      return this.convs[2].apply(h2); // [b, h, w, c + memory]
    });
  }
}

/**
 * Learned gradient descent:
 *
 * `(Δ_t, s'_t) = N_w([x_t, s_t, ∇_x D(x_t), ∇φ(x_t)])`, `x_{t+1} = x_t + Δ_t`, `s_{t+1} = relu(s'_t)`
 *
 * with the data-term gradient `∇D = Aᵀ(Ax − y)` (the likelihood gradient with the noise level divided
 * out, {@link normalisedDataGradient}; any likelihood; or the RIM's stabilised one, see
 * `dataGradient`), the prior gradient of the
 * problem's prior (or of the configured TV when the problem has none), a memory `s` of 5
 * channels (zero at start), and N_w three 3×3 convolutions (32, 32, c + 5) with relu (Adler &
 * Öktem use PReLU; relu keeps it simple and has no extra weights). Weights shared across steps by
 * default, or one network per step (`sharedWeights: false`).
 * @example
 * const lgd = new Lgd({ channels: 1, steps: 10 });
 * const xs = lgd.run(y, problem);
 * tf.dispose(xs);
 * lgd.dispose();
 */
export class Lgd extends ParamOwner implements LearnedSolver {
  readonly kind = 'lgd' as const;
  readonly config: LgdConfig;
  private readonly epsilon?: Epsilon;
  private readonly nets: Array<LgdNet | LgdResNet>;
  private readonly defaultPrior: Prior;

  constructor(config: Partial<LgdConfig> = {}) {
    const resolved = resolveLgdConfig(config);
    super(new ParamSet(resolved.seed));
    this.config = resolved;
    const c = this.config;
    if (c.dataGradient === 'stabilised') this.epsilon = new Epsilon(this.params, c.epsilon);
    const inChannels = 2 * c.channels + c.memory + (c.useGradient ? c.channels : c.measurementChannels ?? c.channels); // [x, s, data, prior]
    const make = (prefix: string) =>
      c.blocks > 0
        ? new LgdResNet(this.params, prefix, c.channels, c.memory, c.features, c.blocks, inChannels)
        : new LgdNet(this.params, prefix, c.channels, c.memory, c.features, inChannels);
    this.nets = c.sharedWeights ? [make('net/')] : Array.from({ length: c.steps }, (_, t) => make(`step${t}/net/`));
    this.defaultPrior = totalVariation(c.prior);
  }

  run(y: tf.Tensor4D, problem: Problem, options: RunOptions = {}): tf.Tensor4D[] {
    const c = this.config;
    const steps = options.steps ?? c.steps;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`LGD.run: steps must be a positive integer, got ${steps}`);
    if (!c.sharedWeights && steps > c.steps) throw new Error(`LGD.run: per-step weights exist for ${c.steps} steps, asked for ${steps}`);
    let x = startPoint(problem, y, options.x0);
    if (x.shape[3] !== c.channels) {
      x.dispose();
      throw new Error(`LGD.run: images have ${x.shape[3]} channels, the LGD was built for ${c.channels}`);
    }
    const [b, h, w] = x.shape;
    const prior = problem.prior ?? this.defaultPrior;
    let substitute: tf.Tensor4D | null = null;
    try {
      if (!c.useGradient) substitute = measurementOnImageGrid(problem, y, x.shape, { channels: c.measurementChannels ?? c.channels, solver: 'LGD' });
    } catch (err) {
      x.dispose();
      throw err;
    }
    let memory: tf.Tensor4D = tf.zeros([b, h, w, c.memory]);
    const iterates: tf.Tensor4D[] = [];
    try {
      for (let t = 0; t < steps; t++) {
        const net = this.nets[c.sharedWeights ? 0 : t];
        const out = tf.tidy(() => {
          const dataGrad =
            substitute ??
            (this.epsilon
              ? tf.neg(stabilisedLogLikelihoodGradient(problem.likelihood, x, y, this.epsilon.value()))
              : c.dataGradient === 'rms'
                ? rmsNormalised(problem.likelihood.grad(x, y))
                : normalisedDataGradient(problem.likelihood, x, y)); // [b, h, w, c]
          const priorGrad = c.usePriorGradient ? prior.grad(x) : tf.zerosLike(x); // [b, h, w, c]
          const s = c.useState ? memory : tf.zerosLike(memory); // [b, h, w, m]
          const input = tf.concat([x, s, dataGrad, priorGrad], 3) as tf.Tensor4D; // [b, h, w, 3c + m] (data: y's channels without the gradient)
          const o = net.apply(input); // [b, h, w, c + m]
          const [dx, ds] = tf.split(o, [c.channels, c.memory], 3);
          return { x: tf.add(x, dx) as tf.Tensor4D, memory: tf.relu(ds) as tf.Tensor4D };
        });
        if (t === 0) x.dispose(); // x0 is not an iterate
        memory.dispose();
        x = out.x;
        memory = out.memory;
        iterates.push(x);
      }
    } catch (err) {
      if (iterates.length === 0) x.dispose();
      tf.dispose(iterates);
      throw err;
    } finally {
      memory.dispose();
      substitute?.dispose();
    }
    return iterates;
  }
}
