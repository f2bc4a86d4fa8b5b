/**
 * Exports a training checkpoint as a model folder (weights, config, the log up to that step,
 * train.json, the training curve (PNG when Chromium is installed), SHA256SUMS), e.g. an earlier step of a run kept for an equal-steps comparison.
 *
 *   npx tsx scripts/export-checkpoint.ts --checkpoint results/runs/rim_gray/checkpoints/step-004000 \
 *       --name rim_gray_step4000 [--out results/models/<name>] [--train-config results/runs/rim_gray/config.json]
 *       [--command 'the command that trained it' (recorded in train.json; default this export command)]
 *       [--average-from STEP (the mean of the weights of every kept checkpoint of the run from STEP up to
 *        this one: stochastic weight averaging, e.g. over a constant-rate phase; train.json lists them)]
 */
import * as path from 'path';
import { initEngine } from '../lib/engine';
import { modelsDir } from '../lib/io/paths';
import { exportCheckpoint } from '../lib/training/export';
import { saveTrainingCurve } from '../lib/report/training_curve';
import { parseCommandLine } from './cli';

const USAGE = 'usage: npx tsx scripts/export-checkpoint.ts --checkpoint DIR --name NAME [--out DIR] [--train-config FILE] [--command TEXT] [--average-from STEP]';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const cli = parseCommandLine({
    command: 'export-checkpoint',
    usage: USAGE,
    argv,
    options: {
      checkpoint: { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string' },
      'train-config': { type: 'string' },
      command: { type: 'string' },
      'average-from': { type: 'string' },
    },
  });
  const args = cli.values;
  if (!args.checkpoint || !args.name) cli.fail('--checkpoint and --name are required');
  const checkpoint = args.checkpoint as string;
  const name = args.name as string;
  await initEngine({ quiet: true });
  const out = path.resolve(args.out ?? path.join(modelsDir(), name));
  const command = args.command ?? ['npx tsx scripts/export-checkpoint.ts', ...argv].join(' ');
  const from = args['average-from'];
  if (from !== undefined && !/^\d+$/.test(from)) cli.fail(`--average-from must be a step (a whole number), got '${from}'`);
  await exportCheckpoint(path.resolve(checkpoint), out, {
    name,
    command,
    trainConfigFile: args['train-config'],
    drawCurve: saveTrainingCurve,
    averageFrom: from === undefined ? undefined : Number(from),
  });
  console.log(`exported ${checkpoint} to ${out}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
