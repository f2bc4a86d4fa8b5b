import { strict as assert } from 'assert';
import { tf } from '../lib/engine/tf';
import { biasAddGradWasm, dilateFilter, registerWasmKernels, wasmKernelsRegistered } from '../lib/engine/kernels';
import { addBias, biasAddGrad, convBias } from '../lib/engine/ops';
import { Case, Pad, Shape4, randomValues, relErr, size } from './helpers/conv_cases';

// Gradients of conv2d on the wasm backend (kernels of lib/engine/kernels) against the 'cpu'
// backend (tfjs' reference JS kernels) on random shapes.



function outShape(c: Case): Shape4 {
  return tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.w) as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation).shape as Shape4);
}

/** [dx, dW] of sum(conv2d(x, w) * r) on `backend`; `viaDilatedFilter` builds the dilation into w. */
async function convGrads(backend: string, c: Case, seed: number, viaDilatedFilter = false): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend(backend);
  const yShape = outShape(c);
  const x = tf.tensor4d(randomValues(size(c.x), seed), c.x);
  const w = tf.tensor4d(randomValues(size(c.w), seed + 1), c.w);
  const r = tf.tensor4d(randomValues(size(yShape), seed + 2), yShape);
  const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    const y = viaDilatedFilter
      ? tf.conv2d(a as tf.Tensor4D, dilateFilter(b as tf.Tensor4D, c.dilation, c.dilation), c.stride, c.pad, 'NHWC', 1)
      : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation);
    return tf.sum(tf.mul(y, r));
  };
  const [gx, gw] = tf.grads(f)([x, w]);
  const out: [Float32Array, Float32Array] = [(await gx.data()) as Float32Array, (await gw.data()) as Float32Array];
  tf.dispose([x, w, r, gx, gw]);
  return out;
}

function describeCase(c: Case): string {
  return `x[${c.x}] w[${c.w}] stride ${c.stride} dilation ${c.dilation} pad ${JSON.stringify(c.pad)}`;
}

async function checkCase(c: Case, seed: number): Promise<void> {
  const [dx, dw] = await convGrads('wasm', c, seed);
  // Reference: cpu; for dilation > 1 through an explicitly zero-dilated filter (tfjs' own
  // gradients of an undilated conv), independent of our dilation handling.
  const [rx, rw] = await convGrads('cpu', c, seed, c.dilation > 1);
  const ex = relErr(dx, rx);
  const ew = relErr(dw, rw);
  assert.ok(ex < 1e-4 && ew < 1e-4, `${describeCase(c)}: rel err dx ${ex.toExponential(2)}, dW ${ew.toExponential(2)}`);
  await tf.setBackend('wasm');
}

/** Random cases over kernel 1/3/5, (stride, dilation) (1,1)/(2,1)/(1,2), same/valid. */
function randomCases(): Case[] {
  const rnd = randomValues(4096, 12345);
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
        for (let rep = 0; rep < 2; rep++) {
          const ke = (k - 1) * dilation + 1;
          const h = ke + pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
          const w = ke + pick([0, 1, 2, 3, 4, 6, 7, 10]);
          cases.push({
            x: [pick([1, 2, 3, 5]), h, w, pick([1, 2, 3, 8, 16])],
            w: [k, k, 0, pick([1, 2, 4, 8, 9])],
            stride,
            dilation,
            pad,
          });
          cases[cases.length - 1].w[2] = cases[cases.length - 1].x[3];
        }
      }
    }
  }
  return cases;
}

