/**
 * Speed of one RIM-bench training step (forward through T steps, backward, Adam) on this
 * machine's default engine, the same measurement as the PyTorch twin `shared/bench/rim_torch.py`.
 *
 *   npx tsx scripts/bench-rim.ts [--batch 8] [--size 32] [--features 32] [--steps 8] [--iters 5] [--torch] [--native]
 *
 * Prints one JSON line: engine, shapes, train_step_ms (median and min of --iters after 2 warm-up
 * steps), forward_ms, params; with --torch also runs the twin (Debian python3-torch) right after,
 * for a side-by-side number taken under the same machine load. --native additionally registers the
 * optional oneDNN convolution kernels of `lib/engine/native` (when that module and its addon exist).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { createProblem } from '../lib/solvers/classical';
import { Rim } from '../lib/solvers/learned';
import { blindNoise, trainStep } from '../lib/training';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function main(): Promise<void> {
  const info = await initEngine({ quiet: true });
  let engine = `tfjs ${info.tfjsVersion} ${info.backend}`;
  if (process.argv.includes('--native')) {
    // Optional module (built separately): loaded by path so this script runs without it.
    const native = require(path.resolve(__dirname, '..', 'lib', 'engine', 'native')) as { registerNativeKernels(o?: { quiet?: boolean }): boolean };
    engine += native.registerNativeKernels({ quiet: true }) ? ' + native oneDNN convs' : ' (native kernels unavailable)';
  }
  const [batch, size, features, steps, iters] = [arg('batch', 8), arg('size', 32), arg('features', 32), arg('steps', 8), arg('iters', 5)];
  // The twin's network: plain gradient (ε = 0), x0 = y, zero states.
  const rim = new Rim({ features, steps, epsilon: { learn: false, init: 0 } });
  const optimizer = tf.train.adam(1e-4);
  const clean = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 0) as tf.Tensor4D;
  const noisy = blindNoise(clean, 25, 25, 1);
  const problem = createProblem({ likelihood: noisy.likelihood, y: noisy.y });
  const step = () => trainStep(rim, optimizer, clean, noisy.y, problem, { lr: 1e-4, clipNorm: 0 });
  for (let i = 0; i < 2; i++) step();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const fwd: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    const xs = rim.run(noisy.y, problem);
    xs[xs.length - 1].dataSync();
    tf.dispose(xs);
    fwd.push(performance.now() - t0);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  console.log(
    JSON.stringify({
      framework: engine,
      batch,
      size,
      steps,
      features,
      train_step_ms: Math.round(median(times)),
      train_step_ms_min: Math.round(Math.min(...times)),
      forward_ms: Math.round(median(fwd)),
      params: rim.paramCount(),
    }),
  );
  if (process.argv.includes('--torch')) {
    const script = path.resolve(__dirname, '..', '..', 'shared', 'bench', 'rim_torch.py');
    const r = spawnSync('/usr/bin/python3', [script, '--batch', String(batch), '--size', String(size), '--steps', String(steps), '--features', String(features), '--iters', String(iters)], { encoding: 'utf8' });
    process.stdout.write(r.status === 0 ? r.stdout : `torch twin failed: ${r.stderr.split('\n').slice(-3).join(' ')}\n`);
  }
  tf.dispose([clean, noisy.y]);
  optimizer.dispose();
  rim.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
