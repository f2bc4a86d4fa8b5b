/**
 * Trains a CamVid segmenter from a JSON configuration, with checkpoints and exact resumption.
 *
 *   npx tsx scripts/train-segmenter.ts --config configs/seg_phi.json [--steps N] [--resume | --fresh] [--out DIR]
 *                                      [--export DIR | --no-export] [--evaluate]
 *
 * --config     the configuration (lib/segmentation/config.ts; configs/seg_phi.json, configs/seg_phi_eval.json)
 * --steps N    override the configured steps (with the cosine schedule the rates change: resume needs the same N)
 * --resume     resume from the run folder's newest checkpoint (error if none); without --resume or
 *              --fresh a run folder with a checkpoint is resumed automatically
 * --fresh      delete the run folder's checkpoints first
 * --out DIR    the run folder (default results/runs/<name>)
 * --export DIR where the finished model goes (default results/models/<name>); --no-export: nowhere
 * --evaluate   after training, score the model on CamVid test (mIoU, per-class IoU, pixel accuracy)
 *
 * Ctrl-C (SIGINT) or SIGTERM stops after the current step and writes a checkpoint; a second one exits at once.
 */
import * as fs from 'fs';
import * as path from 'path';
import { resultsDir } from '../lib/io/paths';
import { evaluateSegmenter, loadCamVid, resolveSegTrainConfig, trainSegmenter } from '../lib/segmentation';
import { parseCommandLine } from './cli';
import { runSetup } from './setup';

const USAGE = 'usage: npx tsx scripts/train-segmenter.ts --config configs/seg_<name>.json [--steps N] [--resume | --fresh] [--out DIR] [--export DIR | --no-export] [--evaluate]';

async function main(): Promise<void> {
  const cli = parseCommandLine({
    command: 'train-segmenter',
    usage: USAGE,
    options: {
      config: { type: 'string' },
      steps: { type: 'string' },
      resume: { type: 'boolean' },
      fresh: { type: 'boolean' },
      out: { type: 'string' },
      export: { type: 'string' },
      'no-export': { type: 'boolean' },
      evaluate: { type: 'boolean' },
    },
  });
  await runSetup({ only: ['native'], log: (line) => console.error(line) }); // the native convolutions, built when missing (idempotent)
  const v = cli.values;
  if (!v.config) cli.fail('--config is required');
  if (v.resume && v.fresh) cli.fail('--resume and --fresh exclude each other');
  if (v.export !== undefined && v['no-export']) cli.fail('--export and --no-export exclude each other');
  const steps = cli.integer('steps', { min: 1 });
  const file = path.resolve(v.config as string);
  if (!fs.existsSync(file)) cli.fail(`no such config file: ${file}`);
  let input: Record<string, unknown> = {};
  try {
    input = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    cli.fail(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (steps) input.steps = steps;
  const config = resolveSegTrainConfig(input, file);
  const runDir = v.out ? path.resolve(v.out) : path.join(resultsDir(), 'runs', config.name);
  if (v.fresh) {
    fs.rmSync(path.join(runDir, 'checkpoints'), { recursive: true, force: true });
    fs.rmSync(path.join(runDir, 'latest.json'), { force: true });
  }
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => {
    if (++signals > 1) process.exit(130);
    console.error(`\n${name}: stopping after this step and writing a checkpoint (again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  let lastLine = 0;
  const result = await trainSegmenter(config, {
    runDir,
    resume: v.fresh ? false : v.resume ? true : 'auto',
    exportDir: v['no-export'] ? false : v.export,
    signal: controller.signal,
    command: ['npx tsx scripts/train-segmenter.ts', ...process.argv.slice(2)].join(' '),
    onProgress: (e, total) => {
      if (Date.now() - lastLine < 30_000 && e.step !== total && e.step > 3) return;
      lastLine = Date.now();
      console.log(`${config.name} step ${e.step}/${total}: loss ${e.loss.toFixed(4)}, lr ${e.lr.toExponential(2)}, |g| ${e.gradNorm.toFixed(3)}, ${e.stepTime.toFixed(2)} s/step`);
    },
  });
  const times = result.log.slice(1).map((e) => e.stepTime); // the first step includes kernel set-up
  const median = times.length ? [...times].sort((a, b) => a - b)[times.length >> 1] : NaN;
  console.log(`${result.stopped} at step ${result.step}/${config.steps}; ${result.wallTime.toFixed(1)} s of training; median ${median.toFixed(3)} s/step (after the first) on ${result.engine}`);
  console.log(`run folder: ${result.runDir}${result.exportDir ? `\nmodel: ${result.exportDir}` : ''}`);
  if (v.evaluate) {
    const r = evaluateSegmenter(result.segmenter, await loadCamVid('test'));
    console.log(`test: mIoU ${(100 * r.miou).toFixed(2)}, pixel accuracy ${(100 * r.pixelAccuracy).toFixed(2)}`);
    console.log(Object.entries(r.perClass).map(([k, x]) => `${k} ${(100 * x).toFixed(1)}`).join(', '));
  }
  result.segmenter.dispose();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
