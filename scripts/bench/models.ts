/**
 * The training step of every model configuration in `configs/` at its real size: each learned
 * solver (RIM, LGD, learned GN, the CNN and SPADE baselines; every task: denoising, SR, deblurring,
 * Poisson–Gaussian, semantic synthesis through φ) and each segmenter. One batch as training draws
 * it (the config's images, patch and batch sizes, task and degradation), then the median time of
 * `trainStep` / `segmenterTrainStep` — so the README's table covers what the runs actually cost.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../../lib/engine/tf';
import { loadRawImages } from '../../lib/io/datasets';
import { RawImage } from '../../lib/io/image';
import { imagesFittingPatch, PatchSampler } from '../../lib/io/patches';
import { projectPath } from '../../lib/io/paths';
import { augmentedBatch, createSegmenter, loadCamVid, medianFrequencyWeights, NO_AUGMENT, resolveSegTrainConfig, segmenterTrainStep } from '../../lib/segmentation';
import { createLearnedSolver, LearnedSolverConfig } from '../../lib/solvers/learned/factory';
import { resolveTrainConfig } from '../../lib/training/config';
import { trainStep } from '../../lib/training/step';
import { resolveTask } from '../../lib/tasks/registry';
import { disposeGroups } from '../../lib/tasks/types';
import { Rng } from '../../lib/util/rng';
import { median } from './common';
import { NetTwinSpec } from './torch';

/** One configuration's timing. */
export interface ConfigStepTime {
  config: string;
  kind: string;
  task: string;
  params: number;
  batch: number;
  patch: string;
  train_step_ms: number;
  statistic: string;
  /** For φ, φ' and the SPADE generator: what their PyTorch twin (`scripts/bench/twins_torch.py`) times. */
  twin?: NetTwinSpec;
}

/** Whether a config file is a segmenter's (its model is a U-Net or a dilated FCN). */
function isSegmenterConfig(json: { model?: { kind?: string } }): boolean {
  return json.model?.kind === 'unet' || json.model?.kind === 'dilated';
}

/** The config files of `configs/` (every `*.json` but the schema), sorted; `only` filters by name. */
export function configFiles(only?: readonly string[]): string[] {
  const dir = projectPath('configs');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.') && !f.includes('schema')).sort();
  const names = files.map((f) => f.replace(/\.json$/, ''));
  for (const o of only ?? []) if (!names.includes(o)) throw new Error(`bench: no configs/${o}.json (configs: ${names.join(', ')})`);
  return files.filter((f) => !only || only.includes(f.replace(/\.json$/, ''))).map((f) => path.join(dir, f));
}

/**
 * Times the training step of one config: `iters` timed steps after `warmup`, median.
 * @param clock milliseconds (wall or CPU)
 */
export async function timeConfigStep(file: string, options: { iters: number; warmup: number; clock: () => number }): Promise<ConfigStepTime> {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const name = path.basename(file, '.json');
  const times: number[] = [];
  const time = (fn: () => void) => {
    for (let i = 0; i < options.warmup + options.iters; i++) {
      const t0 = options.clock();
      fn();
      if (i >= options.warmup) times.push(options.clock() - t0);
    }
  };
  const statistic = `median of ${options.iters} after ${options.warmup} warm-up`;
  if (isSegmenterConfig(json)) {
    const c = resolveSegTrainConfig(json, file);
    const train = (await Promise.all(c.data.splits.map((s) => loadCamVid(s, { limit: 16 })))).flat();
    const weights = c.loss.balance === 'median-frequency' ? medianFrequencyWeights(train.map((s) => s.labels)) : undefined;
    const seg = createSegmenter(c.model);
    const optimizer = tf.train.adam(c.optimizer.lr);
    const { x, labels } = augmentedBatch(train, new Rng(1), c.data.batchSize, c.data.crop as [number, number], NO_AUGMENT);
    try {
      time(() => segmenterTrainStep(seg, optimizer, x, labels, weights, { lr: c.optimizer.lr, clipNorm: c.optimizer.clipNorm }));
      const [height, width] = c.data.crop;
      const twin: NetTwinSpec = { net: seg.kind, config: { ...seg.config }, batch: c.data.batchSize, height, width, lr: c.optimizer.lr, clip: c.optimizer.clipNorm ?? 0 };
      return { config: name, kind: seg.kind, task: 'segmentation (CamVid)', params: seg.paramCount(), batch: c.data.batchSize, patch: c.data.crop.join('×'), train_step_ms: median(times), statistic, twin };
    } finally {
      tf.dispose([x, labels]);
      optimizer.dispose();
      seg.dispose();
    }
  }
  const c = resolveTrainConfig(json, file);
  const { definition: task, params: taskParams } = resolveTask(c.task, `bench ${name}`);
  const datasets = Array.isArray(c.data.dataset) ? c.data.dataset : [c.data.dataset];
  const loaded: RawImage[] = task.loadImages
    ? await task.loadImages(taskParams, { limit: 8 })
    : (await Promise.all(datasets.map((d) => loadRawImages(d, { channels: c.data.channels, limit: 8 })))).flat();
  const images = c.data.dropSmall ? imagesFittingPatch(loaded, c.data.patchSize) : loaded; // as training does
  const channels = task.modelChannels?.(images[0].channels, taskParams) ?? images[0].channels;
  const solver = createLearnedSolver({ ...c.model, channels, seed: 0 } as LearnedSolverConfig);
  const context = task.prepare ? await task.prepare(taskParams, images) : undefined;
  const optimizer = tf.train.adam(c.optimizer.lr);
  const sampler = new PatchSampler(images, { patchSize: c.data.patchSize, batchSize: c.data.batchSize, seed: 1 });
  const clean = sampler.next();
  const groups = task.degradeBatch(clean, taskParams, 7, context);
  try {
    time(() => trainStep(solver, optimizer, groups, { lr: c.optimizer.lr, clipNorm: c.optimizer.clipNorm }));
    const p = c.data.patchSize;
    const twin: NetTwinSpec | undefined = solver.kind === 'spade' ? { net: 'spade', config: { ...solver.config }, batch: c.data.batchSize, height: p, width: p, lr: c.optimizer.lr, clip: c.optimizer.clipNorm ?? 0 } : undefined;
    return { config: name, kind: solver.kind, task: task.summary?.(taskParams) ?? task.kind, params: solver.paramCount(), batch: c.data.batchSize, patch: `${p}×${p}`, train_step_ms: median(times), statistic, ...(twin ? { twin } : {}) };
  } finally {
    disposeGroups(groups);
    clean.dispose();
    optimizer.dispose();
    solver.dispose();
    task.release?.(context);
  }
}
