/**
 * Native (oneDNN) convolution kernels vs the wasm ones (XNNPACK + lib/engine/kernels) vs PyTorch,
 * on the RIM-bench shapes, and the library's RIM-bench training step with and without them.
 * (`npm run bench` is the project's benchmark; this script is the side-by-side engine comparison.)
 *
 *   npx tsx scripts/bench-native.ts              # convs + full step + torch (needs a python with torch)
 *   npx tsx scripts/bench-native.ts --quick      # fewer repetitions
 *   npx tsx scripts/bench-native.ts --no-torch --no-step --profile --json out.json
 *   npx tsx scripts/bench-native.ts --wait-quiet   # wait for an idle machine before each timing
 *   LGD_NATIVE_THREADS=1 npx tsx scripts/bench-native.ts --cpu-time --threads 1   # single-thread CPU time
 *
 * Options: --no-convs (full step only), --no-step, --no-torch, --no-wasm-step, --impl (oneDNN
 * implementation chosen per conv), --profile (time per kernel name of one native step),
 * --json FILE, --batch/--size/--features/--steps/--threads/--iters N. Env: LGD_NATIVE_THREADS,
 * LGD_NATIVE_AUTOTUNE=0 (lib/engine/native.ts), LGD_PYTHON, LGD_TORCH_TWIN.
 *
 * Conv table: ms per call (median) and GFLOP/s (2·N·oH·oW·kh·kw·ci·co per call) of the forward
 * conv, Conv2DBackpropInput (dx) and Conv2DBackpropFilter (dW), for
 *   wasm    the wasm backend's kernels (XNNPACK Conv2D, this repo's dx / dW built on it);
 *   native  lib/engine/native.ts (oneDNN through zero-copy views on the wasm heap);
 *   torch   torch.nn.functional.conv2d / aten.convolution_backward, NCHW.
 *
 * Full step: the library's RIM-bench (`Rim` + `trainStep`, scripts/bench/rim.ts), the network of
 * shared/bench/rim_torch.py, one Adam step on a [B, S, S, 1] batch, T recurrent steps, F features.
 */
import * as fs from 'fs';
import { tf } from '../lib/engine/tf';
import { initEngine } from '../lib/engine';
import { nativeImplInfo, nativeInfo, registerNativeKernels, unregisterNativeKernels } from '../lib/engine/native';
import { cli, makeClock, waitQuiet } from './bench/common';
import { convFlops, ConvTimes, rimConvCases, timeConv } from './bench/convs';
import { makeRimBench, RimBench, RimBenchConfig, timeRimBench } from './bench/rim';
import { findTorchPython, runTwin, torchConvTimes } from './bench/torch';

const args = cli(
  'bench-native',
  `usage: npx tsx scripts/bench-native.ts [--quick] [--no-convs] [--no-step] [--no-torch] [--no-wasm-step] [--impl] [--profile]
         [--json FILE] [--batch N] [--size N] [--features N] [--steps N] [--threads N] [--iters N] [--wait-quiet] [--cpu-time]`,
  {
    flags: ['--quick', '--cpu-time', '--wait-quiet', '--impl', '--no-torch', '--no-convs', '--no-step', '--no-wasm-step', '--profile'],
    numbers: ['--batch', '--size', '--features', '--steps', '--threads', '--iters'],
    strings: ['--json'],
  },
);
const flag = args.flag;
const quick = flag('--quick');
/**
 * --cpu-time: time = CPU time of this process (user + system) instead of wall-clock. Robust to
 * other busy processes on a shared machine, but only meaningful single-threaded (use with
 * --threads 1 and LGD_NATIVE_THREADS=1: spinning OpenMP workers count as busy).
 */
const cpuTime = flag('--cpu-time');
const clock = makeClock(cpuTime);
const jsonOut = args.str('--json');
const cfg: RimBenchConfig & { threads: number; iters: number } = {
  batch: args.num('--batch', 8),
  size: args.num('--size', 32),
  features: args.num('--features', 32),
  steps: args.num('--steps', 8),
  threads: args.num('--threads', 2),
  iters: args.num('--iters', quick ? 3 : 5),
};
const CASES = rimConvCases(cfg);

function quiet(what: string): void {
  if (flag('--wait-quiet')) waitQuiet(what);
}

let python: string | undefined | null = null;
/** The python with torch (looked up once), or undefined with a note. */
function torchPython(): string | undefined {
  if (python === null) {
    const found = findTorchPython();
    python = found.python;
    if (!python) console.log(`(torch unavailable: ${found.tried.join('; ')})`);
  }
  return python;
}

