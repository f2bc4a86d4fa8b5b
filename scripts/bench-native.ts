/**
 * Native (oneDNN) convolution kernels vs the wasm ones (XNNPACK + lib/engine/kernels) vs PyTorch,
 * on the RIM-bench shapes, and a full RIM-bench training step in tfjs with and without them.
 *
 *   npx tsx scripts/bench-native.ts              # convs + full step + torch (needs /usr/bin/python3 with torch)
 *   npx tsx scripts/bench-native.ts --quick      # fewer repetitions
 *   npx tsx scripts/bench-native.ts --no-torch --no-step --profile --json out.json
 *   npx tsx scripts/bench-native.ts --wait-quiet   # wait for an idle machine before each timing
 *   LGD_NATIVE_THREADS=1 npx tsx scripts/bench-native.ts --cpu-time --threads 1   # single-thread CPU time
 *
 * Options: --no-convs (full step only), --no-step, --no-torch, --no-wasm-step, --impl (oneDNN
 * implementation chosen per conv), --separate-gates (GRU gates as 3 convs: no SplitV/Concat),
 * --profile, --json FILE, --batch/--size/--features/--steps/--threads/--iters N. Env:
 * LGD_NATIVE_THREADS, LGD_NATIVE_AUTOTUNE=0 (lib/engine/native.ts), LGD_PYTHON, LGD_TORCH_TWIN.
 *
 * Conv table: ms per call (median) and GFLOP/s (2·N·oH·oW·kh·kw·ci·co per call) of the forward
 * conv, Conv2DBackpropInput (dx) and Conv2DBackpropFilter (dW), for
 *   wasm    the wasm backend's kernels (XNNPACK Conv2D, this repo's dx / dW built on it);
 *   native  lib/engine/native.ts (oneDNN through zero-copy views on the wasm heap);
 *   torch   torch.nn.functional.conv2d / aten.convolution_backward in /usr/bin/python3, NCHW.
 *
 * Full step: the RIM-bench network of /work/shared/bench/rim_torch.py written in tfjs (below),
 * one Adam step on a [B, S, S, 1] batch, T recurrent steps, F features; `--profile` adds the
 * time per kernel name (tf.profile) of one native step, to see where the rest goes.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { tf } from '../lib/engine/tf';
import { initEngine } from '../lib/engine';
import { nativeImplInfo, nativeInfo, registerNativeKernels, unregisterNativeKernels } from '../lib/engine/native';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
function option(name: string, fallback: number): number {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}
const quick = flag('--quick');
/**
 * --cpu-time: time = CPU time of this process (user + system) instead of wall-clock. Robust to
 * other busy processes on a shared machine, but only meaningful single-threaded (use with
 * --threads 1 and LGD_NATIVE_THREADS=1: spinning OpenMP workers count as busy).
 */
const cpuTime = flag('--cpu-time');
const clock = cpuTime
  ? (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }
  : (): number => performance.now();
/** GRU gates: one conv to 3F channels then split (as the torch twin), or three convs (no SplitV/Concat). */
const separateGates = flag('--separate-gates');
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
const PY = process.env.LGD_PYTHON ?? '/usr/bin/python3';
const TWIN = process.env.LGD_TORCH_TWIN ?? '/work/shared/bench/rim_torch.py';
const cfg = {
  batch: option('--batch', 8),
  size: option('--size', 32),
  features: option('--features', 32),
  steps: option('--steps', 8),
  threads: option('--threads', 2),
  iters: option('--iters', quick ? 3 : 5),
};

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  k: number;
  co: number;
  dilation: number;
  /** how many of these a RIM step has */
  perStep: number;
}

const F = cfg.features;
const X: [number, number, number, number] = [cfg.batch, cfg.size, cfg.size, F];
const CASES: ConvCase[] = [
  { name: 'c1 5x5 2->F', x: [cfg.batch, cfg.size, cfg.size, 2], k: 5, co: F, dilation: 1, perStep: 1 },
  { name: 'gru 3x3 F->3F', x: X, k: 3, co: 3 * F, dilation: 1, perStep: 4 },
  { name: 'c2 3x3 d2 F->F', x: X, k: 3, co: F, dilation: 2, perStep: 1 },
  { name: 'out 3x3 F->1', x: X, k: 3, co: 1, dilation: 1, perStep: 1 },
];

