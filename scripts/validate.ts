/**
 * Scores models on a training run's validation crops, degraded exactly as that run validates (its
 * task, its seed). Each run degrades its crops with its own seed, so two runs' logged validation
 * PSNRs only compare when their seeds agree; this puts any model on any run's crops.
 *
 *   npx tsx scripts/validate.ts --config configs/rim_gray48_t16.json --models rim_gray48,results/runs/rim_gray48_t16/best [--steps T] [--json]
 *
 * --config: a training configuration (configs/<name>.json, or a run folder's config.json) with a
 * `validation` section; --models: names under results/models/ or model folders (a path with a '/');
 * --steps: run each solver T steps instead of its own T. One line per model; with --json one JSON
 * line each `{"model","config","steps","psnr","crops","crop","seed"}`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initEngine } from '../lib/engine';
import { loadModelArg } from '../lib/experiments/learned';
import { TrainConfigInput } from '../lib/training/config';
import { validateOnRun } from '../lib/training/train';
import { parseCommandLine } from './cli';

const USAGE = 'usage: npx tsx scripts/validate.ts --config FILE --models A[,B,...] [--steps T] [--json]';

async function main(): Promise<void> {
  const cli = parseCommandLine({
    command: 'validate',
    usage: USAGE,
    options: { config: { type: 'string' }, models: { type: 'string' }, steps: { type: 'string' }, json: { type: 'boolean' } },
  });
  const v = cli.values;
  if (!v.config) cli.fail('--config is required (a training configuration with a validation section)');
  if (!v.models) cli.fail('--models is required (model names or folders, comma-separated)');
  const steps = cli.integer('steps', { min: 1 });
  const file = path.resolve(v.config as string);
  if (!fs.existsSync(file)) cli.fail(`--config ${v.config}: no such file`);
  let config: TrainConfigInput;
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainConfigInput;
  } catch (err) {
    cli.fail(`--config ${v.config}: not JSON (${(err as Error).message})`);
  }
  await initEngine({ quiet: true });
  for (const name of (v.models as string).split(',').map((s) => s.trim()).filter(Boolean)) {
    const model = await loadModelArg(name);
    try {
      const r = await validateOnRun(config!, model.solver, { steps });
      console.log(`${name}: ${r.psnr.toFixed(3)} dB on ${r.count} validation crops of ${r.crop}x${r.crop} of ${config!.name} (seed ${r.seed}), T = ${r.steps}`);
      if (v.json) console.log(JSON.stringify({ model: name, config: path.relative(process.cwd(), file), steps: r.steps, psnr: r.psnr, crops: r.count, crop: r.crop, seed: r.seed }));
    } finally {
      model.solver.dispose();
    }
  }
}

main().catch((err: Error) => {
  console.error(`validate: ${err.message}`);
  process.exit(1);
});
