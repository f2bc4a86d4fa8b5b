/**
 * `npm run bench`: the project's benchmark. RIM-bench (the library's `Rim` + `trainStep`, the
 * configuration of the PyTorch twin `shared/bench/rim_torch.py`) and each convolution shape it
 * uses, one JSON line per case on stdout, also written to `results/bench/`.
 *
 *   npm run bench                      # rim-bench + conv shapes, engine as initEngine() chooses
 *   npm run bench -- --torch           # + the PyTorch twin (same run, right after) and the ratio
 *   npm run bench -- --compare-wasm    # + rim-bench on the wasm kernels only (as LGD_NATIVE=0)
 *   npm run bench -- --models rim_sr,seg_phi   # the training step of these configs only (default: every
 *                                      # configs/*.json at its real size; --no-models skips them)
 *
 * Options: --iters N (5) and --warmup N (2): median of N timed iterations after the warm-up;
 * --batch 8 --size 32 --features 32 --steps 8 (the RIM-bench shapes); --threads N (the twin's
 * torch threads, default all cores, as the native convs use); --conv-reps N (15); --no-convs;
 * --wait-quiet (wait for an idle machine, < 10% busy, before each timed part; at most
 * --wait-quiet-max seconds, default 120, each); --cpu-time (CPU
 * time instead of wall-clock, for single-thread comparisons on a busy machine: use with
 * LGD_NATIVE_THREADS=1 --threads 1); --out DIR (default results/bench); --no-write.
 *
 * Lines (all with case, backend, native, threads, batch, size, features, steps, train_step_ms,
 * forward_ms, params):
 *   {case: 'rim-bench', backend: 'wasm', native: true, ...}   one training step (forward through
 *       T steps, backward, Adam) and the gradient-free forward of all T steps, same batch;
 *   {case: 'rim-bench', backend: 'torch', ...}                the twin (--torch);
 *   {case: 'ratio', train_step_ratio, forward_ratio, target: 3.0, pass}   tfjs / torch (--torch);
 *   {case: 'conv <name>', fwd_ms, dx_ms, dW_ms, ...}          per conv shape, for each engine
 *       (train_step_ms = fwd + dx + dW of one call, forward_ms = fwd, params of that layer).
 * Files: results/bench/<ISO time>-<host>.jsonl, results/bench/latest.jsonl, results/bench/latest.md.
 * Timings are only meaningful on an otherwise idle machine (the native convs use every core):
 * each line records the 1-minute load average.
 */
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { engineLabel, nativeInfo, registerNativeKernels, unregisterNativeKernels } from '../lib/engine/native';
import { writeFileAtomic } from '../lib/io/files';
import { projectPath } from '../lib/io/paths';
import { cli, cpuLine, machineLoad, makeClock, round1, waitQuiet } from './bench/common';
import { ConvCase, convFlops, convParams, ConvTimes, rimConvCases, rimGateConvCase, timeConv } from './bench/convs';
import { makeRimBench, RimBenchConfig, timeRimBench } from './bench/rim';
import { findTorchPython, runNetTwin, runTwin, torchConvTimes } from './bench/torch';
import { FULL_IMAGE_CASES, timeFullImage } from './bench/full_image';
import { configFiles, timeConfigStep } from './bench/models';
import { runSetup } from './setup';

/** The speed target of the issue: tfjs at most this many times the twin's time. */
const TARGET_RATIO = 3.0;

const args = cli(
  'bench',
  `usage: npm run bench -- [--torch] [--compare-wasm] [--no-convs] [--no-full-image] [--no-models | --models a,b] [--iters N] [--warmup N] [--batch N] [--size N]
         [--features N] [--steps N] [--threads N] [--conv-reps N] [--wait-quiet [--wait-quiet-max S]] [--cpu-time]
         [--out DIR | --no-write]   (see the head of scripts/bench.ts)`,
  {
    flags: ['--torch', '--compare-wasm', '--no-convs', '--no-full-image', '--no-models', '--wait-quiet', '--cpu-time', '--no-write'],
    numbers: ['--iters', '--warmup', '--batch', '--size', '--features', '--steps', '--threads', '--conv-reps', '--wait-quiet-max'],
    strings: ['--out', '--models'],
  },
);
const cfg: RimBenchConfig = {
  batch: args.num('--batch', 8),
  size: args.num('--size', 32),
  features: args.num('--features', 32),
  steps: args.num('--steps', 8),
};
const iters = args.num('--iters', 5);
const warmup = args.num('--warmup', 2);
const convReps = args.num('--conv-reps', 15);
const torchThreads = args.num('--threads', os.availableParallelism());
const cpuTime = args.flag('--cpu-time');
const clock = makeClock(cpuTime);
const statistic = `median of ${iters} after ${warmup} warm-up${cpuTime ? ', CPU time' : ''}`;

