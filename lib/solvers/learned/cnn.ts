/**
 * A plain feed-forward CNN (DnCNN-style residual learning, Zhang et al. 2017, without batch
 * normalisation): `x = x0 − net(x0)` from the task's naive estimate `x0` (the noisy image, the
 * bicubic upsampling), no likelihood gradient, no iteration — the purely data-driven baseline of
 * the generalization study. It implements the learned-solver interface (its `run` returns the one
 * output, repeated for every step asked), so it trains with the same loop, batches and loss.
 */
import { tf } from '../../engine/tf';
import { sameShape } from '../../operators/linear';
import { Problem } from '../../tasks/problem';
import { stripUndefined } from '../../util/objects';
import { Conv2d } from './conv';
import { ParamOwner, ParamSet } from './params';
import { LearnedSolver, RunOptions } from './types';

/**
 * Configuration of a {@link Cnn}. Every field has a default ({@link resolveCnnConfig}).
 * @example
 * const c: Partial<CnnConfig> = { features: 32, depth: 15 }; // 120 833 parameters for one channel
 */
export interface CnnConfig {
  kind: 'cnn';
  /** Image channels (default 1). */
  channels: number;
  /** Features of the hidden layers (default 32). */
  features: number;
  /** 3×3 convolution layers, first and last included (default 15: about the RIM-bench cell's parameters). */
  depth: number;
  /** `steps` for the solver interface: the output is returned this many times (default 1). */
  steps: number;
  seed: number;
}

/** Fills the defaults of a CNN configuration and checks it. */
export function resolveCnnConfig(config: Partial<CnnConfig> = {}): CnnConfig {
  const out: CnnConfig = { kind: 'cnn', channels: 1, features: 32, depth: 15, steps: 1, seed: 0, ...stripUndefined(config) } as CnnConfig;
  for (const key of ['channels', 'features', 'steps'] as const) {
    if (!Number.isInteger(out[key]) || out[key] < 1) throw new Error(`CNN: ${key} must be a positive integer, got ${out[key]}`);
  }
  if (!Number.isInteger(out.depth) || out.depth < 2) throw new Error(`CNN: depth must be an integer >= 2 (first and last layer), got ${out.depth}`);
  return out;
}

/**
 * The residual CNN: `x = x0 − conv_D(relu(… relu(conv_1(x0))))`, all 3×3 "same" convolutions.
 * @example
 * const cnn = new Cnn({ channels: 1 });
 * const [x] = cnn.run(y, problem, { x0 }); // [b, h, w, 1]
 */
export class Cnn extends ParamOwner implements LearnedSolver {
  readonly kind = 'cnn' as const;
  readonly config: CnnConfig;
  private readonly layers: Conv2d[];

  constructor(config: Partial<CnnConfig> = {}) {
    const c = resolveCnnConfig(config);
    super(new ParamSet(c.seed));
    this.config = c;
    this.layers = Array.from({ length: c.depth }, (_, l) =>
      new Conv2d(this.params, `conv${l}`, { inChannels: l === 0 ? c.channels : c.features, outChannels: l === c.depth - 1 ? c.channels : c.features, kernel: 3 }),
    );
  }

  /** The restored image of a start `[b, h, w, channels]`. */
  restore(x0: tf.Tensor4D): tf.Tensor4D {
    if (x0.rank !== 4 || x0.shape[3] !== this.config.channels) throw new Error(`CNN: expects images [b, h, w, ${this.config.channels}], got [${x0.shape.join(', ')}]`);
    return tf.tidy(() => {
      let h = x0;
      this.layers.forEach((conv, l) => {
        h = conv.apply(h);
        if (l < this.layers.length - 1) h = tf.relu(h) as tf.Tensor4D;
      });
      return tf.sub(x0, h) as tf.Tensor4D;
    });
  }

  /**
   * Ignores the likelihood (that is the point of this baseline): restores the start point `x0`
   * (default `y` when the operator maps y's shape to itself, as for denoising) and returns `steps` copies.
   */
  run(y: tf.Tensor4D, problem: Problem, options: RunOptions = {}): tf.Tensor4D[] {
    const steps = options.steps ?? this.config.steps;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`CNN.run: steps must be a positive integer, got ${steps}`);
    let x0 = options.x0;
    if (!x0) {
      if (!sameShape(problem.likelihood.operator.outputShape(y.shape), y.shape)) throw new Error(`CNN.run: the operator ${problem.likelihood.operator.name} does not map y's shape to itself; give x0 (e.g. the bicubic upsampling)`);
      x0 = y;
    }
    const x = this.restore(x0);
    return [x, ...Array.from({ length: steps - 1 }, () => tf.clone(x))];
  }
}