describe('wasm conv2d gradient kernels', function () {
  this.timeout(300000);
  let previous = '';

  before(async () => {
    require('@tensorflow/tfjs-backend-wasm');
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'), 'wasm backend failed to initialise');
    await tf.ready();
    registerWasmKernels();
    registerWasmKernels(); // idempotent
  });

  after(async () => {
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  });

  it('registers Conv2DBackpropFilter and replaces Conv2DBackpropInput for wasm', () => {
    assert.ok(wasmKernelsRegistered());
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  });

  it('dx and dW match the cpu backend on random shapes (kernel 1/3/5, stride 1/2, dilation 1/2, same/valid)', async () => {
    const cases = randomCases();
    for (let n = 0; n < cases.length; n++) await checkCase(cases[n], 100 + 7 * n);
  });

  it('matches on a larger, typical layer shape', async () => {
    await checkCase({ x: [4, 17, 16, 16], w: [3, 3, 16, 32], stride: 1, dilation: 1, pad: 'same' }, 5);
    await checkCase({ x: [2, 16, 15, 32], w: [3, 3, 32, 16], stride: 2, dilation: 1, pad: 'same' }, 6);
    await checkCase({ x: [3, 15, 16, 8], w: [3, 3, 8, 8], stride: 1, dilation: 2, pad: 'same' }, 7);
  });

  it('handles numeric and explicit padding, rectangular strides and kernels', async () => {
    const cases: Case[] = [
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 1, dilation: 1, pad: 1 },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 2, dilation: 1, pad: 2 },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 1, dilation: 2, pad: 1 },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 1, dilation: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 2, dilation: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
      { x: [2, 9, 8, 3], w: [3, 5, 3, 4], stride: [1, 2], dilation: 1, pad: 'same' },
      { x: [2, 9, 8, 3], w: [4, 2, 3, 4], stride: [2, 1], dilation: 1, pad: 'valid' },
      { x: [1, 10, 10, 2], w: [4, 4, 2, 3], stride: 2, dilation: 1, pad: 'same' },
      // padding wider than the kernel: rows/columns of dy that reach no input
      { x: [2, 6, 5, 3], w: [3, 3, 3, 4], stride: 1, dilation: 1, pad: 3 },
      { x: [2, 6, 5, 3], w: [3, 3, 3, 4], stride: 2, dilation: 1, pad: 4 },
      { x: [2, 6, 5, 3], w: [3, 3, 3, 4], stride: 1, dilation: 2, pad: [[0, 0], [5, 1], [0, 6], [0, 0]] },
    ];
    for (let n = 0; n < cases.length; n++) await checkCase(cases[n], 900 + n);
  });

  it('NCHW data format (kernels called directly)', async () => {
    const x: Shape4 = [2, 3, 9, 8]; // NCHW
    const w: Shape4 = [3, 3, 3, 5];
    const results: Record<string, [Float32Array, Float32Array]> = {};
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const xt = tf.tensor4d(randomValues(size(x), 1), x);
      const wt = tf.tensor4d(randomValues(size(w), 2), w);
      const dy = tf.tensor4d(randomValues(2 * 5 * 5 * 4, 3), [2, 5, 5, 4]);
      const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW' };
      const dW = tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy }, { ...attrs, filterShape: w } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const dX = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: wt }, { ...attrs, inputShape: x } as unknown as tf.NamedAttrMap) as tf.Tensor;
      assert.deepEqual(dX.shape, x);
      results[backend] = [(await dX.data()) as Float32Array, (await dW.data()) as Float32Array];
      tf.dispose([xt, wt, dy, dW, dX]);
    }
    assert.ok(relErr(results.wasm[0], results.cpu[0]) < 1e-4, 'dx');
    assert.ok(relErr(results.wasm[1], results.cpu[1]) < 1e-4, 'dW');
    await tf.setBackend('wasm');
  });

  it('tf.conv2dTranspose (forward Conv2DBackpropInput) matches cpu', async () => {
    const configs: Array<{ x: Shape4; w: Shape4; out: Shape4; stride: number; pad: 'same' | 'valid' }> = [
      { x: [2, 5, 6, 8], w: [4, 4, 3, 8], out: [2, 10, 12, 3], stride: 2, pad: 'same' },
      { x: [2, 5, 6, 8], w: [3, 3, 3, 8], out: [2, 11, 13, 3], stride: 2, pad: 'valid' },
      { x: [1, 7, 7, 4], w: [2, 2, 5, 4], out: [1, 14, 14, 5], stride: 2, pad: 'valid' },
      { x: [3, 7, 6, 4], w: [3, 3, 2, 4], out: [3, 7, 6, 2], stride: 1, pad: 'same' },
    ];
    for (const c of configs) {
      const res: Float32Array[] = [];
      for (const backend of ['wasm', 'cpu']) {
        await tf.setBackend(backend);
        const y = tf.tidy(() =>
          tf.conv2dTranspose(tf.tensor4d(randomValues(size(c.x), 4), c.x), tf.tensor4d(randomValues(size(c.w), 5), c.w), c.out, c.stride, c.pad),
        );
        assert.deepEqual(y.shape, c.out);
        res.push((await y.data()) as Float32Array);
        y.dispose();
      }
      assert.ok(relErr(res[0], res[1]) < 1e-4, `conv2dTranspose ${JSON.stringify(c)}`);
    }
    await tf.setBackend('wasm');
  });

  it('second-order gradients (gradient of a gradient norm) match cpu, dilation 1 and 2', async () => {
    for (const dilation of [1, 2]) {
      const x: Shape4 = [2, 9, 8, 3];
      const w: Shape4 = [3, 3, 3, 4];
      const res: Float32Array[] = [];
      for (const backend of ['wasm', 'cpu']) {
        await tf.setBackend(backend);
        const xt = tf.tensor4d(randomValues(size(x), 11), x);
        const wt = tf.tensor4d(randomValues(size(w), 12), w);
        const g = tf.tidy(() =>
          tf.grad((k: tf.Tensor) => {
            const gx = tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, k as tf.Tensor4D, 1, 'same', 'NHWC', dilation))))(xt);
            return tf.sum(tf.square(gx));
          })(wt),
        );
        res.push((await g.data()) as Float32Array);
        tf.dispose([xt, wt, g]);
      }
      assert.ok(relErr(res[0], res[1]) < 1e-4, `second order, dilation ${dilation}: ${relErr(res[0], res[1])}`);
    }
    await tf.setBackend('wasm');
  });

  it('does not leak tensors or wasm memory', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const configs: Case[] = [
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 1, dilation: 1, pad: 'same' },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 2, dilation: 1, pad: 'same' },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 1, dilation: 2, pad: 'valid' },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 2, dilation: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
    ];
    const x = tf.tensor4d(randomValues(2 * 9 * 8 * 3, 1), [2, 9, 8, 3]);
    const w = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    for (const c of configs) {
      const run = () =>
        tf.tidy(() => {
          const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation))),
          )([x, w]);
          gx.dataSync();
          gw.dataSync();
        });
      run(); // warm-up
      const tensors = tf.memory().numTensors;
      const ids = backend.numDataIds();
      for (let i = 0; i < 3; i++) run();
      assert.equal(tf.memory().numTensors, tensors, `tensors leaked: ${describeCase(c)}`);
      assert.equal(backend.numDataIds(), ids, `wasm buffers leaked: ${describeCase(c)}`);
    }
    tf.dispose([x, w]);
  });

  it('training works on wasm: Adam lowers the loss of a small conv net', async () => {
    await tf.setBackend('wasm');
    const xs = tf.tensor4d(randomValues(4 * 12 * 12 * 2, 21), [4, 12, 12, 2]);
    // Target: a fixed random conv net of the same architecture.
    const teacher = [tf.tensor4d(randomValues(3 * 3 * 2 * 6, 22), [3, 3, 2, 6]), tf.tensor4d(randomValues(3 * 3 * 6 * 2, 23), [3, 3, 6, 2])];
    const net = (p: tf.Tensor4D[], x: tf.Tensor4D): tf.Tensor4D => {
      const h = tf.relu(tf.conv2d(x, p[0], 1, 'same', 'NHWC', 2));
      const d = tf.conv2d(h, p[1], 2, 'same');
      return tf.conv2dTranspose(d, tf.ones([2, 2, 2, 2]) as tf.Tensor4D, [4, 12, 12, 2], 2, 'same');
    };
    const target = tf.tidy(() => net(teacher, xs));
    const params = [
      tf.variable(tf.mul(tf.tensor4d(randomValues(3 * 3 * 2 * 6, 31), [3, 3, 2, 6]), 0.3)),
      tf.variable(tf.mul(tf.tensor4d(randomValues(3 * 3 * 6 * 2, 32), [3, 3, 6, 2]), 0.3)),
    ] as tf.Variable<tf.Rank.R4>[];
    const opt = tf.train.adam(0.03);
    const lossFn = () => tf.mean(tf.square(tf.sub(net(params, xs), target))) as tf.Scalar;
    const initial = tf.tidy(() => lossFn().dataSync()[0]);
    let last = initial;
    for (let i = 0; i < 40; i++) {
      const l = opt.minimize(lossFn, true, params);
      last = l!.dataSync()[0];
      l!.dispose();
    }
    assert.ok(Number.isFinite(last) && last < 0.5 * initial, `loss ${initial} -> ${last}`);
    opt.dispose();
    tf.dispose([xs, target, ...teacher, ...params]);
  });
});

