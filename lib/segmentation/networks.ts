/**
 * The two CamVid segmenters: `φ`, a small U-Net (the network every synthesis solver differentiates
 * through), and `φ'`, a dilated fully-convolutional network of another shape and seed (the
 * independent evaluator). Both map images `[b, h, w, 3]` in [0, 1] to logits `[b, h, w, 11]`,
 * keep their weights in a seeded {@link ParamSet} (named, bit-identical for a seed), and share
 * the {@link Segmenter} interface.
 *
 * Sizes that do not divide: CamVid is 240×180 and 180 is not divisible by 8. Each network pads
 * its input by mirror reflection (no new edges) at the bottom and right to the next multiple of its
 * total stride (U-Net: 2^levels, 8 by default, so 180 → 184; dilated FCN: 4, 180 stays) and crops
 * the logits back to `[h, w]`. So every input size works, the full 240×180 frame is seen at
 * evaluation, and training crops can be any size.
 */
import { tf } from '../engine/tf';
import { Conv2d } from '../solvers/learned/conv';
import { NamedTensor, ParamOwner, ParamSet } from '../solvers/learned/params';
import { stripUndefined } from '../util/objects';
import { CAMVID_NUM_CLASSES } from './camvid';

/** Activation of the hidden layers. */
export type SegActivation = 'relu' | 'leaky' | 'elu';

/** `φ`: a U-Net. */
export interface UNetConfig {
  kind: 'unet';
  /** Channels of the first level (doubled at each level; default 16). */
  width: number;
  /** Number of 2× poolings (default 3: 1/8 resolution at the bottleneck). */
  levels: number;
  /** Dilation of the bottleneck's two convolutions (default 2, for context at low cost). */
  bottleneckDilation: number;
  /**
   * 2×2 pooling: `'avg'` (default; a reshape and a mean, differentiable to any order) or `'max'`.
   * φ must be twice differentiable: a learned solver trained through `∇ₓ L(φ(x), y)` backpropagates
   * through the segmenter's gradient, and tfjs has no gradient for MaxPoolGrad.
   */
  pool: 'avg' | 'max';
  activation: SegActivation;
  /** Seed of the weights (default 0). */
  seed: number;
}

/** `φ'`: a dilated FCN at 1/4 resolution with bilinear upsampling of its logits. */
export interface DilatedConfig {
  kind: 'dilated';
  /** Channels of the stem (the context blocks have twice as many; default 32). */
  width: number;
  /** Dilations of the residual context blocks (default [1, 2, 4, 8, 16, 1]). */
  dilations: number[];
  activation: SegActivation;
  /** Seed of the weights (default 1). */
  seed: number;
}

/** A segmenter's configuration (all fields filled: {@link resolveSegmenterConfig}). */
export type SegmenterConfig = UNetConfig | DilatedConfig;
/** What a config file may give (missing fields take defaults). */
export type SegmenterConfigInput = ({ kind: 'unet' } & Partial<UNetConfig>) | ({ kind: 'dilated' } & Partial<DilatedConfig>);

/**
 * The common interface of the segmenters.
 * @example
 * const phi = createSegmenter({ kind: 'unet' });
 * const logits = phi.logits(x);           // [b, h, w, 11]
 * const classes = phi.predict(x);         // [b, h, w] int32
 * phi.dispose();
 */
export interface Segmenter {
  readonly kind: SegmenterConfig['kind'];
  readonly config: SegmenterConfig;
  /** Number of classes of the logits (11: CamVid without Unlabelled); what `segmentationOperator` reads. */
  readonly classes: number;
  /** Logits `[b, h, w, 11]` of images `[b, h, w, 3]` in [0, 1]. */
  logits(x: tf.Tensor4D): tf.Tensor4D;
  /** The most likely class of every pixel, `[b, h, w]` int32. */
  predict(x: tf.Tensor4D): tf.Tensor3D;
  /**
   * Penultimate-layer features (the input of the 1×1 classification head), averaged over the
   * image: `[b, d]`. What the Fréchet distance of semantic synthesis compares (`d` = 64 for `φ'`).
   */
  features(x: tf.Tensor4D): tf.Tensor2D;
  paramCount(): number;
  trainableVariables(): tf.Variable[];
  getWeights(): NamedTensor[];
  setWeights(weights: NamedTensor[] | tf.NamedTensorMap): void;
  dispose(): void;
}

