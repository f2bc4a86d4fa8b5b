/**
 * A registered gradient for the `FusedConv2D` kernel with a linear activation,
 * `y = conv2d(x, W) + b`:
 *
 *     dx = the registered Conv2D gradient's dx,   dW = its dW,   db[c] = Σ_{b, y, x} dy[b, y, x, c]
 *
 * tfjs-core registers no gradient for `FusedConv2D`: `tf.fused.conv2d` wraps the kernel in its
 * own `customGrad`, which refuses dilation > 1 and sums the bias gradient through a broadcast
 * reduction. With this one registered, an op can run the `FusedConv2D` kernel directly
 * (`lib/engine/ops/conv_bias.ts`) and be differentiated by the tape like any other kernel:
 *
 * - `x`, `filter`: whatever `Conv2D` gradient is registered, called with the same attributes, so
 *   a biased convolution takes exactly the route its unbiased `tf.conv2d` takes on each backend
 *   (`conv2d_grad.ts`: dilation-aware, portable; or the native oneDNN one when installed);
 * - `bias`: {@link biasAddGrad} (the `BiasAddGrad` kernel of the backend where there is one).
 *
 * Only a per-channel bias (`[C]`, as `convBias` sends) is differentiated here; the tape names the
 * shape mismatch for any other. Non-linear activations and PReLU weights throw (use
 * `tf.fused.conv2d`, whose own gradient covers them). `tf.fused.conv2d` itself never reaches this
 * gradient: its kernel call runs inside its custom-gradient scope, off the tape.
 */
import { tf } from '../tf';
import { biasAddGrad } from './bias_add_grad';

interface FusedAttrs {
  dataFormat?: 'NHWC' | 'NCHW';
  activation?: string;
}

/** Gradient config of `FusedConv2D` (linear activation; see the file header). */
export const fusedConv2dGradConfig: tf.GradConfig = {
  kernelName: 'FusedConv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const a = attrs as unknown as FusedAttrs;
    const activation = a.activation ?? 'linear';
    if (activation !== 'linear') {
      throw new Error(`FusedConv2D gradient: activation '${activation}' is not supported by lib/engine/kernels/fused_conv2d_grad.ts (only 'linear'); use tf.fused.conv2d`);
    }
    const conv = tf.getGradient('Conv2D');
    if (!conv) throw new Error('FusedConv2D gradient: no Conv2D gradient is registered');
    const { x, filter } = conv.gradFunc(dy, saved, attrs);
    const g = dy as tf.Tensor4D;
    const bias = a.dataFormat === 'NCHW' ? () => tf.sum(g, [0, 2, 3]) : () => biasAddGrad(g);
    return { x, filter, bias };
  },
};
