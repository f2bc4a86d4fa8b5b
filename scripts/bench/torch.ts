/**
 * The PyTorch side of the benchmarks: finding a Python with torch, running the twin
 * `shared/bench/rim_torch.py` (its own network and training step, imported from the file), and
 * timing the same convolutions with torch (NCHW, as the twin runs them).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { projectRoot } from '../../lib/io/paths';
import { setting } from '../../lib/settings';
import { ConvCase, ConvTimes } from './convs';
import { RimBenchConfig } from './rim';

/** The twin: `LGD_TORCH_TWIN`, default `../shared/bench/rim_torch.py` next to the project. */
export function twinPath(): string {
  return setting('LGD_TORCH_TWIN') ?? path.resolve(projectRoot(), '..', 'shared', 'bench', 'rim_torch.py');
}

/**
 * The first of `LGD_PYTHON`, `python3`, `/usr/bin/python3` where `import torch` works, with
 * torch's version; undefined (and the reasons) when none does.
 */
export function findTorchPython(): { python?: string; version?: string; tried: string[] } {
  const tried: string[] = [];
  const candidates = [setting('LGD_PYTHON'), 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const py of [...new Set(candidates)]) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python: py, version: r.stdout.trim(), tried };
    tried.push(`${py}: ${r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop()}`);
  }
  return { tried };
}

/**
 * Times the twin's network (`RIMBench` and the training step of its `main()`: zero_grad, forward
 * through T steps, mean-over-steps MSE, backward, Adam step, `loss.item()`) with warm-up and
 * per-iteration times, so the statistic (median) is the same as on the tfjs side; then the
 * `torch.no_grad()` forward, as the twin does.
 */
const TWIN_TIMER = `
import json, os, statistics, sys, time, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[1])))
import rim_torch
b, s, f, T, threads, iters, warmup = map(int, sys.argv[2:9])
clock = time.process_time if sys.argv[9] == "cpu" else time.perf_counter
torch.set_num_threads(threads); torch.manual_seed(0)
net = rim_torch.RIMBench(f); opt = torch.optim.Adam(net.parameters(), 1e-4)
sigma = 25 / 255; x_true = torch.rand(b, 1, s, s); y = x_true + sigma * torch.randn_like(x_true)
def step():
    opt.zero_grad(); xs = net(y, sigma, T)
    loss = sum(((x - x_true) ** 2).mean() for x in xs) / len(xs); loss.backward(); opt.step()
    return loss.item()
def timed(fn):
    for _ in range(warmup): fn()
    v = []
    for _ in range(iters):
        t0 = clock(); fn(); v.append((clock() - t0) * 1000)
    return v
train = timed(step)
with torch.no_grad():
    fwd = timed(lambda: net(y, sigma, T))
med = lambda v: sorted(v)[len(v) // 2]
print(json.dumps({"framework": "torch " + torch.__version__, "threads": torch.get_num_threads(),
    "params": sum(q.numel() for q in net.parameters()),
    "train_step_ms": med(train), "train_step_ms_min": min(train), "train_step_ms_mean": statistics.mean(train),
    "forward_ms": med(fwd), "forward_ms_min": min(fwd), "forward_ms_mean": statistics.mean(fwd)}))
`;

/** What the twin measured (ms). */
export interface TwinResult {
  framework: string;
  threads: number;
  params: number;
  train_step_ms: number;
  train_step_ms_min?: number;
  train_step_ms_mean?: number;
  forward_ms: number;
  forward_ms_min?: number;
  forward_ms_mean?: number;
  /** how the numbers were taken */
  statistic: string;
}

function lastJsonLine(out: string): Record<string, unknown> {
  return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
}

/**
 * Runs the twin with `threads` threads. First through the timer above (medians); if that fails
 * (e.g. the twin file changed its API) the twin script itself (`--iters`, its mean of iters).
 */