/**
 * Fills the defaults of a segmenter configuration.
 * @example
 * resolveSegmenterConfig({ kind: 'unet' }); // { kind: 'unet', width: 16, levels: 3, bottleneckDilation: 2, activation: 'relu', seed: 0 }
 */
export function resolveSegmenterConfig(c: SegmenterConfigInput): SegmenterConfig {
  if (c.kind === 'unet') return { kind: 'unet', width: 16, levels: 3, bottleneckDilation: 2, pool: 'avg', activation: 'relu', seed: 0, ...stripUndefined(c) } as UNetConfig;
  if (c.kind === 'dilated') return { kind: 'dilated', width: 32, dilations: [1, 2, 4, 8, 16, 1], activation: 'relu', seed: 1, ...stripUndefined(c) } as DilatedConfig;
  throw new Error(`segmenter: unknown kind ${JSON.stringify((c as { kind: unknown }).kind)}; expected 'unet' or 'dilated'`);
}

function activate(x: tf.Tensor4D, a: SegActivation): tf.Tensor4D {
  if (a === 'leaky') return tf.leakyRelu(x, 0.1);
  if (a === 'elu') return tf.elu(x);
  return tf.relu(x);
}

/** 2×2 average pooling as a reshape and a mean (twice differentiable in tfjs, unlike `avgPool`/`maxPool`); even sides. */
function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]), [2, 4]) as tf.Tensor4D;
}

/** Mirror-pads `[b, h, w, c]` at the bottom and right to multiples of `m` (no-op when they divide). */
function padToMultiple(x: tf.Tensor4D, m: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const ph = (m - (h % m)) % m;
  const pw = (m - (w % m)) % m;
  if (ph === 0 && pw === 0) return x;
  if (ph >= h || pw >= w) throw new Error(`segmenter: input ${h}×${w} is too small to mirror-pad to a multiple of ${m}`);
  return tf.mirrorPad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], 'reflect'); // [b, h', w', c]
}

function checkInput(x: tf.Tensor, who: string): void {
  if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`${who}.logits: expected images [b, h, w, 3], got [${x.shape.join(', ')}]`);
}

/** Shared code of the two segmenters. */
abstract class SegmenterBase extends ParamOwner implements Segmenter {
  abstract readonly kind: SegmenterConfig['kind'];
  abstract readonly config: SegmenterConfig;
  readonly classes: number = CAMVID_NUM_CLASSES;
  /** The feature map the head reads, on the padded input; `[b, h', w', d]`. */
  protected abstract trunk(x: tf.Tensor4D): tf.Tensor4D;
  abstract logits(x: tf.Tensor4D): tf.Tensor4D;
  predict(x: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => tf.argMax(this.logits(x), 3) as tf.Tensor3D); // [b, h, w]
  }
  features(x: tf.Tensor4D): tf.Tensor2D {
    checkInput(x, `${this.constructor.name}.features`);
    return tf.tidy(() => tf.mean(this.trunk(x), [1, 2]) as tf.Tensor2D); // [b, d]
  }
}

/**
 * `φ`: a U-Net. Level l (0..levels−1) has two 3×3 convolutions of `width·2^l` channels, then a
 * 2×2 pooling (average by default, see {@link UNetConfig.pool}); the bottleneck two dilated 3×3 convolutions of `width·2^levels`; each decoder
 * level a 2×2 transposed convolution (stride 2), concatenation with the encoder's features of that
 * level and two 3×3 convolutions; a 1×1 convolution gives the 11 logits. Defaults: 482k parameters.
 * @example
 * const phi = new UNetSegmenter({ width: 16, levels: 3 });
 * phi.logits(tf.zeros([1, 180, 240, 3])).shape; // [1, 180, 240, 11]
 */