async function profileStep(bench: RimBench): Promise<void> {
  const info = await tf.profile(() => {
    bench.step();
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
  console.log(`\nprofile of one native training step (tf.profile, sum of kernel times ${total.toFixed(1)} ms, ${info.kernels.length} kernel calls; custom-gradient scopes also count their inner kernels):`);
  for (const [name, e] of rows.slice(0, 25)) {
    console.log(`  ${name.padEnd(24)} ${e.ms.toFixed(1).padStart(8)} ms  ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${String(e.n).padStart(5)} calls`);
  }
}

function benchConvSection(info: ReturnType<typeof nativeInfo>, reps: number, report: Record<string, unknown>): void {
  const wasOn = info.available && tf.getKernel('Conv2D', 'wasm') !== undefined;
  unregisterNativeKernels();
  quiet('the conv timings');
  const wasm = CASES.map((c) => timeConv(c, reps, 2, clock));
  let native: ConvTimes[] | undefined;
  if (info.available) {
    registerNativeKernels({ quiet: true });
    quiet('the native conv timings');
    native = CASES.map((c) => timeConv(c, reps, 2, clock));
    if (flag('--impl')) {
      console.log('\noneDNN implementations chosen (autotune timings of the first call):');
      for (const c of CASES) {
        for (const kind of ['F', 'D', 'W'] as const) {
          const impl = nativeImplInfo(kind, c.x, [c.k, c.k, c.x[3], c.co], { strides: 1, pad: 'same', dilations: c.dilation });
          console.log(`  ${c.name.padEnd(16)} ${kind}  ${impl}`);
        }
      }
    }
    if (!wasOn) unregisterNativeKernels();
  }
  let torch: ConvTimes[] | undefined;
  const py = flag('--no-torch') ? undefined : torchPython();
  if (py) {
    quiet('the torch conv timings');
    try {
      torch = torchConvTimes(py, CASES, { threads: cfg.threads, reps, warmup: 3, cpuTime });
    } catch (err) {
      console.log(`(torch conv timings unavailable: ${(err as Error).message.split('\n')[0]})`);
    }
  }
  const cols: Array<[string, ConvTimes[] | undefined]> = [['wasm', wasm], ['native', native], ['torch', torch]];
  console.log(`\nconvolutions, x [${cfg.batch},${cfg.size},${cfg.size},ci], 'same', ${cpuTime ? 'CPU ' : ''}ms (GFLOP/s), median of ${reps}:`);
  console.log(`  ${'case'.padEnd(16)} ${'op'.padEnd(4)} ${cols.filter(([, t]) => t).map(([n]) => n.padStart(17)).join('')}`);
  const perStep: Record<string, number> = {};
  CASES.forEach((c, i) => {
    for (const op of ['fwd', 'dx', 'dW'] as const) {
      const cells = cols
        .filter(([, t]) => t)
        .map(([n, t]) => {
          const ms = (t as ConvTimes[])[i][op];
          perStep[n] = (perStep[n] ?? 0) + ms * c.perStep * cfg.steps;
          return `${ms.toFixed(2)} (${(convFlops(c) / ms / 1e6).toFixed(1)})`.padStart(17);
        });
      console.log(`  ${c.name.padEnd(16)} ${op.padEnd(4)} ${cells.join('')}`);
    }
  });
  console.log(`  conv time of one training step (sum over ${cfg.steps} steps x 7 convs x fwd+dx+dW): ` + Object.entries(perStep).map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`).join(', '));
  report.convs = CASES.map((c, i) => ({ ...c, gflop: convFlops(c) / 1e9, wasm: wasm[i], native: native?.[i], torch: torch?.[i] }));
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

  // --- full training step (the library's RIM-bench)
  if (!flag('--no-step')) {
    console.log(`\nRIM-bench training step (batch ${cfg.batch}, ${cfg.size}x${cfg.size}, ${cfg.features} features, ${cfg.steps} steps, Adam), ${cpuTime ? 'CPU time, ' : ''}median of ${cfg.iters}:`);
    const steps: Record<string, unknown> = {};
    const show = (name: string, r: { train_step_ms: number; forward_ms: number }): void => {
      console.log(`  ${name.padEnd(26)} train ${r.train_step_ms.toFixed(1).padStart(8)} ms   forward ${r.forward_ms.toFixed(1).padStart(7)} ms`);
      steps[name] = { train_step_ms: r.train_step_ms, forward_ms: r.forward_ms };
    };
    for (const useNative of [false, true]) {
      if (useNative && !info.available) continue;
      if (!useNative && flag('--no-wasm-step')) continue;
      if (useNative) registerNativeKernels({ quiet: true });
      else unregisterNativeKernels();
      const name = useNative ? 'tfjs wasm+native' : 'tfjs wasm';
      quiet(name);
      const bench = makeRimBench(cfg);
      try {
        show(name, timeRimBench(bench, { iters: cfg.iters, warmup: 2, clock }));
        if (useNative && flag('--profile')) await profileStep(bench);
      } finally {
        bench.dispose();
      }
    }
    const py = flag('--no-torch') ? undefined : torchPython();
    if (py) {
      quiet('the torch twin');
      try {
        const t = runTwin(py, cfg, { threads: cfg.threads, iters: cfg.iters, warmup: 2, cpuTime });
        show(`${t.framework} x${t.threads}`, t);
      } catch (err) {
        console.log(`(torch twin failed: ${(err as Error).message.split('\n')[0]})`);
      }
    }
    report.steps = steps;
  }
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(report, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