type Line = Record<string, unknown>;
const lines: Line[] = [];
function emit(line: Line): void {
  const full = { ...line, load1: machineLoad().load1, at: new Date().toISOString() };
  lines.push(full);
  console.log(JSON.stringify(full));
}

function quiet(what: string): void {
  if (args.flag('--wait-quiet')) waitQuiet(what, 1000 * args.num('--wait-quiet-max', 120));
}

interface Engine {
  backend: string;
  native: boolean;
  threads: number;
  engine: string;
}

function engineNow(backend: string, native: boolean): Engine {
  const n = nativeInfo();
  const on = native && n.available;
  return {
    backend,
    native: on,
    // The native convs use n.threads; every other wasm kernel runs on the JS thread.
    threads: on ? (n.threads as number) : 1,
    engine: `tfjs ${tf.version.tfjs} ${engineLabel(backend, on)}`,
  };
}

function rimLine(e: Engine): Line {
  quiet(`rim-bench (${e.engine})`);
  const bench = makeRimBench(cfg);
  try {
    const t = timeRimBench(bench, { iters, warmup, clock });
    return {
      case: 'rim-bench',
      ...e,
      ...cfg,
      train_step_ms: round1(t.train_step_ms),
      forward_ms: round1(t.forward_ms),
      params: bench.rim.paramCount(),
      train_step_ms_min: round1(t.train_step_ms_min),
      forward_ms_min: round1(t.forward_ms_min),
      wasm_threads: 1,
      statistic,
    };
  } finally {
    bench.dispose();
  }
}

function convLine(c: ConvCase, t: ConvTimes, e: Omit<Engine, 'engine'> & { engine: string }, reps: number): Line {
  const gflops = (ms: number): number => Math.round(convFlops(c) / ms / 1e5) / 10;
  return {
    case: `conv ${c.name}`,
    ...e,
    ...cfg,
    train_step_ms: Math.round((t.fwd + t.dx + t.dW) * 1000) / 1000,
    forward_ms: Math.round(t.fwd * 1000) / 1000,
    params: convParams(c),
    fwd_ms: Math.round(t.fwd * 1000) / 1000,
    dx_ms: Math.round(t.dx * 1000) / 1000,
    dW_ms: Math.round(t.dW * 1000) / 1000,
    gflops: { fwd: gflops(t.fwd), dx: gflops(t.dx), dW: gflops(t.dW) },
    x: c.x,
    kernel: c.k,
    out_channels: c.co,
    dilation: c.dilation,
    per_cell_step: c.perStep,
    ...(c.perStep === 4 ? { note: 'the twin runs this 3F conv; the library runs it as 3 gru-gate convs of F (same FLOPs)' } : {}),
    statistic: `median of ${reps} after 2 warm-up${cpuTime ? ', CPU time' : ''}`,
  };
}

