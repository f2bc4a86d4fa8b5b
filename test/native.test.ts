import { strict as assert } from 'assert';
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../lib/engine/tf';
import { dilateFilter, registerWasmKernels } from '../lib/engine/kernels';
import { gruGate } from '../lib/engine/ops';
import {
  convParams,
  nativeAvailable,
  nativeImplInfo,
  nativeInfo,
  nativeKernelsActive,
  nativeStats,
  nativeStatusLine,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../lib/engine/native';
import { BenchCell, Conv2d, ConvSpec, ParamSet, RimCell, StridedCell } from '../lib/solvers/learned';
import { Case, Pad, Shape4, randomValues, relErr, size } from './helpers/conv_cases';

// The optional oneDNN kernels of lib/engine/native.ts (registered for the wasm backend) against
// the 'cpu' backend's reference JS kernels. Skipped when native/build/Release/lgd_native.node is
// not built (see scripts/build-native.ts).



/** Runs test/helpers/rim_steps.ts (three RIM training steps) in a fresh process with `env` added. */
function runRimSteps(env: Record<string, string>): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, 'helpers', 'rim_steps.ts')], { env: { ...process.env, LGD_ENGINE_QUIET: '1', ...env }, encoding: 'utf8' });
}

function describeCase(c: Case): string {
  return `x[${c.x}] w[${c.w}] stride ${c.stride} dilation ${c.dilation} pad ${JSON.stringify(c.pad)}`;
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * y = conv2d(x, w), dx = Conv2DBackpropInput(dy, w), dW = Conv2DBackpropFilter(x, dy) on the
 * current backend. `viaDilatedFilter`: builds the dilation into the filter (the cpu reference of
 * the gradients, whose kernels know no dilation).
 */
async function convTriple(c: Case, seed: number, viaDilatedFilter: boolean): Promise<Float32Array[]> {
  const x = tf.tensor4d(randomValues(size(c.x), seed), c.x);
  const w = tf.tensor4d(randomValues(size(c.w), seed + 1), c.w);
  const y = tf.conv2d(x, w, c.stride, c.pad, 'NHWC', c.dilation);
  const dy = tf.tensor4d(randomValues(size(y.shape), seed + 2), y.shape as Shape4);
  const common = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
  let dx: tf.Tensor;
  let dW: tf.Tensor;
  if (viaDilatedFilter && c.dilation > 1) {
    const wd = dilateFilter(w, c.dilation, c.dilation);
    dx = runKernel('Conv2DBackpropInput', { dy, filter: wd }, { ...common, inputShape: c.x });
    const full = runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: wd.shape });
    dW = tf.stridedSlice(full, [0, 0, 0, 0], full.shape, [c.dilation, c.dilation, 1, 1]);
    tf.dispose([wd, full]);
  } else {
    const extra = c.dilation > 1 ? { dilations: c.dilation } : {};
    dx = runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...common, ...extra, inputShape: c.x });
    dW = runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, ...extra, filterShape: c.w });
  }
  assert.deepEqual(dx.shape, c.x);
  assert.deepEqual(dW.shape, c.w);
  const out = [(await y.data()) as Float32Array, (await dx.data()) as Float32Array, (await dW.data()) as Float32Array];
  tf.dispose([x, w, y, dy, dx, dW]);
  return out;
}

async function checkCase(c: Case, seed: number): Promise<void> {
  await tf.setBackend('wasm');
  const before = nativeStats();
  const got = await convTriple(c, seed, false);
  const after = nativeStats();
  await tf.setBackend('cpu');
  const want = await convTriple(c, seed, true);
  await tf.setBackend('wasm');
  assert.equal(after.native - before.native, 3, `${describeCase(c)}: expected 3 native calls (fallbacks: ${after.fallback - before.fallback})`);
  const names = ['y', 'dx', 'dW'];
  for (let i = 0; i < 3; i++) {
    const e = relErr(got[i], want[i]);
    assert.ok(e < 1e-4, `${describeCase(c)}: ${names[i]} rel err ${e.toExponential(2)}`);
  }
}

