/**
 * Rewrites the "How the models were trained" section of result tables from the model folders it
 * lists (`results/models/<name>/train.json` and `training_log.json`), keeping every measured row
 * and line around it: what the notebooks would write there on their next run, without re-running
 * their evaluations (e.g. after the section gained a column, or a model's record was re-exported).
 *
 *   npx tsx scripts/refresh-training-tables.ts [results/tables/denoising.md ...] [--check]
 *
 * Default: every `results/tables/*.md` with such a section. `--check` writes nothing and exits 1
 * when a section differs from what the folders say.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initEngine } from '../lib/engine';
import { loadOrTrainModel, replaceTrainingSummary, trainingSummaryMarkdown, trainingSummaryModelNames, TrainedModel } from '../lib/experiments';
import { tablesDir } from '../lib/report/tables';
import { writeFileAtomic } from '../lib/util/atomic';
import { parseCommandLine } from './cli';

const USAGE = 'usage: npx tsx scripts/refresh-training-tables.ts [TABLE.md ...] [--check]';

async function main(): Promise<void> {
  const cli = parseCommandLine({ command: 'refresh-training-tables', usage: USAGE, argv: process.argv.slice(2), options: { check: { type: 'boolean' } }, positionals: true });
  await initEngine({ quiet: true });
  const files = cli.positionals.length ? cli.positionals : fs.readdirSync(tablesDir()).filter((n) => n.endsWith('.md')).map((n) => path.join(tablesDir(), n));
  let differs = 0;
  for (const file of files) {
    if (!fs.existsSync(file)) cli.fail(`no table ${file}`);
    const md = fs.readFileSync(file, 'utf8');
    const names = trainingSummaryModelNames(md);
    if (names.length === 0) {
      if (cli.positionals.length) cli.fail(`${file} has no "How the models were trained" section`);
      continue;
    }
    const models: TrainedModel[] = [];
    try {
      for (const name of names) models.push(await loadOrTrainModel(name));
      const next = replaceTrainingSummary(md, trainingSummaryMarkdown(models));
      if (next === md) console.log(`${file}: up to date (${names.length} models)`);
      else if (cli.values.check) {
        differs++;
        console.log(`${file}: its training section differs from the model folders (run without --check to rewrite it)`);
      } else {
        writeFileAtomic(file, next);
        console.log(`${file}: training section rewritten (${names.length} models)`);
      }
    } finally {
      models.forEach((m) => m.solver.dispose());
    }
  }
  if (differs) process.exit(1);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