export function runTwin(python: string, cfg: RimBenchConfig, o: { threads: number; iters: number; warmup: number; cpuTime?: boolean }): TwinResult {
  const twin = twinPath();
  if (!fs.existsSync(twin)) throw new Error(`torch twin ${twin} not found (LGD_TORCH_TWIN)`);
  const shape = [cfg.batch, cfg.size, cfg.features, cfg.steps];
  try {
    const args = ['-c', TWIN_TIMER, twin, ...shape, o.threads, o.iters, o.warmup, o.cpuTime ? 'cpu' : 'wall'].map(String);
    const r = lastJsonLine(execFileSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    return { ...(r as unknown as TwinResult), statistic: `median of ${o.iters} after ${o.warmup} warm-up${o.cpuTime ? ', CPU time' : ''}` };
  } catch (err) {
    if (o.cpuTime) throw err;
    process.stderr.write(`(twin timer failed, running ${twin} itself: ${(err as Error).message.split('\n')[0]})\n`);
  }
  const args = [twin, '--batch', cfg.batch, '--size', cfg.size, '--features', cfg.features, '--steps', cfg.steps, '--threads', o.threads, '--iters', o.iters].map(String);
  const r = lastJsonLine(execFileSync(python, args, { encoding: 'utf8' }));
  return { ...(r as unknown as TwinResult), statistic: `mean of ${o.iters} after 2 warm-up (twin script)` };
}

const TORCH_CONVS = `
import json, sys, time, torch
cases, threads, reps, warmup = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
clock = time.process_time if sys.argv[5] == "cpu" else time.perf_counter
torch.set_num_threads(threads)
def t(f):
    for _ in range(warmup): f()
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

/**
 * Median ms per call of torch's forward conv and `aten.convolution_backward` (dx only, dW only)
 * for each case, NCHW, `threads` threads.
 */
export function torchConvTimes(python: string, cases: readonly ConvCase[], o: { threads: number; reps: number; warmup: number; cpuTime?: boolean }): ConvTimes[] {
  const out = execFileSync(python, ['-c', TORCH_CONVS, JSON.stringify(cases), String(o.threads), String(o.reps), String(o.warmup), o.cpuTime ? 'cpu' : 'wall'], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string) as ConvTimes[];
}

/** The PyTorch twins of the semantic-synthesis nets (φ, φ', the SPADE generator): `scripts/bench/twins_torch.py`. */
export const NET_TWINS = path.resolve(projectRoot(), 'scripts', 'bench', 'twins_torch.py');

/** What the twin of a config's network is asked to time: the model block and the batch shape of its training step. */
export interface NetTwinSpec {
  net: 'unet' | 'dilated' | 'spade';
  /** The config's model block (the twin reads the architecture fields, ignores the seed). */
  config: Record<string, unknown>;
  batch: number;
  height: number;
  width: number;
  lr: number;
  /** Gradient-norm clipping of the training step (0: none). */
  clip: number;
}

/** What a net twin measured. */
export interface NetTwinResult {
  framework: string;
  threads: number;
  params: number;
  train_step_ms: number;
  forward_ms: number;
}

/**
 * Times the twin's training step (forward, the loss of the project's step, backward, Adam) and its
 * gradient-free forward on a batch of the spec's shape: medians of `iters` after `warmup`.
 * @throws with the command's stderr when the twin fails
 */
export function runNetTwin(python: string, spec: NetTwinSpec, o: { threads: number; iters: number; warmup: number; cpuTime?: boolean }): NetTwinResult {
  const args = [NET_TWINS, 'time', '--net', spec.net, '--config', JSON.stringify(spec.config), '--batch', spec.batch, '--height', spec.height, '--width', spec.width,
    '--threads', o.threads, '--iters', o.iters, '--warmup', o.warmup, '--clock', o.cpuTime ? 'cpu' : 'wall', '--lr', spec.lr, '--clip', spec.clip].map(String);
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${python} ${NET_TWINS} time --net ${spec.net} failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return lastJsonLine(r.stdout) as unknown as NetTwinResult;
}