/** Random cases over kernel 1/3/5, (stride, dilation) (1,1)/(2,1)/(1,2), same/valid. */
function randomCases(): Case[] {
  const rnd = randomValues(4096, 4242);
  let i = 0;
  const pick = <T>(xs: T[]): T => xs[Math.floor(((rnd[i++ % rnd.length] + 1) / 2) * xs.length) % xs.length];
  const cases: Case[] = [];
  for (const k of [1, 3, 5]) {
    for (const [stride, dilation] of [
      [1, 1],
      [2, 1],
      [1, 2],
    ]) {
      for (const pad of ['same', 'valid'] as const) {
        const ke = (k - 1) * dilation + 1;
        const ci = pick([1, 2, 3, 8, 17, 32]);
        cases.push({
          x: [pick([1, 2, 3, 5]), ke + pick([0, 1, 2, 5, 9]), ke + pick([0, 1, 3, 6, 10]), ci],
          w: [k, k, ci, pick([1, 2, 4, 9, 32])],
          stride,
          dilation,
          pad,
        });
      }
    }
  }
  return cases;
}

/** Where a layer-level check runs: wasm + the native kernels, wasm with its own kernels only (as LGD_NATIVE=0), or cpu. */
type Mode = 'native' | 'wasm' | 'cpu';
const MODES: Mode[] = ['native', 'wasm', 'cpu'];

/**
 * Runs `fn` in `mode` (for 'wasm' the native kernels are unregistered meanwhile, then put back)
 * and returns its result with the number of native kernel calls it made.
 */
async function inMode<T>(mode: Mode, fn: () => Promise<T>): Promise<{ result: T; nativeCalls: number }> {
  await tf.setBackend(mode === 'cpu' ? 'cpu' : 'wasm');
  if (mode === 'wasm') unregisterNativeKernels();
  const before = nativeStats().native;
  try {
    const result = await fn();
    return { result, nativeCalls: nativeStats().native - before };
  } finally {
    if (mode === 'wasm') registerNativeKernels({ quiet: true });
    await tf.setBackend('wasm');
  }
}

/**
 * The values and gradients of `loss(params) = Σ r·out` for an output built by `forward` from the
 * input `x` and the variables of `params`: `[out, ∂/∂x, ∂/∂(each variable)]`, read back as arrays.
 * Checks that nothing but the model's own variables (disposed here) stays allocated.
 */