export class UNetSegmenter extends SegmenterBase {
  readonly kind = 'unet' as const;
  readonly config: UNetConfig;
  private readonly enc: Array<[Conv2d, Conv2d]> = [];
  private readonly bottleneck: [Conv2d, Conv2d];
  private readonly dec: Array<{ up: Conv2d; a: Conv2d; b: Conv2d }> = [];
  private readonly head: Conv2d;

  constructor(config: Partial<Omit<UNetConfig, 'kind'>> = {}) {
    const c = resolveSegmenterConfig({ ...config, kind: 'unet' }) as UNetConfig;
    if (!(Number.isInteger(c.levels) && c.levels >= 1)) throw new Error(`UNetSegmenter: levels must be a positive integer, got ${c.levels}`);
    super(new ParamSet(c.seed));
    this.config = c;
    const ch = (l: number) => c.width * 2 ** l;
    let inC = 3;
    for (let l = 0; l < c.levels; l++) {
      this.enc.push([
        new Conv2d(this.params, `enc${l}/a`, { inChannels: inC, outChannels: ch(l), kernel: 3 }),
        new Conv2d(this.params, `enc${l}/b`, { inChannels: ch(l), outChannels: ch(l), kernel: 3 }),
      ]);
      inC = ch(l);
    }
    const d = c.bottleneckDilation;
    this.bottleneck = [
      new Conv2d(this.params, 'mid/a', { inChannels: inC, outChannels: ch(c.levels), kernel: 3, dilation: d }),
      new Conv2d(this.params, 'mid/b', { inChannels: ch(c.levels), outChannels: ch(c.levels), kernel: 3, dilation: d }),
    ];
    for (let l = c.levels - 1; l >= 0; l--) {
      this.dec.push({
        up: new Conv2d(this.params, `dec${l}/up`, { inChannels: ch(l + 1), outChannels: ch(l), kernel: 2, stride: 2, transposed: true }),
        a: new Conv2d(this.params, `dec${l}/a`, { inChannels: 2 * ch(l), outChannels: ch(l), kernel: 3 }),
        b: new Conv2d(this.params, `dec${l}/b`, { inChannels: ch(l), outChannels: ch(l), kernel: 3 }),
      });
    }
    this.head = new Conv2d(this.params, 'head', { inChannels: ch(0), outChannels: CAMVID_NUM_CLASSES, kernel: 1 });
  }

  protected trunk(x: tf.Tensor4D): tf.Tensor4D {
    const act = (t: tf.Tensor4D) => activate(t, this.config.activation);
    return tf.tidy(() => {
      let t = padToMultiple(tf.sub(tf.mul(x, 2), 1), 2 ** this.config.levels); // [b, H, W, 3] in [−1, 1]
      const skips: tf.Tensor4D[] = [];
      for (const [ca, cb] of this.enc) {
        t = act(cb.apply(act(ca.apply(t)))); // [b, H/2^l, W/2^l, width·2^l]
        skips.push(t);
        t = this.config.pool === 'max' ? tf.maxPool(t, 2, 2, 'valid') : avgPool2(t); // [b, H/2^(l+1), W/2^(l+1), ·]
      }
      t = act(this.bottleneck[1].apply(act(this.bottleneck[0].apply(t)))); // [b, H/2^L, W/2^L, width·2^L]
      for (const { up, a, b: cb } of this.dec) {
        const skip = skips.pop() as tf.Tensor4D;
        const u = act(up.apply(t, [skip.shape[1], skip.shape[2]])); // [b, H/2^l, W/2^l, width·2^l]
        t = act(cb.apply(act(a.apply(tf.concat([u, skip], 3))))); // [b, H/2^l, W/2^l, width·2^l]
      }
      return t; // [b, H, W, width]
    });
  }

  logits(x: tf.Tensor4D): tf.Tensor4D {
    checkInput(x, 'UNetSegmenter');
    return tf.tidy(() => {
      const [b, h, w] = x.shape;
      const out = this.head.apply(this.trunk(x)); // [b, H, W, 11]
      return out.shape[1] === h && out.shape[2] === w ? out : tf.slice(out, [0, 0, 0, 0], [b, h, w, CAMVID_NUM_CLASSES]);
    });
  }
}