describe('BiasAddGrad kernel and the FusedConv2D gradient (the engine ops convBias / addBias)', function () {
  this.timeout(300000);
  let previous = '';

  before(async () => {
    require('@tensorflow/tfjs-backend-wasm');
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'), 'wasm backend failed to initialise');
    await tf.ready();
    registerWasmKernels();
  });

  after(async () => {
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  });

  /** Runs the wasm kernel function itself (whatever is registered), as a Tensor. */
  function runBiasAddGradWasm(dy: tf.Tensor): tf.Tensor {
    const info = biasAddGradWasm({ inputs: { dy }, backend: tf.backend() });
    return tf.engine().makeTensorFromTensorInfo(info);
  }

  it('the wasm BiasAddGrad kernel equals tf.sum over every axis but the last (rank 1 to 4, empty), leaking nothing', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const shapes: number[][] = [[5], [7, 3], [2, 5, 4], [8, 32, 32, 32], [2, 3, 1, 17], [0, 4, 4, 3], [2, 2, 0]];
    for (const shape of shapes) {
      const values = randomValues(size(shape), 70 + shape.length);
      const c = shape[shape.length - 1];
      const want = new Float64Array(c); // reference: a plain double-precision loop
      values.forEach((v, i) => (want[i % c] += v));
      const dy = tf.tensor(values, shape);
      const ids = backend.numDataIds();
      const got = runBiasAddGradWasm(dy);
      assert.equal(backend.numDataIds(), ids + 1, `[${shape}]: only the result stays allocated`);
      assert.deepEqual(got.shape, [c]);
      const e = relErr((await got.data()) as Float32Array, want);
      assert.ok(e < 1e-5, `[${shape}]: rel err ${e.toExponential(2)}`);
      tf.dispose([dy, got]);
    }
  });

  it('biasAddGrad is differentiable: its gradient broadcasts the incoming [C] gradient over dy', async () => {
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const dy = tf.tensor4d(randomValues(2 * 3 * 4 * 5, 81), [2, 3, 4, 5]);
      const r = tf.tensor1d([1, -2, 3, 0.5, 4]);
      const g = tf.grad((d: tf.Tensor) => tf.sum(tf.mul(biasAddGrad(d), r)))(dy);
      const want = tf.tidy(() => tf.mul(tf.onesLike(dy), r));
      assert.ok(relErr((await g.data()) as Float32Array, (await want.data()) as Float32Array) < 1e-6, backend);
      tf.dispose([dy, r, g, want]);
    }
    await tf.setBackend('wasm');
  });

  /** Values and gradients (x, W, b) of sum(r · (conv(x, W) + b)) through convBias, or through tf.conv2d + tf.add. */
  async function biasedConv(backend: string, c: { x: Shape4; w: Shape4; stride: number; dilation: number }, seed: number, viaOp: boolean): Promise<Float32Array[]> {
    await tf.setBackend(backend);
    const x = tf.tensor4d(randomValues(size(c.x), seed), c.x);
    const w = tf.tensor4d(randomValues(size(c.w), seed + 1), c.w);
    const b = tf.tensor1d(randomValues(c.w[3], seed + 2));
    const conv = (a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor): tf.Tensor4D =>
      viaOp
        ? convBias(a as tf.Tensor4D, k as tf.Tensor4D, bias, c.dilation, c.stride)
        : (tf.add(c.dilation > 1 ? tf.conv2d(a as tf.Tensor4D, dilateFilter(k as tf.Tensor4D, c.dilation, c.dilation), c.stride, 'same') : tf.conv2d(a as tf.Tensor4D, k as tf.Tensor4D, c.stride, 'same'), bias) as tf.Tensor4D);
    const y = conv(x, w, b);
    const r = tf.tensor4d(randomValues(size(y.shape), seed + 3), y.shape as Shape4);
    const grads = tf.grads((a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) => tf.sum(tf.mul(conv(a, k, bias), r)))([x, w, b]);
    const out = [y, ...grads];
    const values = await Promise.all(out.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose([x, w, b, r, ...out]);
    return values;
  }

  it('convBias (FusedConv2D + registered gradients) equals conv2d + add on cpu: values and dx, dW, db for dilation 1/2 and stride 2, on wasm and cpu', async () => {
    const cases = [
      { x: [2, 9, 8, 3] as Shape4, w: [3, 3, 3, 5] as Shape4, stride: 1, dilation: 1 },
      { x: [2, 9, 8, 3] as Shape4, w: [3, 3, 3, 5] as Shape4, stride: 1, dilation: 2 },
      { x: [2, 9, 8, 3] as Shape4, w: [3, 3, 3, 5] as Shape4, stride: 2, dilation: 1 },
      { x: [1, 12, 10, 2] as Shape4, w: [5, 5, 2, 4] as Shape4, stride: 1, dilation: 1 },
    ];
    for (let n = 0; n < cases.length; n++) {
      const c = cases[n];
      // Reference: tfjs' own cpu kernels and gradients of an undilated conv (dilation built into the filter).
      const want = await biasedConv('cpu', c, 400 + 10 * n, false);
      for (const backend of ['wasm', 'cpu']) {
        const got = await biasedConv(backend, c, 400 + 10 * n, true);
        ['y', 'dx', 'dW', 'db'].forEach((name, i) => {
          const e = relErr(got[i], want[i]);
          assert.ok(e < 1e-4, `${backend} x[${c.x}] w[${c.w}] stride ${c.stride} dilation ${c.dilation}: ${name} rel err ${e.toExponential(2)}`);
        });
      }
    }
    await tf.setBackend('wasm');
  });

  it('convBias: second-order gradients match cpu (dilation 1 and 2)', async () => {
    for (const dilation of [1, 2]) {
      const res: Float32Array[] = [];
      for (const backend of ['wasm', 'cpu']) {
        await tf.setBackend(backend);
        const x = tf.tensor4d(randomValues(2 * 9 * 8 * 3, 91), [2, 9, 8, 3]);
        const w = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 92), [3, 3, 3, 4]);
        const b = tf.tensor1d(randomValues(4, 93));
        const g = tf.tidy(() =>
          tf.grad((k: tf.Tensor) => {
            const gx = tf.grad((a: tf.Tensor) => tf.sum(tf.square(convBias(a as tf.Tensor4D, k as tf.Tensor4D, b, dilation))))(x);
            return tf.sum(tf.square(gx));
          })(w),
        );
        res.push((await g.data()) as Float32Array);
        tf.dispose([x, w, b, g]);
      }
      const e = relErr(res[0], res[1]);
      assert.ok(e < 1e-4, `dilation ${dilation}: rel err ${e.toExponential(2)}`);
    }
    await tf.setBackend('wasm');
  });

  it('convBias and addBias leak no tensors or wasm memory (forward and gradients)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = tf.tensor4d(randomValues(2 * 9 * 8 * 3, 1), [2, 9, 8, 3]);
    const w = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    const b = tf.tensor1d(randomValues(4, 3));
    const run = (dilation: number, stride: number) =>
      tf.tidy(() => {
        const gs = tf.grads((a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) =>
          tf.sum(tf.square(addBias(convBias(a as tf.Tensor4D, k as tf.Tensor4D, bias, dilation, stride), bias))),
        )([x, w, b]);
        gs.forEach((g) => g.dataSync());
      });
    for (const [dilation, stride] of [[1, 1], [2, 1], [1, 2]]) {
      run(dilation, stride); // warm-up
      const tensors = tf.memory().numTensors;
      const ids = backend.numDataIds();
      for (let i = 0; i < 3; i++) run(dilation, stride);
      assert.equal(tf.memory().numTensors, tensors, `tensors leaked: dilation ${dilation} stride ${stride}`);
      assert.equal(backend.numDataIds(), ids, `wasm buffers leaked: dilation ${dilation} stride ${stride}`);
    }
    tf.dispose([x, w, b]);
  });

  it('convBias names both shapes when the channels disagree', () => {
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 2, 5]) as tf.Tensor4D;
    const b = tf.zeros([5]);
    assert.throws(() => convBias(x, w, b), /convBias: input \[1,4,4,3\].*filter \[3,3,2,5\]/);
    tf.dispose([x, w, b]);
  });

  it('the FusedConv2D gradient refuses a non-linear activation, naming its file', () => {
    const x = tf.tensor4d(randomValues(1 * 5 * 5 * 2, 5), [1, 5, 5, 2]);
    const w = tf.tensor4d(randomValues(3 * 3 * 2 * 3, 6), [3, 3, 2, 3]);
    const b = tf.zeros([3]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
    const f = (a: tf.Tensor) => tf.sum(tf.engine().runKernel('FusedConv2D', { x: a, filter: w, bias: b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor);
    assert.throws(() => tf.grad(f)(x), /FusedConv2D gradient: activation 'relu'.*fused_conv2d_grad\.ts/);
    tf.dispose([x, w, b]);
  });
});

/** Mocha hooks of a describe block: the wasm backend with this folder's kernels, the previous backend back after. */
function onWasmWithKernels(): void {
  let previous = '';
  before(async () => {
    require('@tensorflow/tfjs-backend-wasm');
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'), 'wasm backend failed to initialise');
    registerWasmKernels();
  });
  after(async () => {
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  });
}

describe('Identity and same-dtype Cast share the buffer on wasm (no copy)', function () {
  this.timeout(120000);
  onWasmWithKernels();

  it('clone and cast to the same dtype share, other casts convert; disposal order does not matter; nothing leaks', () => {
    const backend = tf.backend() as unknown as { numDataIds(): number; refCount(id: tf.DataId): number };
    const tensors = tf.memory().numTensors;
    const ids = backend.numDataIds();
    const x = tf.tensor2d([1.5, -2.25, 3, 4.75], [2, 2]);
    const c = tf.clone(x);
    const f = tf.cast(x, 'float32');
    assert.equal(c.dataId, x.dataId, 'clone shares the buffer');
    assert.equal(f.dataId, x.dataId, 'a float32 → float32 cast shares the buffer');
    assert.equal(backend.refCount(x.dataId), 3);
    assert.equal(backend.numDataIds(), ids + 1, 'one buffer for three tensors');
    const i = tf.cast(x, 'int32');
    assert.notEqual(i.dataId, x.dataId);
    assert.deepEqual(Array.from(i.dataSync()), [1, -2, 3, 4], 'a dtype change still converts');
    x.dispose(); // the shared copies outlive the original
    assert.deepEqual(Array.from(c.dataSync()), [1.5, -2.25, 3, 4.75]);
    assert.deepEqual(Array.from(f.dataSync()), [1.5, -2.25, 3, 4.75]);
    tf.dispose([c, f, i]);
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(backend.numDataIds(), ids, 'the shared buffer is freed with its last tensor');
  });

  it('gradients through saved tensors (clones) equal those of the copying kernels, bit for bit, with no leak', () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomValues(2 * 6 * 5 * 3, 7), [2, 6, 5, 3]);
        const w = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 8), [3, 3, 3, 4]);
        const f = (a: tf.Tensor, k: tf.Tensor) => {
          const h = tf.sigmoid(tf.conv2d(a as tf.Tensor4D, k as tf.Tensor4D, 1, 'same'));
          return tf.sum(tf.mul(tf.relu(tf.sub(h, 0.5)), tf.div(h, tf.add(tf.square(a).sum(3, true), 1))));
        };
        const [gx, gw] = tf.grads(f)([x, w]);
        return [Array.from(gx.dataSync()), Array.from(gw.dataSync())];
      });
    const shared = run();
    const own = { identity: tf.getKernel('Identity', 'wasm')!, cast: tf.getKernel('Cast', 'wasm')! };
    // the copying kernels: tfjs-backend-wasm's own behaviour (a new buffer, a copy)
    const copy = (args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }) => {
      const x = args.inputs.x as tf.TensorInfo;
      const be = args.backend as { makeOutput(s: number[], d: tf.DataType): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array };
      const out = be.makeOutput(x.shape, (args.attrs?.dtype as tf.DataType) ?? x.dtype);
      be.typedArrayFromHeap(out).set(be.typedArrayFromHeap(x));
      return out;
    };
    tf.unregisterKernel('Identity', 'wasm');
    tf.unregisterKernel('Cast', 'wasm');
    tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: copy as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: 'Cast', backendName: 'wasm', kernelFunc: copy as unknown as tf.KernelFunc });
    let copied: number[][];
    try {
      copied = run();
    } finally {
      tf.unregisterKernel('Identity', 'wasm');
      tf.unregisterKernel('Cast', 'wasm');
      tf.registerKernel(own.identity);
      tf.registerKernel(own.cast);
    }
    assert.deepEqual(shared, copied);
    const tensors = tf.memory().numTensors;
    const ids = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    run();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal((tf.backend() as unknown as { numDataIds(): number }).numDataIds(), ids, 'no wasm buffer leaked');
  });
});