async function valueAndGrads(x: tf.Tensor4D, params: ParamSet, forward: (x: tf.Tensor4D) => tf.Tensor, label: string): Promise<Float32Array[]> {
  const tensors = tf.memory().numTensors;
  const out = tf.tidy(() => forward(x));
  const r = tf.tensor(randomValues(out.size, 600), out.shape);
  const loss = (xx: tf.Tensor): tf.Scalar => tf.sum(tf.mul(forward(xx as tf.Tensor4D), r));
  const dx = tf.grad(loss)(x);
  const { value, grads } = tf.variableGrads(() => loss(x), params.variables);
  const all = [out, dx, ...params.variables.map((v) => grads[v.name])];
  const arrays = await Promise.all(all.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([out, r, dx, value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, tensors, `${label}: tensor leak`);
  return arrays;
}

/** Asserts that the arrays of every mode equal those of cpu (relative error below 1e-4), naming the part. */
function assertSameAcrossModes(res: Record<Mode, Float32Array[]>, names: string[], label: string): void {
  for (const mode of ['native', 'wasm'] as const) {
    res.cpu.forEach((want, i) => {
      const e = relErr(res[mode][i], want);
      assert.ok(e < 1e-4, `${label}, ${mode} vs cpu: ${names[i] ?? `output ${i}`} rel err ${e.toExponential(2)}`);
    });
  }
}

describe('native conv kernels (oneDNN addon)', function () {
  this.timeout(300000);
  let previous = '';

  before(async function () {
    if (!nativeAvailable()) {
      console.log(`      skipped: ${nativeStatusLine()}`);
      this.skip();
    }
    require('@tensorflow/tfjs-backend-wasm');
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'), 'wasm backend failed to initialise');
    await tf.ready();
    registerWasmKernels();
    assert.ok(registerNativeKernels({ quiet: true }));
    assert.ok(registerNativeKernels({ quiet: true }), 'idempotent');
  });

  after(async () => {
    unregisterNativeKernels();
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  });

  it('reports oneDNN version and threads, and is registered for wasm only', () => {
    const info = nativeInfo();
    assert.ok(info.available);
    assert.match(info.onednn ?? '', /^\d+\.\d+\.\d+$/);
    assert.ok((info.threads ?? 0) >= 1);
    assert.ok(nativeKernelsActive('wasm'));
    assert.ok(!nativeKernelsActive('cpu'));
  });

  it('autotuning times no SSE4.1 kernel (one crashed oneDNN 2.6.3 on the strided cell\'s 1x1 GRU conv) and keeps a timed implementation', () => {
    const [x, w] = tf.tidy(() => [tf.randomNormal([2, 16, 16, 64], 0, 1, 'float32', 1), tf.randomNormal([1, 1, 64, 192], 0, 0.1, 'float32', 2)]);
    tf.tidy(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dataSync()); // 12.6 MFLOP: tuned (>= 4)
    const impl = nativeImplInfo('F', [2, 16, 16, 64], [1, 1, 64, 192], { strides: 1, pad: 'same', dilations: 1 });
    tf.dispose([x, w]);
    assert.ok(impl, 'the shape ran natively');
    if (!/; tuned: /.test(impl)) return; // LGD_NATIVE_AUTOTUNE=0 in this environment: oneDNN's first choice only
    assert.ok(!/sse41/.test(impl), `an SSE4.1 kernel was timed: ${impl}`);
    assert.ok(impl.split('; tuned: ')[1].split(', ').length >= 2, `several candidates timed: ${impl}`);
  });

  it('backward-data never picks the gemm implementation (oneDNN 2.6.3\'s corrupted the heap on the F = 64 RIM\'s 3x3 64 -> 192 GRU conv) and still runs a tuned jit kernel', () => {
    const xs = [8, 32, 32, 64];
    const ws = [3, 3, 64, 192];
    const [x, w] = tf.tidy(() => [tf.randomNormal(xs, 0, 1, 'float32', 3), tf.randomNormal(ws, 0, 0.05, 'float32', 4)]);
    const dx = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').sum())(x));
    const impl = nativeImplInfo('D', xs, ws, { strides: 1, pad: 'same', dilations: 1 });
    tf.dispose([x, w, dx]);
    assert.ok(impl, 'the backward-data ran natively');
    assert.ok(!/gemm/.test(impl.split('; tuned: ')[0]), `the gemm backward-data was chosen: ${impl}`);
    assert.ok(!/gemm/.test(impl.split('; tuned: ')[1] ?? ''), `the gemm backward-data was timed: ${impl}`);
    assert.ok(!/^ref/.test(impl), `only the reference loops were left: ${impl}`);
  });

  it('LGD_NATIVE_TRACE=1 in a fresh process: one stderr line per convolution call naming its pass and geometry, flushed at once', () => {
    const res = runRimSteps({ LGD_NATIVE_TRACE: '1' });
    assert.equal(res.status, 0, res.stderr);
    const lines = res.stderr.split('\n').filter((l) => l.startsWith('[native] '));
    // the small RIM's first conv: 5x5, [x, g] (2 channels) -> 8 features, on 2 images of 12x10
    assert.ok(lines.includes('[native] F N2 H12 W10 C2 K5x5 O8 OH12 OW10 S1,1 D1,1 P2,2,2,2'), lines.slice(0, 5).join('\n'));
    assert.ok(lines.some((l) => l.startsWith('[native] D ')) && lines.some((l) => l.startsWith('[native] W ')), 'backward passes traced too');
    const quiet = runRimSteps({ LGD_NATIVE_TRACE: '0' });
    assert.ok(!quiet.stderr.includes('[native] '), 'LGD_NATIVE_TRACE=0 traces nothing');
  });

  it('convParams follows tfjs geometry (same, stride 2: extra padding at the end)', () => {
    const g = convParams([2, 9, 8, 3], [3, 3, 3, 4], { strides: 2, pad: 'same' });
    assert.ok(g);
    assert.deepEqual(g.outShape, [2, 5, 4, 4]);
    assert.deepEqual(Array.from(g.params), [2, 9, 8, 3, 3, 3, 4, 5, 4, 2, 2, 1, 1, 1, 0, 1, 1, 0]);
    assert.equal(convParams([0, 9, 8, 3], [3, 3, 3, 4], { strides: 1, pad: 'same' }), null);
  });

  it('forward, dx and dW match the cpu backend on random shapes (kernel 1/3/5, stride 1/2, dilation 1/2, same/valid)', async () => {
    const cases = randomCases();
    for (let n = 0; n < cases.length; n++) await checkCase(cases[n], 300 + 7 * n);
  });

  it('matches on the RIM-bench shapes and on numeric / explicit padding, rectangular strides and kernels', async () => {
    const cases: Case[] = [
      { x: [2, 16, 16, 2], w: [5, 5, 2, 32], stride: 1, dilation: 1, pad: 'same' },
      { x: [1, 16, 16, 32], w: [3, 3, 32, 96], stride: 1, dilation: 1, pad: 'same' },
      { x: [1, 16, 16, 32], w: [3, 3, 32, 32], stride: 1, dilation: 2, pad: 'same' },
      { x: [2, 16, 16, 32], w: [3, 3, 32, 1], stride: 1, dilation: 1, pad: 'same' },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 1, dilation: 1, pad: 1 },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 2, dilation: 1, pad: 2 },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 1, dilation: 2, pad: 1 },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 1, dilation: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 2, dilation: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
      { x: [2, 9, 8, 3], w: [3, 5, 3, 4], stride: [1, 2], dilation: 1, pad: 'same' },
      { x: [2, 9, 8, 3], w: [4, 2, 3, 4], stride: [2, 1], dilation: 1, pad: 'valid' },
      { x: [1, 10, 10, 2], w: [4, 4, 2, 3], stride: 2, dilation: 1, pad: 'same' },
    ];
    for (let n = 0; n < cases.length; n++) await checkCase(cases[n], 900 + 5 * n);
  });

  it('NCHW (which the wasm backend itself rejects for Conv2D) matches cpu', async () => {
    const x: Shape4 = [2, 3, 9, 8];
    const w: Shape4 = [3, 3, 3, 5];
    const res: Record<string, Float32Array[]> = {};
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const xt = tf.tensor4d(randomValues(size(x), 11), x);
      const wt = tf.tensor4d(randomValues(size(w), 12), w);
      const y = tf.conv2d(xt, wt, 2, 'same', 'NCHW');
      assert.deepEqual(y.shape, [2, 5, 5, 4]);
      const dy = tf.tensor4d(randomValues(size(y.shape), 13), y.shape as Shape4);
      const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW' };
      const dW = runKernel('Conv2DBackpropFilter', { x: xt, dy }, { ...attrs, filterShape: w });
      const dX = runKernel('Conv2DBackpropInput', { dy, filter: wt }, { ...attrs, inputShape: x });
      res[backend] = [(await y.data()) as Float32Array, (await dX.data()) as Float32Array, (await dW.data()) as Float32Array];
      tf.dispose([xt, wt, y, dy, dW, dX]);
    }
    await tf.setBackend('wasm');
    for (let i = 0; i < 3; i++) assert.ok(relErr(res.wasm[i], res.cpu[i]) < 1e-4, `output ${i}`);
  });

  it('FusedConv2D (bias, activations) matches cpu; PReLU falls back to the wasm kernel', async () => {
    const x: Shape4 = [2, 11, 10, 6];
    const w: Shape4 = [3, 3, 6, 7];
    const configs: Array<{ bias?: number[]; activation?: tf.fused.Activation; alpha?: number; stride?: number; dilation?: number }> = [
      {},
      { bias: [7] },
      { bias: [7], activation: 'relu' },
      { bias: [7], activation: 'relu6', stride: 2 },
      { bias: [1], activation: 'elu' },
      { bias: [], activation: 'sigmoid' },
      { bias: [7], activation: 'leakyrelu', alpha: 0.15, dilation: 2 },
      { bias: [7], activation: 'prelu' },
    ];
    for (const c of configs) {
      const res: Float32Array[] = [];
      let nativeCalls = 0;
      for (const backend of ['wasm', 'cpu']) {
        await tf.setBackend(backend);
        const before = nativeStats().native;
        const y = tf.tidy(() =>
          tf.fused.conv2d({
            x: tf.tensor4d(randomValues(size(x), 21), x),
            filter: tf.tensor4d(randomValues(size(w), 22), w),
            strides: c.stride ?? 1,
            pad: 'same',
            dilations: c.dilation ?? 1,
            bias: c.bias ? tf.tensor(randomValues(Math.max(1, size(c.bias)), 23), c.bias) : undefined,
            activation: c.activation,
            leakyreluAlpha: c.alpha,
            preluActivationWeights: c.activation === 'prelu' ? tf.tensor1d(randomValues(7, 24)) : undefined,
          }),
        );
        if (backend === 'wasm') nativeCalls = nativeStats().native - before;
        res.push((await y.data()) as Float32Array);
        y.dispose();
      }
      await tf.setBackend('wasm');
      assert.equal(nativeCalls, c.activation === 'prelu' ? 0 : 1, `${JSON.stringify(c)}: native calls`);
      const e = relErr(res[0], res[1]);
      assert.ok(e < 1e-4, `${JSON.stringify(c)}: rel err ${e.toExponential(2)}`);
    }
  });

  it('tf.grads through conv2d (incl. dilation 2 and stride 2) match cpu, without leaking tensors or wasm memory', async () => {
    const cases: Case[] = [
      { x: [2, 12, 11, 5], w: [3, 3, 5, 6], stride: 1, dilation: 1, pad: 'same' },
      { x: [2, 12, 11, 5], w: [3, 3, 5, 6], stride: 2, dilation: 1, pad: 'same' },
      { x: [2, 12, 11, 5], w: [3, 3, 5, 6], stride: 1, dilation: 2, pad: 'same' },
      { x: [2, 12, 11, 5], w: [5, 5, 5, 3], stride: 1, dilation: 1, pad: 'valid' },
    ];
    const grads = async (backend: string, c: Case, seed: number, viaDilated: boolean): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(randomValues(size(c.x), seed), c.x);
      const w = tf.tensor4d(randomValues(size(c.w), seed + 1), c.w);
      const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
        tf.sum(
          tf.square(
            viaDilated && c.dilation > 1
              ? tf.conv2d(a as tf.Tensor4D, dilateFilter(b as tf.Tensor4D, c.dilation, c.dilation), c.stride, c.pad)
              : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation),
          ),
        );
      const [gx, gw] = tf.grads(f)([x, w]);
      const out = [(await gx.data()) as Float32Array, (await gw.data()) as Float32Array];
      tf.dispose([x, w, gx, gw]);
      return out;
    };
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    for (let n = 0; n < cases.length; n++) {
      const c = cases[n];
      await tf.setBackend('wasm');
      const tensors = tf.memory().numTensors;
      const ids = backend.numDataIds();
      const before = nativeStats().native;
      const got = await grads('wasm', c, 50 + n, false);
      assert.ok(nativeStats().native - before >= 3, `${describeCase(c)}: native kernels not used`);
      assert.equal(tf.memory().numTensors, tensors, `${describeCase(c)}: tensor leak`);
      assert.equal(backend.numDataIds(), ids, `${describeCase(c)}: wasm data leak`);
      const want = await grads('cpu', c, 50 + n, true);
      await tf.setBackend('wasm');
      for (let i = 0; i < 2; i++) {
        const e = relErr(got[i], want[i]);
        assert.ok(e < 1e-4, `${describeCase(c)}: ${i ? 'dW' : 'dx'} rel err ${e.toExponential(2)}`);
      }
    }
  });

  it('a Conv2d layer (one op, no backend test) equals across native, wasm-only and cpu: values and x, kernel, bias gradients, no leaks', async () => {
    const specs: ConvSpec[] = [
      { inChannels: 2, outChannels: 8, kernel: 5 },
      { inChannels: 8, outChannels: 8, kernel: 3, dilation: 2 },
      { inChannels: 8, outChannels: 6, kernel: 3, stride: 2 },
      { inChannels: 6, outChannels: 4, kernel: 3, stride: 2, transposed: true },
    ];
    for (let n = 0; n < specs.length; n++) {
      const spec = specs[n];
      const label = JSON.stringify(spec);
      const res = {} as Record<Mode, Float32Array[]>;
      for (const mode of MODES) {
        const { result, nativeCalls } = await inMode(mode, async () => {
          const params = new ParamSet(100 + n);
          const conv = new Conv2d(params, `layer${n}`, spec);
          const x = tf.tensor4d(randomValues(2 * 9 * 8 * spec.inChannels, 200 + n), [2, 9, 8, spec.inChannels]);
          const arrays = await valueAndGrads(x, params, (xx) => conv.apply(xx), `${label} ${mode}`);
          x.dispose();
          params.dispose();
          return arrays;
        });
        res[mode] = result;
        if (mode === 'native') assert.ok(nativeCalls >= 3, `${label}: the native kernels ran (${nativeCalls} calls)`);
        else assert.equal(nativeCalls, 0, `${label}: no native kernel in ${mode} mode`);
      }
      assertSameAcrossModes(res, ['y', 'dx', 'dKernel', 'dBias'], label);
    }
  });

  it('the RIM cells (bench: 5x5, dilated, ConvGRUs; strided: stride 2 + transposed) equal across native, wasm-only and cpu over two recurrent steps: Δ and every gradient', async () => {
    const cells: Array<[string, (p: ParamSet) => RimCell]> = [
      ['bench', (p) => new BenchCell(p, 'cell/', 1, 8)],
      ['strided', (p) => new StridedCell(p, 'cell/', 1, 6, 5, 3)],
    ];
    for (const [name, make] of cells) {
      const res = {} as Record<Mode, Float32Array[]>;
      for (const mode of MODES) {
        const before = nativeStats().fallback;
        const { result, nativeCalls } = await inMode(mode, async () => {
          const params = new ParamSet(7);
          const cell = make(params);
          const x = tf.tensor4d(randomValues(2 * 10 * 9 * 2, 31), [2, 10, 9, 2]);
          const twoSteps = (input: tf.Tensor4D): tf.Tensor => {
            const first = cell.step(input, null);
            const second = cell.step(tf.concat([first.delta, input.slice([0, 0, 0, 1], [-1, -1, -1, 1])], 3) as tf.Tensor4D, first.state);
            return tf.concat([first.delta, second.delta], 3);
          };
          const arrays = await valueAndGrads(x, params, twoSteps, `${name} cell ${mode}`);
          x.dispose();
          params.dispose();
          return arrays;
        });
        res[mode] = result;
        if (mode === 'native') {
          assert.ok(nativeCalls >= 10, `${name} cell: the native kernels ran (${nativeCalls} calls)`);
          assert.equal(nativeStats().fallback, before, `${name} cell: no native kernel fell back`);
        } else assert.equal(nativeCalls, 0, `${name} cell: no native kernel in ${mode} mode`);
      }
      assertSameAcrossModes(res, ['Δ', 'dx'], `${name} cell`);
    }
  });

  it('the fused GRU gate (LgdGruGate / LgdGruGateGrad) equals the tfjs-op gate on wasm-only and cpu: h\' and the gradients of ih, hh and h, odd shapes, batch 1, saturated values, no leaks', async () => {
    const shapes: Array<[number, number, number, number]> = [[1, 5, 7, 3], [2, 9, 8, 16], [3, 1, 1, 1], [8, 32, 32, 32]];
    const names = ['h\'', 'dih', 'dhh', 'dh'];
    for (const [k, shape] of shapes.entries()) {
      const wide: [number, number, number, number] = [shape[0], shape[1], shape[2], 3 * shape[3]];
      const values = [wide, wide, shape].map((s, i) => {
        const v = randomValues(size(s), 700 + 10 * k + i).map((x) => 4 * x);
        // in the first case some values far outside ±4: σ and tanh saturate (the clamps of the native exp)
        if (k === 0) for (let j = 0; j < v.length; j += 5) v[j] = (j % 2 ? 1 : -1) * (30 + j);
        return v;
      });
      const res = {} as Record<Mode, Float32Array[]>;
      for (const mode of MODES) {
        const { result, nativeCalls } = await inMode(mode, async () => {
          const tensors = tf.memory().numTensors;
          const [ih, hh, h] = [wide, wide, shape].map((s, i) => tf.tensor4d(values[i], s));
          const r = tf.tensor4d(randomValues(size(shape), 790 + k), shape);
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(gruGate(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D), r));
          const out = gruGate(ih as tf.Tensor4D, hh as tf.Tensor4D, h as tf.Tensor4D);
          const grads = tf.grads(f)([ih, hh, h]);
          const arrays = [out, ...grads].map((t) => t.dataSync() as Float32Array);
          tf.dispose([out, r, ih, hh, h, ...grads]);
          assert.equal(tf.memory().numTensors, tensors, `gruGate ${mode} [${shape}]: tensor leak`);
          return arrays;
        });
        res[mode] = result;
        if (mode === 'native') assert.ok(nativeCalls >= 2, `[${shape}]: the fused kernels ran (${nativeCalls} calls)`);
        else assert.equal(nativeCalls, 0);
      }
      for (const mode of ['native', 'wasm'] as const) {
        res.cpu.forEach((want, i) => {
          const e = relErr(res[mode][i], want);
          assert.ok(e < 1e-5, `gruGate [${shape}], ${mode} vs cpu: ${names[i]} rel err ${e.toExponential(2)}`);
        });
      }
      assert.ok(res.native.every((a) => a.every(Number.isFinite)), 'finite where σ and tanh saturate');
    }
    const a = tf.zeros([1, 2, 2, 9]) as tf.Tensor4D;
    const b = tf.zeros([1, 2, 2, 6]) as tf.Tensor4D;
    const h = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    assert.throws(() => gruGate(a, b, h), /gruGate: ih \[1,2,2,9\] and hh \[1,2,2,6\] must be float32 \[b, h, w, 3F\] for h \[1,2,2,3\] \(F = 3\)/);
    tf.dispose([a, b, h]);
  });

  it('LGD_NATIVE=0 in a fresh process: no native kernel registered, and RIM training steps give the losses of the native kernels (rel 1e-5), leaking nothing', () => {
    const run = (env: Record<string, string>) => {
      const res = runRimSteps(env);
      assert.equal(res.status, 0, res.stderr);
      return JSON.parse(res.stdout.trim().split('\n').pop()!) as { native: boolean; gru: boolean; losses: number[]; leaked: number };
    };
    const on = run({});
    const off = run({ LGD_NATIVE: '0' });
    assert.deepEqual([on.native, on.gru], [true, true], 'the native convolutions and GRU gate ran by default');
    assert.deepEqual([off.native, off.gru], [false, false], 'LGD_NATIVE=0 registers none of them');
    on.losses.forEach((l, i) => assert.ok(Math.abs(l - off.losses[i]) <= 1e-5 * Math.abs(l), `step ${i + 1}: loss ${l} (native) vs ${off.losses[i]} (wasm)`));
    assert.ok(on.losses[2] < on.losses[0], 'the steps lower the loss');
    assert.deepEqual([on.leaked, off.leaked], [0, 0], 'no tensor left per training step');
  });

  it('the native BiasAddGrad equals a double-precision sum (rank 2 and 4, empty)', async () => {
    await tf.setBackend('wasm');
    for (const shape of [[7, 3], [8, 32, 32, 32], [2, 5, 3, 17], [0, 4, 4, 3]]) {
      const values = randomValues(size(shape), 44);
      const c = shape[shape.length - 1];
      const want = new Float64Array(c);
      values.forEach((v, i) => (want[i % c] += v));
      const dy = tf.tensor(values, shape);
      const before = nativeStats().native;
      const got = tf.engine().runKernel('BiasAddGrad', { dy }) as tf.Tensor;
      assert.equal(nativeStats().native - before, 1, `[${shape}]: native BiasAddGrad ran`);
      const e = relErr((await got.data()) as Float32Array, want);
      assert.ok(e < 1e-5, `[${shape}]: rel err ${e.toExponential(2)}`);
      tf.dispose([dy, got]);
    }
  });

  it('also runs on the cpu backend when registered for it', async () => {
    const c: Case = { x: [2, 10, 9, 4], w: [3, 3, 4, 5], stride: 2, dilation: 1, pad: 'same' };
    await tf.setBackend('cpu');
    const want = await convTriple(c, 77, true);
    registerNativeKernels({ backends: ['cpu'], quiet: true });
    try {
      const before = nativeStats().native;
      const got = await convTriple(c, 77, false);
      assert.equal(nativeStats().native - before, 3);
      for (let i = 0; i < 3; i++) assert.ok(relErr(got[i], want[i]) < 1e-4, `output ${i}`);
    } finally {
      unregisterNativeKernels();
      registerNativeKernels({ quiet: true });
      await tf.setBackend('wasm');
    }
    assert.ok(nativeKernelsActive('wasm') && !nativeKernelsActive('cpu'));
  });

  it('a few Adam steps of a small conv model lower the loss', async () => {
    await tf.setBackend('wasm');
    const tensors = tf.memory().numTensors;
    const x = tf.tensor4d(randomValues(4 * 12 * 12 * 2, 5), [4, 12, 12, 2]);
    const target = tf.tidy(() => tf.mul(tf.sin(tf.mul(x.slice([0, 0, 0, 0], [4, 12, 12, 1]), 3)), 0.5));
    const init = (shape: Shape4, seed: number, scale: number): tf.Tensor => tf.mul(tf.tensor4d(randomValues(size(shape), seed), shape), scale);
    const [w1, b1, w2, w3] = tf.tidy(() => [init([3, 3, 2, 8], 6, 0.3), tf.zeros([8]), init([3, 3, 8, 8], 7, 0.2), init([3, 3, 8, 1], 8, 0.2)].map((t) => tf.variable(t)));
    const opt = tf.train.adam(0.01);
    const loss = (): tf.Scalar =>
      tf.tidy(() => {
        let h = tf.relu(tf.fused.conv2d({ x, filter: w1 as tf.Tensor4D, strides: 1, pad: 'same', bias: b1 }));
        h = tf.relu(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'same', 'NHWC', 2));
        const y = tf.conv2d(h, w3 as tf.Tensor4D, 1, 'same');
        return tf.mean(tf.square(tf.sub(y, target)));
      });
    const before = nativeStats();
    const l0 = loss();
    const first = (await l0.data())[0];
    l0.dispose();
    let last = first;
    for (let i = 0; i < 15; i++) {
      const l = opt.minimize(loss, true) as tf.Scalar;
      last = (await l.data())[0];
      l.dispose();
    }
    const after = nativeStats();
    assert.ok(after.native - before.native >= 15 * 8, 'native kernels used in the steps');
    assert.equal(after.fallback, before.fallback, 'no fallbacks');
    assert.ok(Number.isFinite(last) && last < 0.8 * first, `loss ${first} -> ${last}`);
    opt.dispose();
    tf.dispose([x, target, w1, b1, w2, w3]);
    assert.equal(tf.memory().numTensors, tensors, 'tensor leak');
  });
});

describe('model layers do not branch on the backend', () => {
  it('lib/solvers/learned imports nothing from lib/engine/native and never asks which backend runs', () => {
    const dir = path.join(__dirname, '..', 'lib', 'solvers', 'learned');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.includes('conv.ts'), `expected conv.ts in ${dir}`);
    for (const f of files) {
      const src = fs.readFileSync(path.join(dir, f), 'utf8');
      assert.doesNotMatch(src, /engine\/native|nativeKernelsActive|getBackend\(|dilatedKernelsActive|getKernel\(/, `lib/solvers/learned/${f} asks about the backend or its kernels`);
    }
  });
});
