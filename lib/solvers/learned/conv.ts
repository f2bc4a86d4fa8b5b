/**
 * A 2-D convolution layer (NHWC, zero "same" padding) with bias, optionally strided, dilated or
 * transposed, whose weights live in a {@link ParamSet}.
 *
 * Initialisation follows PyTorch's `nn.Conv2d.reset_parameters` (Kaiming-uniform with `a = √5`):
 * kernel and bias both `~ U(−1/√fan_in, 1/√fan_in)`, with `fan_in = c_in·k·k` for a convolution and,
 * as in `nn.ConvTranspose2d` (whose weight is `[c_in, c_out, k, k]` and whose fan-in PyTorch reads
 * from dimension 1), `fan_in = c_out·k·k` for a transposed convolution.
 */
import { addBias, biasAddGrad, convBias } from '../../engine/ops';
import { tf } from '../../engine/tf';
import { ParamSet } from './params';

// The biased convolution and the bias add are engine ops (lib/engine/ops): registered kernels and
// gradients pick the implementation per backend (native oneDNN, wasm, cpu), never this layer.
export { addBias, biasAddGrad, convBias };

/**
 * Checks a count of residual conv blocks (`blocks` of the LGD's update net and of the bench cell's
 * read-out); `who` prefixes the error (e.g. `'RIM'`).
 * @throws `<who>: blocks must be an integer >= 0, got <value>`
 */
export function checkBlocks(who: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new Error(`${who}: blocks must be an integer >= 0, got ${value}`);
}

/**
 * Geometry of a {@link Conv2d}.
 * @example
 * const spec: ConvSpec = { inChannels: 32, outChannels: 32, kernel: 3, dilation: 2 };
 */
export interface ConvSpec {
  inChannels: number;
  outChannels: number;
  /** Square kernel size k. */
  kernel: number;
  /** Stride (default 1). With `transposed`, the upsampling factor. */
  stride?: number;
  /** Dilation (default 1; not with stride > 1). */
  dilation?: number;
  /** A transposed convolution (default false). */
  transposed?: boolean;
  /** Kernel and bias start at zero instead of seeded U(−1/√fanIn, 1/√fanIn) (default false): the last layer of a residual branch that starts as the identity. */
  zeroInit?: boolean;
}

/**
 * `y = conv(x, W) + b` with "same" zero padding: output `[b, ⌈h/s⌉, ⌈w/s⌉, c_out]`, or for a
 * transposed convolution the requested `[b, h·s, w·s, c_out]`-like output shape.
 * Parameters: `k·k·c_in·c_out + c_out`.
 * @example
 * const params = new ParamSet(0);
 * const conv = new Conv2d(params, 'c1', { inChannels: 2, outChannels: 32, kernel: 5 });
 * const y = conv.apply(x); // [b, h, w, 32]
 */
export class Conv2d {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly spec: Required<ConvSpec>;

  /**
   * @param params where the weights are created (`<name>/kernel`, `<name>/bias`)
   * @param name logical name prefix
   * @param spec the geometry
   */
  constructor(params: ParamSet, name: string, spec: ConvSpec) {
    this.spec = { stride: 1, dilation: 1, transposed: false, zeroInit: false, ...spec };
    const { inChannels: ci, outChannels: co, kernel: k, stride, dilation } = this.spec;
    for (const [key, v] of Object.entries({ inChannels: ci, outChannels: co, kernel: k, stride, dilation })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Conv2d ${name}: ${key} must be a positive integer, got ${v}`);
    }
    if (stride > 1 && dilation > 1) throw new Error(`Conv2d ${name}: stride and dilation cannot both exceed 1`);
    const fanIn = (this.spec.transposed ? co : ci) * k * k;
    const bound = 1 / Math.sqrt(fanIn);
    // tfjs filter layouts: conv [k, k, c_in, c_out]; transposed conv [k, k, c_out, c_in].
    const shape = this.spec.transposed ? [k, k, co, ci] : [k, k, ci, co];
    this.kernel = this.spec.zeroInit ? params.constant(`${name}/kernel`, shape, 0) : params.uniform(`${name}/kernel`, shape, bound);
    this.bias = this.spec.zeroInit ? params.constant(`${name}/bias`, [co], 0) : params.uniform(`${name}/bias`, [co], bound);
  }

  /**
   * Applies the layer.
   * @param x input `[b, h, w, c_in]`
   * @param outputSize for a transposed convolution: the output `[h', w']` (default `[h·s, w·s]`)
   */
  apply(x: tf.Tensor4D, outputSize?: [number, number]): tf.Tensor4D {
    const { stride, dilation, transposed, outChannels } = this.spec;
    return tf.tidy(() => {
      if (transposed) {
        const [b, h, w] = x.shape;
        const [ho, wo] = outputSize ?? [h * stride, w * stride];
        const y = tf.conv2dTranspose(x, this.kernel as tf.Tensor4D, [b, ho, wo, outChannels], stride, 'same'); // [b, h', w', c_out]
        return addBias(y, this.bias);
      }
      return convBias(x, this.kernel as tf.Tensor4D, this.bias, dilation, stride); // [b, ⌈h/s⌉, ⌈w/s⌉, c_out]
    });
  }

  /**
   * The output channels `[start, start + count)` only: the same values as slicing
   * `apply(x)` along the channels, computed with the sliced kernel and bias. On the wasm backend
   * this is much cheaper than one wide convolution followed by a channel split (a strided copy of
   * the activations, and its gradient a scatter); slicing the kernel touches only k²·c_in·count
   * numbers.
   * @param x input `[b, h, w, c_in]`
   * @param start first output channel
   * @param count number of output channels
   */
  applyOutputs(x: tf.Tensor4D, start: number, count: number): tf.Tensor4D {
    const { stride, dilation } = this.spec;
    return tf.tidy(() => convBias(x, this.kernelOutputs(start, count), this.biasOutputs(start, count), dilation, stride)); // [b, ⌈h/s⌉, ⌈w/s⌉, count]
  }

  /** The kernel of the output channels `[start, start + count)`: `[k, k, c_in, count]`. */
  kernelOutputs(start: number, count: number): tf.Tensor4D {
    const { transposed, inChannels, kernel: k } = this.spec;
    if (transposed) throw new Error('Conv2d.applyOutputs: not for transposed convolutions');
    this.checkOutputs(start, count);
    return tf.slice(this.kernel, [0, 0, 0, start], [k, k, inChannels, count]) as tf.Tensor4D;
  }

  /** The bias of the output channels `[start, start + count)`: `[count]`. */
  biasOutputs(start: number, count: number): tf.Tensor1D {
    this.checkOutputs(start, count);
    return tf.slice(this.bias, [start], [count]) as tf.Tensor1D;
  }

  private checkOutputs(start: number, count: number): void {
    const { outChannels } = this.spec;
    if (!(start >= 0 && count >= 1 && start + count <= outChannels)) {
      throw new Error(`Conv2d.applyOutputs: channels [${start}, ${start + count}) outside [0, ${outChannels})`);
    }
  }
}
