/**
 * A biased 2-D convolution as one op: `conv2d(x, W, stride, 'same', dilation) + b`, NHWC.
 *
 * It runs the backend's `FusedConv2D` kernel (the bias added inside the convolution: XNNPACK on
 * wasm, oneDNN when the native convolutions are registered, the backend's own elsewhere) and is
 * differentiated through the registered gradients (`lib/engine/kernels/fused_conv2d_grad.ts`:
 * the registered `Conv2D` gradient plus `BiasAddGrad`). Which implementation runs is decided by
 * the kernel registry alone, so callers never ask which backend is active.
 */
import { tf } from '../tf';
import { biasAddGradGradConfig } from '../kernels/bias_add_grad';
import { fusedConv2dGradConfig } from '../kernels/fused_conv2d_grad';
import { addBias } from './add_bias';

/**
 * `conv2d(x, w, stride, 'same', dilation) + b` as one `FusedConv2D` kernel (see the file header),
 * differentiable on every backend (dilation > 1 included). A bias that is not `[c_out]`, or
 * non-float32 inputs: `tf.conv2d` followed by {@link addBias}.
 * @param x `[b, h, w, c_in]`
 * @param w `[k, k, c_in, c_out]`
 * @param b `[c_out]`
 * @param dilation dilation rate (default 1)
 * @param stride stride (default 1; not together with dilation > 1)
 * @returns `[b, ⌈h/stride⌉, ⌈w/stride⌉, c_out]`
 * @throws naming both shapes when `x`'s channels differ from the filter's input channels
 * @example
 * const y = convBias(x, kernel, bias, 2); // [b, h, w, c_out], 3×3 dilated by 2
 */
export function convBias(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor, dilation = 1, stride = 1): tf.Tensor4D {
  if (x.rank !== 4 || w.rank !== 4 || x.shape[3] !== w.shape[2]) {
    throw new Error(`convBias: input [${x.shape}] (NHWC) does not fit filter [${w.shape}] ([k, k, c_in, c_out])`);
  }
  if (dilation > 1 && stride > 1) throw new Error(`convBias: stride ${stride} and dilation ${dilation} cannot both exceed 1`);
  if (x.dtype !== 'float32' || w.dtype !== 'float32' || b.dtype !== 'float32' || b.rank !== 1 || b.size !== w.shape[3]) {
    return addBias(tf.conv2d(x, w, stride, 'same', 'NHWC', dilation), b);
  }
  ensureGradients();
  const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC', dilations: dilation, activation: 'linear' };
  return tf.engine().runKernel('FusedConv2D', { x, filter: w, bias: b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * The `FusedConv2D` and `BiasAddGrad` gradients must be registered before the kernel runs on the
 * tape (the tape saves the inputs its gradient names). `initEngine` registers them with the
 * other conv gradients; this covers callers that set a backend themselves (a map lookup per call).
 */
function ensureGradients(): void {
  if (tf.getGradient(fusedConv2dGradConfig.kernelName) !== undefined) return;
  tf.registerGradient(fusedConv2dGradConfig);
  if (!tf.getGradient(biasAddGradGradConfig.kernelName)) tf.registerGradient(biasAddGradGradConfig);
}