describe('Concat and SplitV for narrow rows on wasm', function () {
  this.timeout(120000);
  onWasmWithKernels();

  /** Runs `f` on wasm (this folder's kernels) and on cpu (tfjs's reference), returning both results' values and shapes. */
  async function both(f: () => tf.Tensor | tf.Tensor[]): Promise<Array<{ shape: number[]; values: number[] }[]>> {
    const out = [];
    for (const b of ['wasm', 'cpu']) {
      await tf.setBackend(b);
      out.push(tf.tidy(() => ([] as tf.Tensor[]).concat(f()).map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }))));
    }
    await tf.setBackend('wasm');
    return out;
  }

  it('concat equals the cpu backend: every axis, 1 to 4 pieces, narrow and wide rows, odd sizes, int32, an empty piece, a negative axis', async () => {
    let seed = 100;
    const cases: Array<{ shapes: number[][]; axis: number; dtype?: 'int32' }> = [
      { shapes: [[8, 32, 32, 1], [8, 32, 32, 1]], axis: 3 },
      { shapes: [[2, 5, 7, 1], [2, 5, 7, 3], [2, 5, 7, 2]], axis: 3 },
      { shapes: [[3, 5, 7, 40], [3, 5, 7, 33]], axis: -1 },
      { shapes: [[1, 3, 3, 2], [1, 4, 3, 2]], axis: 1 },
      { shapes: [[2, 3, 1, 5], [2, 3, 2, 5], [2, 3, 0, 5], [2, 3, 1, 5]], axis: 2 },
      { shapes: [[1, 9], [4, 9]], axis: 0 },
      { shapes: [[6, 1], [6, 1], [6, 1], [6, 1]], axis: 1, dtype: 'int32' },
    ];
    for (const c of cases) {
      const values = c.shapes.map((s) => randomValues(s.reduce((a, b) => a * b, 1), seed++));
      const [w, cpu] = await both(() => tf.concat(c.shapes.map((s, i) => tf.tensor(c.dtype ? values[i].map((v) => Math.round(v * 100)) : values[i], s, c.dtype ?? 'float32')), c.axis));
      assert.deepEqual(w, cpu, `concat of ${JSON.stringify(c.shapes)} on axis ${c.axis}`);
    }
  });

  it('split equals the cpu backend (sizes, a -1 size, equal parts, narrow and wide), and the gradient of concat is the split', async () => {
    const x = randomValues(2 * 5 * 7 * 6, 7);
    for (const [sizes, axis] of [[[1, 5], 3], [[2, -1, 1], 3], [3, 3], [[2, 3], 1], [[1, 6], 2], [[1, 1], 0]] as Array<[number | number[], number]>) {
      const [w, cpu] = await both(() => tf.split(tf.tensor4d(x, [2, 5, 7, 6]), sizes, axis));
      assert.deepEqual(w, cpu, `split ${JSON.stringify(sizes)} on axis ${axis}`);
    }
    const [w, cpu] = await both(() => {
      const a = tf.tensor4d(randomValues(2 * 4 * 4, 8), [2, 4, 4, 1]);
      const b = tf.tensor4d(randomValues(2 * 4 * 4 * 3, 9), [2, 4, 4, 3]);
      const r = tf.tensor4d(randomValues(2 * 4 * 4 * 4, 10), [2, 4, 4, 4]);
      return tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.concat([p, q], 3), r)))([a, b]);
    });
    assert.deepEqual(w, cpu);
  });

  it('leaks neither tensors nor wasm buffers, and still names shapes that do not fit', () => {
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const a = tf.ones([2, 3, 1]);
    const b = tf.zeros([2, 3, 2]);
    const run = () => tf.tidy(() => tf.split(tf.concat([a, b], 2), [2, 1], 2).forEach((t) => t.dataSync()));
    run();
    const [tensors, ids] = [tf.memory().numTensors, backend.numDataIds()];
    for (let i = 0; i < 3; i++) run();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(backend.numDataIds(), ids);
    assert.throws(() => tf.concat([a, tf.ones([3, 3, 1])], 2), /shapes|must match/i);
    tf.dispose([a, b]);
  });
});