function markdown(host: string): string {
  const rows = lines.filter((l) => l.case === 'rim-bench');
  const ratio = lines.find((l) => l.case === 'ratio');
  const convs = lines.filter((l) => String(l.case).startsWith('conv '));
  const out = [
    `# Benchmark (\`npm run bench\`)`,
    '',
    `${new Date().toISOString()} on ${host} (${cpuLine()}; load average ${machineLoad().load1}); ` +
      `RIM-bench: batch ${cfg.batch}, ${cfg.size}x${cfg.size}, ${cfg.features} features, ${cfg.steps} steps, Adam; ${statistic}.`,
    '',
    '| case | engine | threads | training step (ms) | forward, T steps (ms) | params |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map((l) => `| ${l.case} | ${l.engine ?? l.backend} | ${l.threads} | ${l.train_step_ms} | ${l.forward_ms} | ${l.params} |`),
  ];
  if (ratio) {
    out.push('', `tfjs / torch: training step **${ratio.train_step_ratio}x**, forward **${ratio.forward_ratio}x** (target ≤ ${TARGET_RATIO}x: ${ratio.pass ? 'pass' : 'FAIL'}).`);
  }
  const full = lines.filter((l) => String(l.case).startsWith('full image'));
  if (full.length) {
    out.push('', 'Full-size inference (one image, T forward steps, output read back; the wasm heap never shrinks, so its size after a case is the peak of the run so far):', '', '| case | engine | threads | forward (ms) | wasm heap before → after (MB) |', '|---|---|---:|---:|---:|');
    for (const l of full) out.push(`| ${String(l.case).slice(11)} | ${l.engine ?? l.backend} | ${l.threads} | ${l.forward_ms} | ${l.heap_mb_before ?? '–'} → ${l.heap_mb_peak ?? '–'} |`);
  }
  const models = lines.filter((l) => String(l.case).startsWith('model '));
  if (models.length) {
    out.push('', 'The training step of every model configuration at its real size (one batch as training draws it; `configs/<name>.json`); with `--torch`, φ, φ\' and the SPADE generator also by their PyTorch twins (`scripts/bench/twins_torch.py`, the same net and step) and the ratio tfjs / torch:', '', '| config | model | task | engine | parameters | batch | training step (ms) | tfjs / torch |', '|---|---|---|---|---:|---|---:|---:|');
    for (const l of models) out.push(`| ${l.config} | ${l.kind} | ${l.task} | ${l.engine ?? l.backend} | ${l.params} | ${l.batch} × ${l.patch} | ${l.train_step_ms} | ${l.ratio ?? ''} |`);
  }
  if (convs.length) {
    out.push('', 'Convolutions, x = [B, S, S, c_in], \'same\', ms per call (median):', '', '| conv | engine | threads | fwd | dx | dW | per cell step |', '|---|---|---:|---:|---:|---:|---:|');
    for (const l of convs) out.push(`| ${String(l.case).slice(5)} | ${l.engine ?? l.backend} | ${l.threads} | ${l.fwd_ms} | ${l.dx_ms} | ${l.dW_ms} | ${l.per_cell_step} |`);
  }
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  await runSetup({ only: args.flag('--torch') ? ['native', 'torch'] : ['native'], log: (line) => process.stderr.write(line + '\n') }); // build the native convolutions when missing (stdout stays JSON lines)
  const info = await initEngine({ quiet: true });
  const main = engineNow(info.backend, info.native);
  process.stderr.write(`bench: ${main.engine}; ${cpuLine()}; load average ${machineLoad().load1}\n`);

  // Torch is looked up first, so that the twin runs right after the tfjs step (same machine load).
  let python: string | undefined;
  if (args.flag('--torch')) {
    const found = findTorchPython();
    python = found.python;
    if (python) process.stderr.write(`bench: torch ${found.version} (${python}), ${torchThreads} threads\n`);
    else process.stderr.write(`bench: --torch, but no python with torch (${found.tried.join('; ')}): torch lines skipped\n`);
  }

  const ours = rimLine(main);
  emit(ours);
  if (python) {
    quiet('the torch twin');
    try {
      const t = runTwin(python, cfg, { threads: torchThreads, iters, warmup, cpuTime });
      emit({
        case: 'rim-bench',
        backend: 'torch',
        native: false,
        threads: t.threads,
        ...cfg,
        train_step_ms: round1(t.train_step_ms),
        forward_ms: round1(t.forward_ms),
        params: t.params,
        train_step_ms_min: t.train_step_ms_min !== undefined ? round1(t.train_step_ms_min) : undefined,
        forward_ms_min: t.forward_ms_min !== undefined ? round1(t.forward_ms_min) : undefined,
        engine: t.framework,
        statistic: t.statistic,
      });
      const train = (ours.train_step_ms as number) / t.train_step_ms;
      const fwd = (ours.forward_ms as number) / t.forward_ms;
      emit({
        case: 'ratio',
        of: `rim-bench ${main.engine} / ${t.framework} (${t.threads} threads)`,
        ...cfg,
        train_step_ratio: Math.round(train * 100) / 100,
        forward_ratio: Math.round(fwd * 100) / 100,
        target: TARGET_RATIO,
        pass: train <= TARGET_RATIO && fwd <= TARGET_RATIO,
        params_equal: t.params === ours.params,
      });
    } catch (err) {
      process.stderr.write(`bench: torch twin failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}\n`);
    }
  }

  if (!args.flag('--no-convs')) {
    // The twin's four shapes, then the F-wide gate conv the library runs instead of the 3F one.
    const cases = [...rimConvCases(cfg), rimGateConvCase(cfg)];
    quiet('the conv timings');
    for (const c of cases) emit(convLine(c, timeConv(c, convReps, 2, clock), main, convReps));
    if (python) {
      quiet('the torch conv timings');
      try {
        const t = torchConvTimes(python, cases, { threads: torchThreads, reps: convReps, warmup: 2, cpuTime });
        const version = lines.find((l) => l.backend === 'torch')?.engine ?? 'torch';
        cases.forEach((c, i) => emit(convLine(c, t[i], { backend: 'torch', native: false, threads: torchThreads, engine: `${version} (NCHW)` }, convReps)));
      } catch (err) {
        process.stderr.write(`bench: torch conv timings failed: ${(err as Error).message.split('\n')[0]}\n`);
      }
    }
  }

  if (!args.flag('--no-full-image')) {
    // Full-size inference (T forward steps on one image): denoising 481×321, SR x4 with the state at 480×320.
    for (const c of FULL_IMAGE_CASES) {
      quiet(`full image ${c.name}`);
      const t = timeFullImage(c, { features: cfg.features, steps: cfg.steps, iters: 3, warmup: 1, clock });
      emit({ case: `full image ${c.name}`, ...main, batch: 1, height: c.height, width: c.width, features: cfg.features, steps: cfg.steps, forward_ms: round1(t.forward_ms), params: t.params, heap_mb_before: t.heap_mb_before && round1(t.heap_mb_before), heap_mb_peak: t.heap_mb_peak && round1(t.heap_mb_peak), statistic: `median of 3 after 1 warm-up${cpuTime ? ', CPU time' : ''}` });
    }
    if (python) {
      // The twin takes square images: 392×392 has the pixels of 480×320 (153 664 vs 153 600).
      quiet('the torch twin at full size');
      try {
        const t = runTwin(python, { batch: 1, size: 392, features: cfg.features, steps: cfg.steps }, { threads: torchThreads, iters: 3, warmup: 1, cpuTime });
        emit({ case: 'full image twin 392x392', backend: 'torch', native: false, threads: t.threads, batch: 1, height: 392, width: 392, features: cfg.features, steps: cfg.steps, forward_ms: round1(t.forward_ms), train_step_ms: round1(t.train_step_ms), params: t.params, engine: t.framework, note: 'square: the pixel count of 480x320 (denoising network, no SR operator)' });
      } catch (err) {
        process.stderr.write(`bench: torch twin at full size failed: ${(err as Error).message.split('\n')[0]}\n`);
      }
    }
  }

  if (!args.flag('--no-models')) {
    const only = args.str('--models')?.split(',').map((m) => m.trim()).filter(Boolean);
    for (const file of configFiles(only)) {
      const name = path.basename(file, '.json');
      quiet(`the training step of ${name}`);
      try {
        const { twin, ...t } = await timeConfigStep(file, { iters: Math.min(iters, 3), warmup: 1, clock });
        emit({ case: `model ${name}`, ...main, ...t, train_step_ms: round1(t.train_step_ms), statistic: `${t.statistic}${cpuTime ? ', CPU time' : ''}` });
        if (python && twin) {
          // φ, φ' and the SPADE generator have PyTorch twins (scripts/bench/twins_torch.py): the same step, right after.
          quiet(`the torch twin of ${name}`);
          try {
            const r = runNetTwin(python, twin, { threads: torchThreads, iters: Math.min(iters, 3), warmup: 1, cpuTime });
            emit({ case: `model ${name}`, backend: 'torch', native: false, threads: r.threads, engine: r.framework, config: name, kind: t.kind, task: t.task, params: r.params, batch: t.batch, patch: t.patch, train_step_ms: round1(r.train_step_ms), forward_ms: round1(r.forward_ms), params_equal: r.params === t.params, ratio: Math.round((t.train_step_ms / r.train_step_ms) * 100) / 100, statistic: `median of ${Math.min(iters, 3)} after 1 warm-up${cpuTime ? ', CPU time' : ''}` });
          } catch (err) {
            process.stderr.write(`bench: torch twin of ${name} failed: ${(err as Error).message.split('\n')[0]}\n`);
          }
        }
      } catch (err) {
        process.stderr.write(`bench: ${name}: ${(err as Error).message.split('\n')[0]}\n`);
      }
    }
  }

  if (args.flag('--compare-wasm')) {
    if (!main.native) {
      process.stderr.write('bench: --compare-wasm: the native convs are not active, the rim-bench line above is already wasm only\n');
    } else {
      unregisterNativeKernels();
      try {
        emit({ ...rimLine(engineNow(info.backend, false)), note: 'native convs off (as LGD_NATIVE=0)' });
      } finally {
        registerNativeKernels({ quiet: true });
      }
    }
  }

  if (!args.flag('--no-write')) {
    const dir = path.resolve(args.str('--out') ?? projectPath('results', 'bench'));
    const host = os.hostname().replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 40) || 'host';
    const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
    const jsonl = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
    writeFileAtomic(path.join(dir, `${stamp}-${host}.jsonl`), jsonl);
    writeFileAtomic(path.join(dir, 'latest.jsonl'), jsonl);
    writeFileAtomic(path.join(dir, 'latest.md'), markdown(host));
    process.stderr.write(`bench: wrote ${path.relative(process.cwd(), path.join(dir, `${stamp}-${host}.jsonl`))}, latest.jsonl, latest.md\n`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
