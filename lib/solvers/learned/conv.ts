/**
 * A 2-D convolution layer (NHWC, zero "same" padding) with bias, optionally strided, dilated or
 * transposed, whose weights live in a {@link ParamSet}.
 *
 * Initialisation follows PyTorch's `nn.Conv2d.reset_parameters` (Kaiming-uniform with `a = √5`):
 * kernel and bias both `~ U(−1/√fan_in, 1/√fan_in)`, with `fan_in = c_in·k·k` for a convolution and,
 * as in `nn.ConvTranspose2d` (whose weight is `[c_in, c_out, k, k]` and whose fan-in PyTorch reads
 * from dimension 1), `fan_in = c_out·k·k` for a transposed convolution.
 */
import { nativeKernelsActive } from '../../engine/native';
import { tf } from '../../engine/tf';
import { ParamSet } from './params';

/**
 * `y + b` for a bias `b` `[C]` broadcast along the channels of `y` `[..., C]`, with a faster bias
 * gradient than tfjs's broadcast-add gradient `sum(dy, [0, 1, 2])`, which the wasm backend runs
 * as a transpose followed by a reduction (~0.9 ms for a `[8, 32, 32, 32]` gradient): see
 * {@link biasGradient}. Same values up to float32 summation order.
 * @example
 * const y = addBias(tf.conv2d(x, kernel, 1, 'same'), bias); // [b, h, w, c_out]
 */
export function addBias<T extends tf.Tensor>(y: T, bias: tf.Tensor): T {
  // Anything but a per-channel bias of matching size: the plain broadcast add.
  if (bias.rank !== 1 || y.rank < 1 || y.shape[y.rank - 1] !== bias.size || y.dtype !== 'float32') return tf.add(y, bias) as T;
  return biasAddOp(y, bias) as T;
}

const biasAddOp = tf.customGrad(((y: tf.Tensor, bias: tf.Tensor) => ({
  value: tf.add(y, bias),
  gradFunc: (dy: tf.Tensor) => [tf.reshape(dy, y.shape), biasGradient(dy)],
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (y: tf.Tensor, bias: tf.Tensor) => tf.Tensor;

/**
 * `Σ dy` over every axis but the last: `[..., C] → [C]`. With the native oneDNN convolutions
 * active (`lib/engine/native`), as the weight gradient of a 1×1 convolution of a ones image
 * (a oneDNN reduction, ~0.08 ms for `[8, 32, 32, 32]`); on plain wasm as `dyᵀ·1` (~0.5 ms; the
 * ones operand is the one XNNPACK packs); elsewhere `tf.sum`.
 */
export function biasGradient(dy: tf.Tensor): tf.Tensor1D {
  const c = dy.shape[dy.rank - 1];
  const m = dy.size / c;
  return tf.tidy(() => {
    if (nativeKernelsActive()) {
      const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, filterShape: [1, 1, 1, c] };
      const inputs = { x: tf.ones([1, 1, m, 1]), dy: tf.reshape(dy, [1, 1, m, c]) };
      return tf.reshape(tf.engine().runKernel('Conv2DBackpropFilter', inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor, [c]);
    }
    if (tf.getBackend() === 'wasm') return tf.reshape(tf.matMul(tf.reshape(dy, [m, c]), tf.ones([m, 1]), true, false), [c]);
    return tf.sum(tf.reshape(dy, [m, c]), 0);
  });
}

/**
 * `conv2d(x, w, stride 1, 'same', dilation) + b`. With the native oneDNN convolutions active
 * (`lib/engine/native`) the forward is one `FusedConv2D` (the bias added inside oneDNN, no
 * separate broadcast add) and the gradients are the native `Conv2DBackpropInput` /
 * `Conv2DBackpropFilter` kernels plus {@link biasGradient}, the kernels the engine's own
 * `Conv2D` gradient runs there; otherwise `tf.conv2d` + {@link addBias}.
 * @param x `[b, h, w, c_in]`
 * @param w `[k, k, c_in, c_out]`
 * @param b `[c_out]`
 * @param dilation dilation rate (default 1)
 * @returns `[b, h, w, c_out]`
 */
export function convBias(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor, dilation = 1): tf.Tensor4D {
  if (!nativeKernelsActive() || x.dtype !== 'float32' || b.rank !== 1 || b.size !== w.shape[3]) {
    return addBias(tf.conv2d(x, w, 1, 'same', 'NHWC', dilation), b);
  }
  let op = convBiasOps.get(dilation);
  if (!op) convBiasOps.set(dilation, (op = makeConvBiasOp(dilation)));
  return op(x, w, b) as tf.Tensor4D;
}

const convBiasOps = new Map<number, (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

function makeConvBiasOp(dilations: number): (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations };
  const run = (name: string, inputs: tf.NamedTensorMap, extra: object): tf.Tensor =>
    tf.engine().runKernel(name, inputs, { ...attrs, ...extra } as unknown as tf.NamedAttrMap) as tf.Tensor;
  return tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, w]);
    return {
      value: run('FusedConv2D', { x, filter: w, bias: b }, { activation: 'linear' }),
      gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => [
        run('Conv2DBackpropInput', { dy, filter: ws }, { inputShape: xs.shape }),
        run('Conv2DBackpropFilter', { x: xs, dy }, { filterShape: ws.shape }),
        biasGradient(dy),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;
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
    this.spec = { stride: 1, dilation: 1, transposed: false, ...spec };
    const { inChannels: ci, outChannels: co, kernel: k, stride, dilation } = this.spec;
    for (const [key, v] of Object.entries({ inChannels: ci, outChannels: co, kernel: k, stride, dilation })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Conv2d ${name}: ${key} must be a positive integer, got ${v}`);
    }
    if (stride > 1 && dilation > 1) throw new Error(`Conv2d ${name}: stride and dilation cannot both exceed 1`);
    const fanIn = (this.spec.transposed ? co : ci) * k * k;
    const bound = 1 / Math.sqrt(fanIn);
    // tfjs filter layouts: conv [k, k, c_in, c_out]; transposed conv [k, k, c_out, c_in].
    this.kernel = params.uniform(`${name}/kernel`, this.spec.transposed ? [k, k, co, ci] : [k, k, ci, co], bound);
    this.bias = params.uniform(`${name}/bias`, [co], bound);
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
      if (stride === 1) return convBias(x, this.kernel as tf.Tensor4D, this.bias, dilation); // [b, h, w, c_out]
      const y = tf.conv2d(x, this.kernel as tf.Tensor4D, stride, 'same', 'NHWC', dilation); // [b, h/s, w/s, c_out]
      return addBias(y, this.bias);
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
    if (this.spec.stride > 1) return tf.tidy(() => addBias(this.convOutputs(x, start, count), this.biasOutputs(start, count)));
    return tf.tidy(() => convBias(x, this.kernelOutputs(start, count), this.biasOutputs(start, count), this.spec.dilation));
  }

  /**
   * {@link applyOutputs} without the bias: `conv(x, W[..., start:start+count])`.
   * @param x input `[b, h, w, c_in]`
   * @param start first output channel
   * @param count number of output channels
   * @returns `[b, h/s, w/s, count]`
   */
  convOutputs(x: tf.Tensor4D, start: number, count: number): tf.Tensor4D {
    const { stride, dilation } = this.spec;
    return tf.tidy(() => tf.conv2d(x, this.kernelOutputs(start, count), stride, 'same', 'NHWC', dilation)); // [b, h/s, w/s, count]
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
