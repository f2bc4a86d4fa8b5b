/**
 * RIM-bench with the library's own network and training step: the configuration of the PyTorch
 * twin `shared/bench/rim_torch.py` (gray denoising, batch B of S×S images, F features, T steps,
 * plain gradient g = (y − x)/σ², i.e. ε fixed at 0; Adam), as `new Rim(...)` + `trainStep`.
 */
import { tf } from '../../lib/engine/tf';
import { createProblem } from '../../lib/solvers/classical';
import { Rim } from '../../lib/solvers/learned';
import { blindNoise, trainStep } from '../../lib/training';
import { mean, median } from './common';

/** Shapes of a RIM-bench run (the twin's command-line options). */
export interface RimBenchConfig {
  batch: number;
  size: number;
  features: number;
  steps: number;
}

/** The RIM-bench shapes: batch 8, 32×32, F = 32, T = 8. */
export const RIM_BENCH: RimBenchConfig = { batch: 8, size: 32, features: 32, steps: 8 };

/** A ready RIM-bench: one training step, one gradient-free forward, and cleanup. */
export interface RimBench {
  rim: Rim;
  /** One Adam step (forward through T steps, backward, update); returns the loss. */
  step(): number;
  /** The forward pass through all T steps without a gradient tape; the last iterate is read back. */
  forward(): void;
  dispose(): void;
}

/** Builds the library's RIM-bench network, a fixed seeded batch (σ = 25/255) and its optimizer. */
export function makeRimBench(cfg: RimBenchConfig): RimBench {
  const rim = new Rim({ features: cfg.features, steps: cfg.steps, epsilon: { learn: false, init: 0 } });
  const optimizer = tf.train.adam(1e-4);
  const clean = tf.randomUniform([cfg.batch, cfg.size, cfg.size, 1], 0, 1, 'float32', 0) as tf.Tensor4D;
  const noisy = blindNoise(clean, 25, 25, 1);
  const problem = createProblem({ likelihood: noisy.likelihood, y: noisy.y });
  return {
    rim,
    step: () => trainStep(rim, optimizer, [{ clean, y: noisy.y, likelihood: noisy.likelihood, describe: 'bench' }], { lr: 1e-4, clipNorm: 0 }).loss,
    forward(): void {
      const xs = rim.run(noisy.y, problem);
      xs[xs.length - 1].dataSync();
      tf.dispose(xs);
    },
    dispose(): void {
      tf.dispose([clean, noisy.y]);
      optimizer.dispose();
      rim.dispose();
    },
  };
}

/** Timings of a RIM-bench run, ms. */
export interface RimTimes {
  train_step_ms: number;
  train_step_ms_min: number;
  train_step_ms_mean: number;
  forward_ms: number;
  forward_ms_min: number;
  forward_ms_mean: number;
  loss: number;
}

/**
 * Times `iters` training steps after `warmup` ones, then `iters` forwards after `warmup` ones
 * (median, min and mean of each), with `clock` (wall-clock by default).
 */
export function timeRimBench(bench: RimBench, opts: { iters: number; warmup: number; clock?: () => number }): RimTimes {
  const clock = opts.clock ?? ((): number => performance.now());
  const timeIt = (f: () => unknown): number[] => {
    for (let i = 0; i < opts.warmup; i++) f();
    const t: number[] = [];
    for (let i = 0; i < opts.iters; i++) {
      const t0 = clock();
      f();
      t.push(clock() - t0);
    }
    return t;
  };
  let loss = NaN;
  const train = timeIt(() => (loss = bench.step()));
  const fwd = timeIt(() => bench.forward());
  return {
    train_step_ms: median(train),
    train_step_ms_min: Math.min(...train),
    train_step_ms_mean: mean(train),
    forward_ms: median(fwd),
    forward_ms_min: Math.min(...fwd),
    forward_ms_mean: mean(fwd),
    loss,
  };
}
