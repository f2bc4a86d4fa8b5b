/**
 * The update networks of the RIM: the RIM-bench cell (default) and the paper's strided cell.
 * Each maps `[x, g]` (2c channels) and its hidden state to an update Δ (c channels).
 */
import { tf } from '../../engine/tf';
import { checkBlocks, Conv2d } from './conv';
import { ConvGRU } from './convgru';
import { ParamSet } from './params';

/** A recurrent update network: `(input, state) → (Δ, state')`; `null` state means all zeros. */
export interface RimCell {
  /**
   * @param input `[b, h, w, 2c]`
   * @param state the previous hidden states, or `null` (zero state)
   * @returns Δ `[b, h, w, c]` and the new states (the caller disposes all of them)
   */
  step(input: tf.Tensor4D, state: tf.Tensor4D[] | null): { delta: tf.Tensor4D; state: tf.Tensor4D[] };
}

/**
 * The RIM-bench cell, the network of the PyTorch twin `shared/bench/rim_torch.py`:
 *
 * ```
 * h  = relu(conv5x5(input) → F)
 * s1 = ConvGRU3x3(h, s1)
 * h  = relu(conv3x3, dilation 2 (s1) → F)
 * s2 = ConvGRU3x3(h, s2)
 * u  = s2;  u = u + conv3x3(relu(conv3x3(u)))   (× `blocks`, default 0)
 * Δ  = conv3x3(u) → c
 * ```
 * Parameters: `25·2c·F + F + 2·(9·F·3F + 3F)·2 + 9·F² + F + 9·F·c + c`; for c = 1, F = 32: 122 145,
 * what `rim_torch.py --features 32` prints. Each residual block of the read-out adds
 * `2·(9·F² + F)`; its second convolution starts at zero, so a cell with blocks computes what the
 * cell without them does until training moves them (a deeper cell can start from a trained one:
 * `init.keepMissing`). Their weights (`<prefix>r<i>a`, `<prefix>r<i>b`) are created after the
 * others, so the other weights get the same seeded values with or without blocks.
 */
export class BenchCell implements RimCell {
  private readonly c1: Conv2d;
  private readonly g1: ConvGRU;
  private readonly c2: Conv2d;
  private readonly g2: ConvGRU;
  private readonly out: Conv2d;
  private readonly blocks: [Conv2d, Conv2d][];

  /**
   * @param inChannels input channels (default `2·channels`: `[x, g]`; the learned Gauss–Newton feeds `[x, δ, g]`)
   * @param blocks residual blocks in the read-out between the second GRU and the output convolution (default 0)
   */
  constructor(params: ParamSet, prefix: string, channels: number, features: number, inChannels = 2 * channels, blocks = 0) {
    const F = features;
    checkBlocks(`BenchCell ${prefix}`, blocks);
    this.c1 = new Conv2d(params, `${prefix}c1`, { inChannels, outChannels: F, kernel: 5 });
    this.g1 = new ConvGRU(params, `${prefix}g1`, F, F);
    this.c2 = new Conv2d(params, `${prefix}c2`, { inChannels: F, outChannels: F, kernel: 3, dilation: 2 });
    this.g2 = new ConvGRU(params, `${prefix}g2`, F, F);
    this.out = new Conv2d(params, `${prefix}out`, { inChannels: F, outChannels: channels, kernel: 3 });
    this.blocks = Array.from({ length: blocks }, (_, i) => [
      new Conv2d(params, `${prefix}r${i}a`, { inChannels: F, outChannels: F, kernel: 3 }),
      new Conv2d(params, `${prefix}r${i}b`, { inChannels: F, outChannels: F, kernel: 3, zeroInit: true }),
    ]);
  }

  step(input: tf.Tensor4D, state: tf.Tensor4D[] | null): { delta: tf.Tensor4D; state: tf.Tensor4D[] } {
    return tf.tidy(() => {
      const h1 = tf.relu(this.c1.apply(input)); // [b, h, w, F]
      const s1 = this.g1.step(h1, state ? state[0] : null); // [b, h, w, F]
      const h2 = tf.relu(this.c2.apply(s1)); // [b, h, w, F]
      const s2 = this.g2.step(h2, state ? state[1] : null); // [b, h, w, F]
      let u = s2;
      for (const [a, b] of this.blocks) u = tf.add(u, b.apply(tf.relu(a.apply(u)) as tf.Tensor4D)) as tf.Tensor4D; // [b, h, w, F]
      const delta = this.out.apply(u); // [b, h, w, c]
      return { delta, state: [s1, s2] };
    });
  }
}

/**
 * The cell of Putzky & Welling's RIM for image restoration, on a half-resolution grid:
 *
 * ```
 * h = tanh(conv3x3, stride 2 (input) → 64)          [b, ⌈h/2⌉, ⌈w/2⌉, 64]
 * s = ConvGRU_k(h, s)   (hidden 256)                 [b, ⌈h/2⌉, ⌈w/2⌉, 256]
 * u = tanh(transposed conv3x3, stride 2 (s) → 64)    [b, h, w, 64]
 * Δ = conv3x3(u) → c
 * ```
 * Choices the paper leaves open, documented here: the "GRU (256)" is a ConvGRU over the
 * half-resolution feature map with kernel k = `gruKernel` (default 1: an ordinary GRU applied
 * at every position with shared weights; 3 gives it spatial context at 9× the parameters); the
 * transposed convolution and the output convolution are 3×3; batch normalisation is omitted
 * (with batch statistics it would couple the images of a batch and differ between training and
 * testing; the tanh layers keep activations bounded without it). Without it, though, the first
 * tanh saturates on the RIM's stabilised gradient (hundreds per pixel at small σ): train this cell
 * with `gradient: 'rms'` (the gradient over its RMS per image). Denoising from scratch with the
 * stabilised gradient it did not learn (loss flat at the noisy input's MSE for 660 steps); with
 * `'rms'` it followed the bench cell's loss (`configs/rim_gray_strided.json`).
 */
export class StridedCell implements RimCell {
  private readonly down: Conv2d;
  private readonly gru: ConvGRU;
  private readonly up: Conv2d;
  private readonly out: Conv2d;

  constructor(params: ParamSet, prefix: string, channels: number, features: number, hidden: number, gruKernel: number, inChannels = 2 * channels) {
    this.down = new Conv2d(params, `${prefix}down`, { inChannels, outChannels: features, kernel: 3, stride: 2 });
    this.gru = new ConvGRU(params, `${prefix}gru`, features, hidden, gruKernel);
    this.up = new Conv2d(params, `${prefix}up`, { inChannels: hidden, outChannels: features, kernel: 3, stride: 2, transposed: true });
    this.out = new Conv2d(params, `${prefix}out`, { inChannels: features, outChannels: channels, kernel: 3 });
  }

  step(input: tf.Tensor4D, state: tf.Tensor4D[] | null): { delta: tf.Tensor4D; state: tf.Tensor4D[] } {
    return tf.tidy(() => {
      const [, h, w] = input.shape;
      const d = tf.tanh(this.down.apply(input)); // [b, ⌈h/2⌉, ⌈w/2⌉, 64]
      const s = this.gru.step(d, state ? state[0] : null); // [b, ⌈h/2⌉, ⌈w/2⌉, hidden]
      const u = tf.tanh(this.up.apply(s, [h, w])); // [b, h, w, 64]
      const delta = this.out.apply(u); // [b, h, w, c]
      return { delta, state: [s] };
    });
  }
}