/**
 * `φ'`: a dilated FCN (a "context network" on a 1/4-resolution stem). Stem: 3×3 conv stride 2
 * (`width`), 3×3 conv, 3×3 conv stride 2 (`2·width`); then one residual block
 * `t ← act(t + conv_d(t))` per dilation d; a 1×1 convolution to 11 logits at 1/4 resolution,
 * upsampled bilinearly (half-pixel centres) to the input size. No skip connections, no pooling:
 * a different inductive bias from the U-Net. Defaults: 251k parameters.
 * @example
 * const evaluator = new DilatedSegmenter({ seed: 1 });
 */
export class DilatedSegmenter extends SegmenterBase {
  readonly kind = 'dilated' as const;
  readonly config: DilatedConfig;
  private readonly stem: Conv2d[];
  private readonly blocks: Conv2d[];
  private readonly head: Conv2d;

  constructor(config: Partial<Omit<DilatedConfig, 'kind'>> = {}) {
    const c = resolveSegmenterConfig({ ...config, kind: 'dilated' }) as DilatedConfig;
    if (c.dilations.length === 0) throw new Error('DilatedSegmenter: dilations must not be empty');
    super(new ParamSet(c.seed));
    this.config = c;
    const w = c.width;
    this.stem = [
      new Conv2d(this.params, 'stem/a', { inChannels: 3, outChannels: w, kernel: 3, stride: 2 }),
      new Conv2d(this.params, 'stem/b', { inChannels: w, outChannels: w, kernel: 3 }),
      new Conv2d(this.params, 'stem/c', { inChannels: w, outChannels: 2 * w, kernel: 3, stride: 2 }),
    ];
    this.blocks = c.dilations.map((d, i) => new Conv2d(this.params, `context${i}`, { inChannels: 2 * w, outChannels: 2 * w, kernel: 3, dilation: d }));
    this.head = new Conv2d(this.params, 'head', { inChannels: 2 * w, outChannels: CAMVID_NUM_CLASSES, kernel: 1 });
  }

  protected trunk(x: tf.Tensor4D): tf.Tensor4D {
    const act = (t: tf.Tensor4D) => activate(t, this.config.activation);
    return tf.tidy(() => {
      let t = padToMultiple(tf.sub(tf.mul(x, 2), 1), 4); // [b, H, W, 3]
      for (const conv of this.stem) t = act(conv.apply(t)); // [b, H/4, W/4, 2·width] at the end
      for (const conv of this.blocks) t = act(tf.add(t, conv.apply(t))); // [b, H/4, W/4, 2·width]
      return t;
    });
  }

  logits(x: tf.Tensor4D): tf.Tensor4D {
    checkInput(x, 'DilatedSegmenter');
    return tf.tidy(() => {
      const [b, h, w] = x.shape;
      const coarse = this.head.apply(this.trunk(x)); // [b, H/4, W/4, 11] (H, W: the input padded to multiples of 4)
      const out = tf.image.resizeBilinear(coarse, [4 * coarse.shape[1], 4 * coarse.shape[2]], false, true) as tf.Tensor4D; // [b, H, W, 11]
      return out.shape[1] === h && out.shape[2] === w ? out : tf.slice(out, [0, 0, 0, 0], [b, h, w, CAMVID_NUM_CLASSES]);
    });
  }
}

/**
 * Builds a segmenter from its configuration.
 * @example
 * const phi = createSegmenter({ kind: 'unet', seed: 0 });
 * const phiPrime = createSegmenter({ kind: 'dilated', seed: 1 });
 */
export function createSegmenter(config: SegmenterConfigInput): Segmenter {
  const c = resolveSegmenterConfig(config);
  const { kind: _k, ...rest } = c;
  return c.kind === 'unet' ? new UNetSegmenter(rest as Omit<UNetConfig, 'kind'>) : new DilatedSegmenter(rest as Omit<DilatedConfig, 'kind'>);
}
