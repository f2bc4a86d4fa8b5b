/**
 * Timing of the wasm convolution-gradient kernels of `lib/engine/kernels` against naive references.
 *
 *   npx tsx scripts/bench-kernels.ts            # default shapes
 *   npx tsx scripts/bench-kernels.ts --quick    # fewer repetitions
 *
 * For each case it prints milliseconds per call (best of N: the machine may be shared, and the
 * minimum is the least noisy estimate) for:
 *   fwd       tf.conv2d on wasm (XNNPACK), the yardstick;
 *   dW        Conv2DBackpropFilter on wasm (this repo's kernel);
 *   dx        Conv2DBackpropInput on wasm (this repo's kernel);
 *   dx-orig   the Conv2DBackpropInput kernel tfjs-backend-wasm ships (scalar C++ loop);
 *   dW-cpu    Conv2DBackpropFilter on the 'cpu' backend (plain JS loops; the only one tfjs has);
 *   step      tf.grads of sum(conv2d(x, w) * r) w.r.t. x and w on wasm (forward + dx + dW).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels, originalWasmBackpropInput } from '../lib/engine/kernels';
import { parseCommandLine } from './cli';

type Pad = 'same' | 'valid';
interface Case {
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  dilation: number;
  pad: Pad;
}

const quick =
  parseCommandLine({ command: 'bench-kernels', usage: 'usage: npx tsx scripts/bench-kernels.ts [--quick]', options: { quick: { type: 'boolean' } } }).values.quick ?? false;

/** Best-of-`reps` ms per call of `f` (its result is read back, then disposed). */
function time(f: () => tf.Tensor, reps: number): number {
  // (tidy must not return the typed array: tidy walks its result element by element.)
  const once = (): void =>
    tf.tidy(() => {
      f().dataSync();
    });
  for (let i = 0; i < 2; i++) once();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    once();
    t.push(performance.now() - t0);
  }
  return Math.min(...t);
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

async function bench(c: Case): Promise<Record<string, number | string>> {
  const reps = quick ? 5 : 15;
  await tf.setBackend('wasm');
  const [b, h, w, ci] = c.x;
  const x = tf.randomNormal(c.x) as tf.Tensor4D;
  const f = tf.randomNormal([c.k, c.k, ci, c.co]) as tf.Tensor4D;
  const y = tf.conv2d(x, f, c.stride, c.pad, 'NHWC', c.dilation);
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const common = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
  const dAttrs = c.dilation > 1 ? { ...common, dilations: c.dilation } : common;
  const flops = 2 * y.size * c.k * c.k * ci;
  const row: Record<string, number | string> = {
    case: `x[${c.x}] w[${c.k},${c.k},${ci},${c.co}] s${c.stride} d${c.dilation} ${c.pad}`,
  };
  row.fwd = time(() => tf.conv2d(x, f, c.stride, c.pad, 'NHWC', c.dilation), reps);
  row.dW = time(() => runKernel('Conv2DBackpropFilter', { x, dy }, { ...dAttrs, filterShape: f.shape }), reps);
  row.dx = time(() => runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...dAttrs, inputShape: x.shape }), reps);
  const orig = originalWasmBackpropInput();
  if (orig && c.dilation === 1) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel(orig);
    try {
      row['dx-orig'] = time(() => runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...common, inputShape: x.shape }), quick ? 2 : 5);
    } finally {
      registerWasmKernels();
    }
  }
  const gf = tf.grads((a: tf.Tensor, k: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, k as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation), dy)),
  );
  row.step = time(() => {
    const [gx, gw] = gf([x, f]);
    return tf.add(tf.sum(gx), tf.sum(gw));
  }, reps);
  row['GFLOP/s fwd|dW|dx'] = [row.fwd, row.dW, row.dx].map((ms) => (flops / (ms as number) / 1e6).toFixed(1)).join('|');

  // Naive reference: the cpu backend's JS kernel (one run, it is slow).
  if (c.dilation === 1 && b * h * w * ci * c.co * c.k * c.k <= 8 * 32 * 32 * 32 * 32 * 9) {
    const xv = await x.data();
    const dyv = await dy.data();
    await tf.setBackend('cpu');
    const xc = tf.tensor4d(xv, x.shape);
    const dyc = tf.tensor4d(dyv, dy.shape as [number, number, number, number]);
    row['dW-cpu'] = time(() => runKernel('Conv2DBackpropFilter', { x: xc, dy: dyc }, { ...common, filterShape: f.shape }), 1);
    tf.dispose([xc, dyc]);
    await tf.setBackend('wasm');
  }
  tf.dispose([x, f, y, dy]);
  return row;
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmKernels();
  const cases: Case[] = [
    { x: [8, 32, 32, 32], k: 3, co: 32, stride: 1, dilation: 1, pad: 'same' },
    { x: [8, 32, 32, 32], k: 3, co: 32, stride: 2, dilation: 1, pad: 'same' },
    { x: [8, 32, 32, 32], k: 3, co: 32, stride: 1, dilation: 2, pad: 'same' },
    { x: [1, 128, 128, 32], k: 3, co: 32, stride: 1, dilation: 1, pad: 'same' },
    { x: [16, 64, 64, 1], k: 5, co: 16, stride: 1, dilation: 1, pad: 'same' },
    { x: [4, 64, 64, 64], k: 3, co: 64, stride: 1, dilation: 1, pad: 'same' },
  ];
  const rows: Record<string, number | string>[] = [];
  for (const c of cases) {
    const r = await bench(c);
    rows.push(r);
    console.log(
      Object.entries(r)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? v.toFixed(2) : v}`)
        .join('  '),
    );
  }
  console.log(`(ms per call, best of N; backend wasm, SIMD=${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads=${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
