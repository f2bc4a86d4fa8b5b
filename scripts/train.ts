/**
 * Trains a learned solver from a JSON configuration, with checkpoints and exact resumption.
 *
 *   npx tsx scripts/train.ts --config configs/rim_gray.json [--steps N [--new-horizon]] [--resume | --fresh] [--out DIR]
 *                            [--export DIR | --no-export] [--no-figures]
 *
 * --config      the training configuration (see lib/training/config.ts and configs/)
 * --steps N     override the configured number of steps (e.g. a short test run, or to extend a run;
 *               with the cosine schedule this changes the learning rates, so resume needs the same N
 *               unless --new-horizon is given)
 * --new-horizon resume a cosine-schedule run towards the new --steps N (the learning rates change from
 *               the resumed step on; recorded as `horizons` in the checkpoint and train.json)
 * --resume      resume from the run folder's newest checkpoint (error if none). Without --resume or
 *               --fresh, a run folder with a checkpoint is resumed automatically.
 * --fresh       delete the run folder's checkpoints first and start again
 * --out DIR     the run folder (default results/runs/<name>)
 * --export DIR  where the final model goes (default results/models/<name>); --no-export: nowhere
 *
 * Ctrl-C (SIGINT) or SIGTERM stops after the current step and writes a checkpoint; a second one
 * exits at once. Progress: a bar in place on a terminal, a line every 30 s in a log file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { resultsDir } from '../lib/io/paths';
import { ProgressBar } from '../lib/report/progress';
import { saveTrainingCurve } from '../lib/report/training_curve';
import { parseCommandLine } from './cli';
import { runSetup } from './setup';
import { resolveTrainConfig, TrainConfigInput, trainLearnedSolver } from '../lib/training';

const USAGE = 'usage: npx tsx scripts/train.ts --config configs/<file>.json [--steps N [--new-horizon]] [--resume | --fresh] [--out DIR] [--export DIR | --no-export] [--no-figures]';

function usage(message?: string): never {
  if (message) console.error(`train: ${message}`);
  console.error(USAGE);
  process.exit(2);
}

function parseArgs(argv: string[]) {
  const cli = parseCommandLine({
    command: 'train',
    usage: USAGE,
    argv,
    options: {
      config: { type: 'string' },
      steps: { type: 'string' },
      'new-horizon': { type: 'boolean' },
      resume: { type: 'boolean' },
      fresh: { type: 'boolean' },
      out: { type: 'string' },
      export: { type: 'string' },
      'no-export': { type: 'boolean' },
      'no-figures': { type: 'boolean' },
    },
  });
  const v = cli.values;
  if (!v.config) cli.fail('--config is required');
  if (v.resume && v.fresh) cli.fail('--resume and --fresh exclude each other');
  if (v.export !== undefined && v['no-export']) cli.fail('--export and --no-export exclude each other');
  return {
    config: v.config as string,
    steps: cli.integer('steps', { min: 1 }),
    resume: v.resume,
    fresh: v.fresh,
    newHorizon: v['new-horizon'],
    out: v.out,
    export: v['no-export'] ? (false as const) : v.export,
    figures: !v['no-figures'],
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await runSetup({ only: ['native'], log: (line) => console.error(line) }); // the native convolutions, built when missing (idempotent)
  const file = path.resolve(args.config as string);
  if (!fs.existsSync(file)) usage(`no such config file: ${file}`);
  let input: TrainConfigInput;
  try {
    input = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainConfigInput;
  } catch (err) {
    usage(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (args.steps) input.steps = args.steps;
  const config = resolveTrainConfig(input);
  const runDir = args.out ? path.resolve(args.out) : undefined;
  if (args.fresh) {
    const dir = runDir ?? path.join(resultsDir(), 'runs', config.name);
    fs.rmSync(path.join(dir, 'checkpoints'), { recursive: true, force: true });
    fs.rmSync(path.join(dir, 'latest.json'), { force: true });
  }

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => {
    signals++;
    if (signals > 1) {
      console.error(`\n${name} again: exiting without a checkpoint`);
      process.exit(130);
    }
    console.error(`\n${name}: stopping after this step and writing a checkpoint (again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  let bar: ProgressBar | undefined;
  const command = ['npx tsx scripts/train.ts', ...process.argv.slice(2)].join(' ');
  const result = await trainLearnedSolver(config, {
    runDir,
    resume: args.fresh ? false : args.resume ? true : 'auto',
    exportDir: args.export,
    figures: args.figures,
    drawCurve: saveTrainingCurve, // the report layer draws the curve (HTML, and PNG for the export when Chromium is installed)
    command,
    allowHorizonChange: args.newHorizon,
    signal: controller.signal,
    onProgress: (p) => {
      bar ??= new ProgressBar({ total: p.totalSteps, start: p.step, label: config.name }); // rates count from the first step seen
      bar.update(p.step, { loss: p.loss, lr: p.lr, '|g|': p.gradNorm });
    },
  });
  bar?.done();
  const last = result.log.slice(-Math.min(100, result.log.length));
  const mean = last.length ? last.reduce((a, e) => a + e.loss, 0) / last.length : NaN;
  // The wall time and the rate cover every step of the run, resumed sessions included; say so
  // when some of those steps ran on another engine (or under an older engine label).
  const onThisEngine = result.log.filter((e) => e.engine === result.engine).length;
  const mixed = onThisEngine < result.log.length ? `; ${onThisEngine} of the ${result.log.length} logged steps` : '';
  console.log(
    `${result.stopped} at step ${result.step}/${config.steps}; mean loss of the last ${last.length} steps ${mean.toExponential(4)}; ` +
      `${result.wallTime.toFixed(1)} s of training (${(result.wallTime / Math.max(1, result.step)).toFixed(2)} s/step over ${result.step} steps${mixed}) on ${result.engine}`,
  );
  console.log(`run folder: ${result.runDir}${result.exportDir ? `\nmodel: ${result.exportDir}` : ''}`);
  result.solver.dispose();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
