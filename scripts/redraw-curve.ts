/**
 * Redraws the training curve (`training_curve.png`) of saved model folders from their own logs,
 * e.g. so that a model trained before the figure marked horizon changes gets the marks. Every
 * other file stays as it was; each folder is rewritten atomically with a new SHA256SUMS. Needs
 * Chromium for the PNG.
 *
 *   npx tsx scripts/redraw-curve.ts rim_sr48 results/models/rim_gray ...
 *   npx tsx scripts/redraw-curve.ts --horizons        # every model under results/models/ whose run changed its horizon
 */
import * as fs from 'fs';
import * as path from 'path';
import { modelsDir } from '../lib/io/paths';
import { redrawModelCurve } from '../lib/training/export';
import { initModelDir } from '../lib/training/provenance';
import { saveTrainingCurve } from '../lib/report/training_curve';
import { parseCommandLine } from './cli';

const USAGE = 'usage: npx tsx scripts/redraw-curve.ts (MODEL ... | --horizons)   (MODEL: a name under results/models/ or a model folder)';

/** The model folders whose train.json records more than one cosine horizon. */
function modelsWithHorizonChanges(): string[] {
  const root = modelsDir();
  return fs
    .readdirSync(root)
    .map((n) => path.join(root, n))
    .filter((d) => {
      const f = path.join(d, 'train.json');
      if (!fs.existsSync(f)) return false;
      const h = (JSON.parse(fs.readFileSync(f, 'utf8')) as { horizons?: unknown[] }).horizons;
      return Array.isArray(h) && h.length > 1;
    })
    .sort();
}

async function main(): Promise<void> {
  const cli = parseCommandLine({ command: 'redraw-curve', usage: USAGE, positionals: true, options: { horizons: { type: 'boolean' } } });
  if (cli.values.horizons && cli.positionals.length) cli.fail('give model folders or --horizons, not both');
  const dirs = cli.values.horizons
    ? modelsWithHorizonChanges()
    : cli.positionals.map(initModelDir);
  if (!dirs.length) cli.fail(cli.values.horizons ? `no model under ${modelsDir()} changed its horizon` : 'no model given');
  for (const d of dirs) {
    if (!fs.existsSync(d)) throw new Error(`redraw-curve: no model folder ${d}`);
    const digest = await redrawModelCurve(d, saveTrainingCurve);
    console.log(`${path.relative(process.cwd(), d)}/training_curve.png redrawn (sha256 ${digest.slice(0, 12)}…)`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