/** Busy fraction of all CPUs over `ms` (from /proc/stat; 0 where unavailable). */
function busyFraction(ms: number): number {
  const read = (): [number, number] => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    return [f.reduce((a, b) => a + b, 0), idle];
  };
  try {
    const [t0, i0] = read();
    const end = Date.now() + ms;
    while (Date.now() < end) {
      /* spin-free wait */ Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    const [t1, i1] = read();
    return t1 > t0 ? 1 - (i1 - i0) / (t1 - t0) : 0;
  } catch {
    return 0;
  }
}

/**
 * --wait-quiet: waits (up to 10 min) until the machine is idle (< 10% busy over 2 s), since
 * multi-threaded kernels are badly hit by any other busy process on a 2-core machine.
 */
function waitQuiet(what: string): void {
  if (!flag('--wait-quiet')) return;
  const deadline = Date.now() + 600_000;
  let busy = busyFraction(2000);
  if (busy < 0.1) return;
  process.stdout.write(`(waiting for an idle machine before ${what}: ${(100 * busy).toFixed(0)}% busy`);
  while (busy >= 0.1 && Date.now() < deadline) busy = busyFraction(2000);
  console.log(busy < 0.1 ? ', now idle)' : ', gave up: timings are contended)');
}

function flopsOf(c: ConvCase): number {
  const [b, h, w, ci] = c.x;
  return 2 * b * h * w * c.k * c.k * ci * c.co;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** ms per call of `f` (median); the wasm/native kernels are synchronous, results are disposed. */
function time(f: () => tf.Tensor | tf.Tensor[], reps: number): number {
  for (let i = 0; i < 2; i++) tf.dispose(f());
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = clock();
    const r = f();
    t.push(clock() - t0);
    tf.dispose(r);
  }
  return median(t);
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

type Times = { fwd: number; dx: number; dW: number };

function benchConvs(c: ConvCase, reps: number): Times {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x) as tf.Tensor4D;
    const w = tf.randomNormal([c.k, c.k, c.x[3], c.co]) as tf.Tensor4D;
    const y = tf.conv2d(x, w, 1, 'same', 'NHWC', c.dilation);
    const dy = tf.randomNormal(y.shape);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: c.dilation };
    return {
      fwd: time(() => tf.conv2d(x, w, 1, 'same', 'NHWC', c.dilation), reps),
      dx: time(() => runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }), reps),
      dW: time(() => runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }), reps),
    };
  });
}

const TORCH_CONVS = `
import json, sys, time, torch
cases, threads, reps = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
clock = time.process_time if sys.argv[4] == "cpu" else time.perf_counter
torch.set_num_threads(threads)
def t(f):
    for _ in range(3): f()
    v = []
    for _ in range(reps):
        t0 = clock(); f(); v.append((clock() - t0) * 1000)
    v.sort(); return v[len(v) // 2]
out = []
with torch.no_grad():
    for c in cases:
        b, h, w, ci = c["x"]; k, co, d = c["k"], c["co"], c["dilation"]; p = d * (k - 1) // 2
        x = torch.randn(b, ci, h, w); wt = torch.randn(co, ci, k, k); dy = torch.randn(b, co, h, w)
        cb = lambda m: torch.ops.aten.convolution_backward(dy, x, wt, None, [1, 1], [p, p], [d, d], False, [0, 0], 1, m)
        out.append({"fwd": t(lambda: torch.nn.functional.conv2d(x, wt, None, 1, p, d)),
                    "dx": t(lambda: cb([True, False, False])), "dW": t(lambda: cb([False, True, False]))})
print(json.dumps(out))
`;

