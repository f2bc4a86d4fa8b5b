/**
 * Exports a training checkpoint as a model folder (weights, config, the log up to that step,
 * train.json, SHA256SUMS), e.g. an earlier step of a run kept for an equal-steps comparison.
 *
 *   npx tsx scripts/export-checkpoint.ts --checkpoint results/runs/rim_gray/checkpoints/step-004000 \
 *       --name rim_gray_step4000 [--out results/models/<name>] [--train-config results/runs/rim_gray/config.json]
 *       [--command 'the command that trained it' (recorded in train.json; default this export command)]
 */
import * as path from 'path';
import { initEngine } from '../lib/engine';
import { modelsDir } from '../lib/io/paths';
import { exportCheckpoint } from '../lib/training/export';

function usage(message?: string): never {
  if (message) console.error(`export-checkpoint: ${message}`);
  console.error('usage: npx tsx scripts/export-checkpoint.ts --checkpoint DIR --name NAME [--out DIR] [--train-config FILE] [--command TEXT]');
  process.exit(2);
}

async function main(): Promise<void> {
  const args: Record<string, string> = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (!['--checkpoint', '--name', '--out', '--train-config', '--command'].includes(key)) usage(`unknown argument ${key}`);
    const v = argv[++i];
    if (v === undefined || v.startsWith('--')) usage(`${key} needs a value`);
    args[key] = v;
  }
  if (!args['--checkpoint'] || !args['--name']) usage('--checkpoint and --name are required');
  await initEngine({ quiet: true });
  const out = path.resolve(args['--out'] ?? path.join(modelsDir(), args['--name']));
  const command = args['--command'] ?? ['npx tsx scripts/export-checkpoint.ts', ...argv].join(' ');
  await exportCheckpoint(path.resolve(args['--checkpoint']), out, { name: args['--name'], command, trainConfigFile: args['--train-config'] });
  console.log(`exported ${args['--checkpoint']} to ${out}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
