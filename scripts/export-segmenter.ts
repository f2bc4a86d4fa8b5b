/**
 * Exports a segmenter training checkpoint as a model folder (e.g. a run still under way, so that
 * notebooks and tests can use it; its train.json says the step and that it is a checkpoint):
 *
 *   npx tsx scripts/export-segmenter.ts --run results/runs/seg_phi [--checkpoint DIR] [--out results/models/seg_phi]
 *
 * The checkpoint defaults to the run's newest (latest.json); the log up to its step comes along.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { resultsDir } from '../lib/io/paths';
import { loadSegmenter, saveSegmenter } from '../lib/segmentation';
import { sha256 } from '../lib/util/checksums';
import { parseCommandLine } from './cli';

const USAGE = 'usage: npx tsx scripts/export-segmenter.ts --run DIR [--checkpoint DIR] [--out DIR]';

async function main(): Promise<void> {
  const cli = parseCommandLine({ command: 'export-segmenter', usage: USAGE, options: { run: { type: 'string' }, checkpoint: { type: 'string' }, out: { type: 'string' } } });
  const run = cli.values.run;
  if (!run) cli.fail('--run is required');
  const runDir = path.resolve(run as string);
  const configFile = path.join(runDir, 'config.json');
  if (!fs.existsSync(configFile)) cli.fail(`${runDir} is not a segmenter run folder (no config.json)`);
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { name: string };
  let checkpoint = cli.values.checkpoint ? path.resolve(cli.values.checkpoint) : undefined;
  if (!checkpoint) {
    const latest = path.join(runDir, 'latest.json');
    if (!fs.existsSync(latest)) cli.fail(`${runDir} has no latest.json: give --checkpoint`);
    const { dir } = JSON.parse(fs.readFileSync(latest, 'utf8')) as { dir: string };
    checkpoint = path.isAbsolute(dir) ? dir : path.join(runDir, dir);
  }
  const state = JSON.parse(fs.readFileSync(path.join(checkpoint, 'state.json'), 'utf8')) as { step: number; wallTime: number; engine: string };
  await initEngine({ quiet: true });
  const segmenter = await loadSegmenter(checkpoint); // checks the checkpoint's SHA256SUMS
  const out = path.resolve(cli.values.out ?? path.join(resultsDir(), 'models', config.name));
  const logFile = path.join(runDir, 'log.jsonl');
  const log = fs.existsSync(logFile)
    ? fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { step: number; valMiou?: number })
        .filter((e) => e.step <= state.step)
    : [];
  const lastVal = [...log].reverse().find((e) => e.valMiou !== undefined);
  const weights = segmenter.getWeights();
  const bytes = new Uint8Array((await tf.io.encodeWeights(weights)).data);
  tf.dispose(weights.map((w) => w.tensor));
  const info = {
    name: config.name,
    kind: segmenter.kind,
    paramCount: segmenter.paramCount(),
    steps: state.step,
    checkpoint: path.relative(process.cwd(), checkpoint),
    note: 'exported from a training checkpoint (the run may go on)',
    wallTimeSeconds: state.wallTime,
    secondsPerStep: state.wallTime / Math.max(1, state.step),
    engine: state.engine,
    command: ['npx tsx scripts/export-segmenter.ts', ...process.argv.slice(2)].join(' '),
    classes: segmenter.classes,
    validation: lastVal ? { step: lastVal.step, miou: lastVal.valMiou } : null,
    weightsSha256: sha256(bytes),
    trainConfig: config,
  };
  await saveSegmenter(segmenter, out, { 'train.json': JSON.stringify(info, null, 2) + '\n', 'log.jsonl': log.map((e) => JSON.stringify(e) + '\n').join('') });
  segmenter.dispose();
  console.log(`exported ${checkpoint} (step ${state.step}) to ${out}`);
}

main().catch((err) => {
  console.error(`export-segmenter: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
