/**
 * A feed-forward SPADE-style generator (Park et al. 2019), the data-driven baseline of semantic
 * synthesis: label map → image in one pass, no likelihood gradient, no iteration. It implements
 * the learned-solver interface (its `run` returns the one output, repeated for every step asked),
 * so it trains with the same loop, batches and loss as the learned solvers.
 */
import { tf } from '../../engine/tf';
import { Problem } from '../../tasks/problem';
import { stripUndefined } from '../../util/objects';
import { Conv2d } from './conv';
import { ParamOwner, ParamSet } from './params';
import { LearnedSolver, RunOptions } from './types';

/**
 * Configuration of a {@link Spade} generator. Every field has a default ({@link resolveSpadeConfig}).
 * @example
 * const c: Partial<SpadeConfig> = { features: 32, blocks: 2 };
 */
export interface SpadeConfig {
  kind: 'spade';
  /** Output channels (default 3). */
  channels: number;
  /** Classes of the label map (default 11; the ignore label 11 maps to an all-zero one-hot). */
  classes: number;
  /** Features of the main path (default 32). */
  features: number;
  /** Hidden features of the SPADE modulation networks (default 32). */
  hidden: number;
  /** Residual SPADE blocks (default 2). */
  blocks: number;
  /** `steps` for the solver interface: the output is returned this many times (default 1). */
  steps: number;
  seed: number;
}

/** Fills the defaults of a SPADE configuration and checks it. */
export function resolveSpadeConfig(config: Partial<SpadeConfig> = {}): SpadeConfig {
  const out: SpadeConfig = { kind: 'spade', channels: 3, classes: 11, features: 32, hidden: 32, blocks: 2, steps: 1, seed: 0, ...stripUndefined(config) } as SpadeConfig;
  for (const key of ['channels', 'classes', 'features', 'hidden', 'blocks', 'steps'] as const) {
    if (!Number.isInteger(out[key]) || out[key] < 1) throw new Error(`SPADE: ${key} must be a positive integer, got ${out[key]}`);
  }
  return out;
}

/** Parameter-free instance normalisation over each image's spatial positions, per channel. */
function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor4D;
  });
}

/** `norm(h)·(1 + γ(s)) + β(s)` with γ, β from a small conv net of the one-hot labels s. */
class SpadeNorm {
  private readonly shared: Conv2d;
  private readonly gamma: Conv2d;
  private readonly beta: Conv2d;
  constructor(params: ParamSet, prefix: string, classes: number, hidden: number, features: number) {
    this.shared = new Conv2d(params, `${prefix}shared`, { inChannels: classes, outChannels: hidden, kernel: 3 });
    this.gamma = new Conv2d(params, `${prefix}gamma`, { inChannels: hidden, outChannels: features, kernel: 3 });
    this.beta = new Conv2d(params, `${prefix}beta`, { inChannels: hidden, outChannels: features, kernel: 3 });
  }
  apply(h: tf.Tensor4D, seg: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const a = tf.relu(this.shared.apply(seg)) as tf.Tensor4D;
      return tf.add(tf.mul(instanceNorm(h), tf.add(1, this.gamma.apply(a))), this.beta.apply(a)) as tf.Tensor4D;
    });
  }
}

/**
 * The generator: `h = conv(onehot(y))`; per block `h += conv(lrelu(SPADE(conv(lrelu(SPADE(h))))))`;
 * `x = sigmoid(conv(lrelu(SPADE(h))))`, everything at the label map's resolution.
 * @example
 * const g = new Spade({ features: 32, blocks: 2 });
 * const [x] = g.run(labels, problem); // [b, h, w, 3]
 */
export class Spade extends ParamOwner implements LearnedSolver {
  readonly kind = 'spade' as const;
  readonly config: SpadeConfig;
  private readonly head: Conv2d;
  private readonly blocks: { n1: SpadeNorm; c1: Conv2d; n2: SpadeNorm; c2: Conv2d }[];
  private readonly outNorm: SpadeNorm;
  private readonly out: Conv2d;

  constructor(config: Partial<SpadeConfig> = {}) {
    const c = resolveSpadeConfig(config);
    super(new ParamSet(c.seed));
    this.config = c;
    const F = c.features;
    this.head = new Conv2d(this.params, 'head', { inChannels: c.classes, outChannels: F, kernel: 3 });
    this.blocks = Array.from({ length: c.blocks }, (_, b) => ({
      n1: new SpadeNorm(this.params, `block${b}/n1/`, c.classes, c.hidden, F),
      c1: new Conv2d(this.params, `block${b}/c1`, { inChannels: F, outChannels: F, kernel: 3 }),
      n2: new SpadeNorm(this.params, `block${b}/n2/`, c.classes, c.hidden, F),
      c2: new Conv2d(this.params, `block${b}/c2`, { inChannels: F, outChannels: F, kernel: 3 }),
    }));
    this.outNorm = new SpadeNorm(this.params, 'out/n/', c.classes, c.hidden, F);
    this.out = new Conv2d(this.params, 'out/conv', { inChannels: F, outChannels: c.channels, kernel: 3 });
  }

  /** The one-hot of a label map `[b, h, w, 1]` (labels ≥ classes, e.g. the ignore label, give zeros). */
  oneHot(y: tf.Tensor4D): tf.Tensor4D {
    if (y.rank !== 4 || y.shape[3] !== 1) throw new Error(`SPADE: expects a label map [b, h, w, 1], got [${y.shape.join(', ')}]`);
    const [b, h, w] = y.shape;
    return tf.tidy(() => tf.reshape(tf.cast(tf.oneHot(tf.cast(tf.reshape(y, [b, h, w]), 'int32'), this.config.classes), 'float32'), [b, h, w, this.config.classes]) as tf.Tensor4D);
  }

  /** The synthesis of a label map `[b, h, w, 1]`: `[b, h, w, channels]` in (0, 1). */
  generate(y: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const seg = this.oneHot(y);
      let h = this.head.apply(seg);
      for (const k of this.blocks) {
        const r = k.c2.apply(tf.leakyRelu(k.n2.apply(k.c1.apply(tf.leakyRelu(k.n1.apply(h, seg), 0.2) as tf.Tensor4D), seg), 0.2) as tf.Tensor4D);
        h = tf.add(h, r) as tf.Tensor4D;
      }
      return tf.sigmoid(this.out.apply(tf.leakyRelu(this.outNorm.apply(h, seg), 0.2) as tf.Tensor4D)) as tf.Tensor4D;
    });
  }

  /** The generator ignores the problem (no likelihood, no start point): `steps` copies of its one output. */
  run(y: tf.Tensor4D, _problem: Problem, options: RunOptions = {}): tf.Tensor4D[] {
    const steps = options.steps ?? this.config.steps;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`SPADE.run: steps must be a positive integer, got ${steps}`);
    const x = this.generate(y);
    return [x, ...Array.from({ length: steps - 1 }, () => tf.clone(x))];
  }
}
