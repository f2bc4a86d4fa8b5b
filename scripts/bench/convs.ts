/**
 * The convolutions of one RIM-bench cell step (x = [B, S, S, C], 'same', NHWC) and timings of their
 * three passes (forward, Conv2DBackpropInput = dx, Conv2DBackpropFilter = dW) with whatever kernels
 * the engine has registered (wasm, or the native oneDNN ones on top).
 */
import { tf } from '../../lib/engine/tf';
import { median } from './common';
import { RimBenchConfig } from './rim';

/** One convolution geometry of the RIM-bench cell. */
export interface ConvCase {
  /** e.g. `gru 3x3 32->96` */
  name: string;
  /** input `[b, h, w, c_in]` */
  x: [number, number, number, number];
  k: number;
  co: number;
  dilation: number;
  /** how many of these one cell step runs (the GRU's 3F conv is run as 3 gate convs of F: same work) */
  perStep: number;
}

/**
 * The RIM-bench cell's convolutions for `cfg`: c1 5×5 2→F, the GRU's 3×3 F→3F (input and hidden
 * side of both GRUs: 4 per step), c2 3×3 dilation 2 F→F, out 3×3 F→1.
 */
export function rimConvCases(cfg: RimBenchConfig): ConvCase[] {
  const { batch: b, size: s, features: f } = cfg;
  const X: [number, number, number, number] = [b, s, s, f];
  return [
    { name: `c1 5x5 2->${f}`, x: [b, s, s, 2], k: 5, co: f, dilation: 1, perStep: 1 },
    { name: `gru 3x3 ${f}->${3 * f}`, x: X, k: 3, co: 3 * f, dilation: 1, perStep: 4 },
    { name: `c2 3x3 d2 ${f}->${f}`, x: X, k: 3, co: f, dilation: 2, perStep: 1 },
    { name: `out 3x3 ${f}->1`, x: X, k: 3, co: 1, dilation: 1, perStep: 1 },
  ];
}

/**
 * The gate convolution the library actually runs for the GRU (`ConvGRU` splits each 3F conv into
 * three F-wide convs with sliced weights: 12 per cell step instead of 4 of `gru 3x3 F->3F`, the
 * same FLOPs).
 */
export function rimGateConvCase(cfg: RimBenchConfig): ConvCase {
  const { batch: b, size: s, features: f } = cfg;
  return { name: `gru-gate 3x3 ${f}->${f}`, x: [b, s, s, f], k: 3, co: f, dilation: 1, perStep: 12 };
}

/** FLOPs of one pass of `c` (2·N·H·W·k²·c_in·c_out). */
export function convFlops(c: ConvCase): number {
  const [b, h, w, ci] = c.x;
  return 2 * b * h * w * c.k * c.k * ci * c.co;
}

/** Weights of `c` (kernel and bias), as counted in a parameter total. */
export function convParams(c: ConvCase): number {
  return c.k * c.k * c.x[3] * c.co + c.co;
}

/** ms per call of each pass. */
export interface ConvTimes {
  fwd: number;
  dx: number;
  dW: number;
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

/** Median ms per call of `f` over `reps` calls after `warmup` (results are disposed). */
function time(f: () => tf.Tensor, reps: number, warmup: number, clock: () => number): number {
  for (let i = 0; i < warmup; i++) tf.dispose(f());
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = clock();
    const r = f();
    t.push(clock() - t0);
    tf.dispose(r);
  }
  return median(t);
}

/** Times the three passes of `c` with the engine's current kernels (synchronous on wasm/native). */
export function timeConv(c: ConvCase, reps: number, warmup = 2, clock: () => number = () => performance.now()): ConvTimes {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([c.k, c.k, c.x[3], c.co], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, 1, 'same', 'NHWC', c.dilation);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: c.dilation };
    return {
      fwd: time(() => tf.conv2d(x, w, 1, 'same', 'NHWC', c.dilation), reps, warmup, clock),
      dx: time(() => runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }), reps, warmup, clock),
      dW: time(() => runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }), reps, warmup, clock),
    };
  });
}