function torchConvs(reps: number): Times[] | undefined {
  try {
    const out = execFileSync(PY, ['-c', TORCH_CONVS, JSON.stringify(CASES), String(cfg.threads), String(reps), cpuTime ? 'cpu' : 'wall'], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop() as string) as Times[];
  } catch (err) {
    console.log(`(torch conv timings unavailable: ${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

/** The twin's network and step, timed by CPU time (for --cpu-time; the twin itself reports wall-clock). */
const TORCH_TWIN_CPU = `
import json, os, sys, time, torch
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import rim_torch
b, s, f, T, threads, iters = map(int, sys.argv[2:8])
torch.set_num_threads(threads); torch.manual_seed(0)
net = rim_torch.RIMBench(f); opt = torch.optim.Adam(net.parameters(), 1e-4)
sigma = 25 / 255; x_true = torch.rand(b, 1, s, s); y = x_true + sigma * torch.randn_like(x_true)
def step():
    opt.zero_grad(); xs = net(y, sigma, T)
    loss = sum(((x - x_true) ** 2).mean() for x in xs) / len(xs); loss.backward(); opt.step()
for _ in range(2): step()
t0 = time.process_time()
for _ in range(iters): step()
train = (time.process_time() - t0) / iters * 1000
with torch.no_grad():
    net(y, sigma, T); t0 = time.process_time()
    for _ in range(iters): net(y, sigma, T)
    fwd = (time.process_time() - t0) / iters * 1000
print(json.dumps({"framework": "torch " + torch.__version__ + " (CPU time)", "threads": torch.get_num_threads(), "train_step_ms": train, "forward_ms": fwd}))
`;

function torchTwin(): Record<string, unknown> | undefined {
  if (!fs.existsSync(TWIN)) {
    console.log(`(torch twin ${TWIN} not found)`);
    return undefined;
  }
  const args = cpuTime
    ? ['-c', TORCH_TWIN_CPU, TWIN, cfg.batch, cfg.size, cfg.features, cfg.steps, cfg.threads, cfg.iters]
    : [TWIN, '--batch', cfg.batch, '--size', cfg.size, '--features', cfg.features, '--steps', cfg.steps, '--threads', cfg.threads, '--iters', cfg.iters];
  try {
    const out = execFileSync(PY, args.map(String), { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
  } catch (err) {
    console.log(`(torch twin failed: ${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// RIM-bench in tfjs (same network as rim_torch.py, NHWC)

interface Conv {
  w: tf.Variable;
  b: tf.Variable;
  dilation: number;
}

function makeConv(k: number, ci: number, co: number, dilation = 1): Conv {
  const bound = 1 / Math.sqrt(ci * k * k); // torch's default init range
  return {
    w: tf.variable(tf.randomUniform([k, k, ci, co], -bound, bound)),
    b: tf.variable(tf.randomUniform([co], -bound, bound)),
    dilation,
  };
}

function conv(c: Conv, x: tf.Tensor4D, fused: boolean): tf.Tensor4D {
  if (fused && c.dilation === 1) return tf.fused.conv2d({ x, filter: c.w as tf.Tensor4D, strides: 1, pad: 'same', bias: c.b });
  return tf.add(tf.conv2d(x, c.w as tf.Tensor4D, 1, 'same', 'NHWC', c.dilation), c.b);
}

class RimBench {
  readonly c1: Conv;
  readonly g1: [Conv, Conv];
  readonly c2: Conv;
  readonly g2: [Conv, Conv];
  readonly out: Conv;

  constructor(readonly f: number, readonly fused: boolean) {
    this.c1 = makeConv(5, 2, f);
    this.g1 = [makeConv(3, f, 3 * f), makeConv(3, f, 3 * f)];
    this.c2 = makeConv(3, f, f, 2);
    this.g2 = [makeConv(3, f, 3 * f), makeConv(3, f, 3 * f)];
    this.out = makeConv(3, f, 1);
  }

  variables(): tf.Variable[] {
    return [this.c1, ...this.g1, this.c2, ...this.g2, this.out].flatMap((c) => [c.w, c.b]);
  }

  gru([ih, hh]: [Conv, Conv], x: tf.Tensor4D, h: tf.Tensor4D): tf.Tensor4D {
    const [xr, xz, xn] = separateGates ? this.gates(ih, x) : tf.split(conv(ih, x, this.fused), 3, 3);
    const [hr, hz, hn] = separateGates ? this.gates(hh, h) : tf.split(conv(hh, h, this.fused), 3, 3);
    const r = tf.sigmoid(tf.add(xr, hr));
    const z = tf.sigmoid(tf.add(xz, hz));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor4D;
  }

  /** The three gate pre-activations as three convs (same weights, sliced; no SplitV of a 3F tensor). */
  gates(c: Conv, x: tf.Tensor4D): tf.Tensor4D[] {
    const f = this.f;
    return [0, 1, 2].map((i) => {
      const w = tf.slice(c.w, [0, 0, 0, i * f], [-1, -1, -1, f]) as tf.Tensor4D;
      const b = tf.slice(c.b, [i * f], [f]);
      return this.fused ? tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias: b }) : tf.add(tf.conv2d(x, w, 1, 'same'), b);
    });
  }

  /** Mean over the T steps of MSE(x_t, xTrue). */
  loss(y: tf.Tensor4D, xTrue: tf.Tensor4D, sigma: number, steps: number): tf.Scalar {
    const [b, h, w] = y.shape;
    let x = y;
    let s1 = tf.zeros([b, h, w, this.f]) as tf.Tensor4D;
    let s2 = tf.zeros([b, h, w, this.f]) as tf.Tensor4D;
    const losses: tf.Scalar[] = [];
    for (let t = 0; t < steps; t++) {
      const g = tf.div(tf.sub(y, x), sigma * sigma);
      let u = tf.relu(conv(this.c1, tf.concat([x, g], 3) as tf.Tensor4D, this.fused));
      s1 = this.gru(this.g1, u, s1);
      u = tf.relu(conv(this.c2, s1, this.fused));
      s2 = this.gru(this.g2, u, s2);
      x = tf.add(x, conv(this.out, s2, this.fused));
      losses.push(tf.mean(tf.square(tf.sub(x, xTrue))));
    }
    return tf.div(tf.addN(losses), steps) as tf.Scalar;
  }
}

interface StepResult {
  train_step_ms: number;
  forward_ms: number;
  loss: number;
}

function benchStep(fused: boolean): StepResult & { net: RimBench; run: () => number } {
  const net = new RimBench(cfg.features, fused);
  const sigma = 25 / 255;
  const xTrue = tf.randomUniform([cfg.batch, cfg.size, cfg.size, 1]) as tf.Tensor4D;
  const y = tf.add(xTrue, tf.mul(sigma, tf.randomNormal(xTrue.shape))) as tf.Tensor4D;
  const opt = tf.train.adam(1e-4);
  const vars = net.variables();
  const run = (): number => {
    const loss = opt.minimize(() => net.loss(y, xTrue, sigma, cfg.steps), true, vars) as tf.Scalar;
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  };
  for (let i = 0; i < 2; i++) run();
  let t0 = clock();
  let loss = 0;
  for (let i = 0; i < cfg.iters; i++) loss = run();
  const trainMs = (clock() - t0) / cfg.iters;
  tf.tidy(() => net.loss(y, xTrue, sigma, cfg.steps).dataSync());
  t0 = clock();
  for (let i = 0; i < cfg.iters; i++) tf.tidy(() => net.loss(y, xTrue, sigma, cfg.steps).dataSync());
  const fwdMs = (clock() - t0) / cfg.iters;
  return { train_step_ms: trainMs, forward_ms: fwdMs, loss, net, run };
}

async function profileStep(run: () => number): Promise<void> {
  const info = await tf.profile(() => {
    run();
  });
  const byName = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = Number(await (k.kernelTimeMs as number | Promise<number>));
    total += ms;
    const e = byName.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    byName.set(k.name, e);
  }
  const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log(`\nprofile of one native training step (tf.profile, sum of kernel times ${total.toFixed(1)} ms, ${info.kernels.length} kernel calls):`);
  for (const [name, e] of rows.slice(0, 25)) {
    console.log(`  ${name.padEnd(24)} ${e.ms.toFixed(1).padStart(8)} ms  ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${String(e.n).padStart(5)} calls`);
  }
}

function benchConvSection(info: ReturnType<typeof nativeInfo>, reps: number, report: Record<string, unknown>): void {
  waitQuiet('the conv timings');
  const wasm = CASES.map((c) => benchConvs(c, reps));
  let native: Times[] | undefined;
  if (info.available) {
    registerNativeKernels({ quiet: true });
    waitQuiet('the native conv timings');
    native = CASES.map((c) => benchConvs(c, reps));
    unregisterNativeKernels();
    if (flag('--impl')) {
      console.log('\noneDNN implementations chosen (autotune timings of the first call):');
      for (const c of CASES) {
        for (const kind of ['F', 'D', 'W'] as const) {
          const impl = nativeImplInfo(kind, c.x, [c.k, c.k, c.x[3], c.co], { strides: 1, pad: 'same', dilations: c.dilation });
          console.log(`  ${c.name.padEnd(16)} ${kind}  ${impl}`);
        }
      }
    }
  }
  if (!flag('--no-torch')) waitQuiet('the torch conv timings');
  const torch = flag('--no-torch') ? undefined : torchConvs(reps);
  const cols: Array<[string, Times[] | undefined]> = [['wasm', wasm], ['native', native], ['torch', torch]];
  console.log(`\nconvolutions, x [${cfg.batch},${cfg.size},${cfg.size},ci], 'same', ${cpuTime ? 'CPU ' : ''}ms (GFLOP/s), median of ${reps}:`);
  console.log(`  ${'case'.padEnd(16)} ${'op'.padEnd(4)} ${cols.filter(([, t]) => t).map(([n]) => n.padStart(17)).join('')}`);
  const perStep: Record<string, number> = {};
  CASES.forEach((c, i) => {
    for (const op of ['fwd', 'dx', 'dW'] as const) {
      const cells = cols
        .filter(([, t]) => t)
        .map(([n, t]) => {
          const ms = (t as Times[])[i][op];
          perStep[n] = (perStep[n] ?? 0) + ms * c.perStep * cfg.steps;
          return `${ms.toFixed(2)} (${(flopsOf(c) / ms / 1e6).toFixed(1)})`.padStart(17);
        });
      console.log(`  ${c.name.padEnd(16)} ${op.padEnd(4)} ${cells.join('')}`);
    }
  });
  console.log(`  conv time of one training step (sum over ${cfg.steps} steps x 7 convs x fwd+dx+dW): ` + Object.entries(perStep).map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`).join(', '));
  report.convs = CASES.map((c, i) => ({ ...c, gflop: flopsOf(c) / 1e9, wasm: wasm[i], native: native?.[i], torch: torch?.[i] }));
  report.convMsPerTrainStep = perStep;

}

async function main(): Promise<void> {
  await initEngine({ backend: 'wasm', quiet: true });
  const info = nativeInfo();
  console.log(`tfjs ${tf.version.tfjs} wasm (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, wasm threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')})`);
  console.log(info.available ? `native: oneDNN ${info.onednn}, ${info.runtime}, ${info.threads} threads, ${info.isa}` : `native: unavailable (${info.reason})`);
  const reps = quick ? 5 : 15;
  const report: Record<string, unknown> = { config: cfg, native: info };

  if (!flag('--no-convs')) benchConvSection(info, reps, report);

  // --- full training step
  if (!flag('--no-step')) {
    console.log(`\nRIM-bench training step (batch ${cfg.batch}, ${cfg.size}x${cfg.size}, ${cfg.features} features, ${cfg.steps} steps, Adam), mean of ${cfg.iters}:`);
    const steps: Record<string, unknown> = {};
    const show = (name: string, r: { train_step_ms: number; forward_ms: number; loss?: number }): void => {
      console.log(`  ${name.padEnd(22)} train ${r.train_step_ms.toFixed(1).padStart(8)} ms   forward ${r.forward_ms.toFixed(1).padStart(7)} ms`);
      steps[name] = { train_step_ms: r.train_step_ms, forward_ms: r.forward_ms };
    };
    const modes: Array<[string, boolean, boolean]> = [
      ['tfjs wasm', false, false],
      ['tfjs wasm+native', true, false],
      ['tfjs wasm+native fused', true, true],
    ];
    let profiled: (() => number) | undefined;
    for (const [name, useNative, fused] of modes) {
      if (useNative && !info.available) continue;
      if (!useNative && flag('--no-wasm-step')) continue;
      if (useNative) registerNativeKernels({ quiet: true });
      waitQuiet(name);
      const r = benchStep(fused);
      show(name, r);
      if (useNative && !fused && flag('--profile')) profiled = r.run;
      if (profiled && useNative && !fused) await profileStep(profiled);
      tf.dispose(r.net.variables());
      if (useNative) unregisterNativeKernels();
    }
    if (!flag('--no-torch')) {
      waitQuiet('the torch twin');
      const t = torchTwin();
      if (t) show(`${t.framework} x${t.threads}`, t as unknown as StepResult);
    }
    report.steps = steps;
  }
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(report, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
