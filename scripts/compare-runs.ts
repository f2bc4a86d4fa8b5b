/**
 * Compares training runs by their logs: one figure (training loss and validation PSNR against
 * wall time or step) and a summary on stdout, including each run's validation PSNR and running-mean
 * training loss at the wall time (or step) the shortest run reached, for an equal-budget comparison.
 *
 *   npx tsx scripts/compare-runs.ts --runs rim_gray_bench,rim_gray_strided [--names 'bench F=32,strided'] \
 *       [--x wall|step] [--out results/figures/NAME] [--title TEXT] [--window 200]
 *
 * A run is a run folder's name under results/runs/ or a path to a run folder (its log.jsonl).
 */
import * as fs from 'fs';
import * as path from 'path';
import { resultsDir } from '../lib/io/paths';
import { LogEntry, readLogJsonl, runningMean } from '../lib/training/log';
import { closeBrowser, hasChromium, saveFigure } from '../lib/report/figures';
import { runComparison, runX } from '../lib/report/training_curve';
import { parseCommandLine } from './cli';

const USAGE = "usage: npx tsx scripts/compare-runs.ts --runs A,B[,...] [--names 'a,b'] [--x wall|step] [--out results/figures/NAME] [--title TEXT] [--window N]";

/** The log of a run given by name (results/runs/<name>) or folder. */
function runLog(run: string): { entries: LogEntry[]; validationKey?: string } {
  const dir = fs.existsSync(path.join(run, 'log.jsonl')) ? run : path.join(resultsDir(), 'runs', run);
  const file = path.join(dir, 'log.jsonl');
  if (!fs.existsSync(file)) throw new Error(`compare-runs: no log.jsonl for run "${run}" (looked in ${path.resolve(dir)})`);
  // The validation degrades its crops with seeds fixed by validation.seed, else the run's seed
  // (lib/training/validation.ts): validation PSNRs compare across runs only for the same seed,
  // task, noise and validation images (crop size, set, held-apart images).
  const configFile = path.join(dir, 'config.json');
  let validationKey: string | undefined;
  if (fs.existsSync(configFile)) {
    const c = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    const v = (c.validation ?? {}) as Record<string, unknown>;
    const d = (c.data ?? {}) as Record<string, unknown>;
    validationKey = JSON.stringify([v.seed ?? c.seed, c.task, c.noise, v.crop, v.dataset ?? [d.dataset, d.holdOut], v.limit]);
  }
  return { entries: readLogJsonl(file), validationKey };
}

/** The last validation PSNR at or before `limit` (wall hours or step), or undefined. */
function valAt(entries: readonly LogEntry[], limit: number, x: 'wall' | 'step'): LogEntry | undefined {
  let out: LogEntry | undefined;
  for (const e of entries) {
    if (runX(e, x) > limit + 1e-9) break;
    if (e.valPsnr !== undefined) out = e;
  }
  return out;
}

async function main(): Promise<void> {
  const cli = parseCommandLine({
    command: 'compare-runs',
    usage: USAGE,
    options: { runs: { type: 'string' }, names: { type: 'string' }, x: { type: 'string' }, out: { type: 'string' }, title: { type: 'string' }, window: { type: 'string' } },
  });
  const args = cli.values;
  if (!args.runs) cli.fail('--runs is required');
  const runs = (args.runs as string).split(',').map((s) => s.trim()).filter(Boolean);
  const names = args.names ? (args.names as string).split(',').map((s) => s.trim()) : runs.map((r) => path.basename(r));
  if (names.length !== runs.length) cli.fail(`--names gives ${names.length} names for ${runs.length} runs`);
  const x = (args.x ?? 'wall') as string;
  if (x !== 'wall' && x !== 'step') cli.fail(`--x must be 'wall' or 'step', got ${JSON.stringify(x)}`);
  const window = cli.integer('window', { min: 1 }) ?? 200;
  const read = runs.map(runLog);
  const logs = read.map((r) => r.entries);
  const keys = new Set(read.map((r) => r.validationKey ?? '?'));
  if (keys.size > 1) console.log('note: the runs differ in seed, task, noise or validation set, so their validation crops are degraded differently: compare their validation PSNRs with care (scripts/validate.ts scores any model on one run\'s crops)');
  const common = Math.min(...logs.map((l) => runX(l[l.length - 1], x as 'wall' | 'step')));
  const unit = x === 'wall' ? 'h' : 'steps';
  const at = `${common.toFixed(x === 'wall' ? 2 : 0)} ${unit}`;
  console.log(`run | steps | wall time (h) | s/step | last val PSNR | best val PSNR (step) | val PSNR at ${at} (step) | loss at ${at} (mean of ${window} steps)`);
  logs.forEach((l, i) => {
    const last = l[l.length - 1];
    const val = l.filter((e) => e.valPsnr !== undefined);
    const best = val.reduce<LogEntry | undefined>((b, e) => (b === undefined || e.valPsnr! > b.valPsnr! ? e : b), undefined);
    const valThen = valAt(l, common, x as 'wall' | 'step');
    const upToThen = l.filter((e) => runX(e, x as 'wall' | 'step') <= common + 1e-9);
    const lossThen = runningMean(upToThen.map((e) => e.loss), window).at(-1);
    const f = (e?: LogEntry): string => (e ? `${e.valPsnr!.toFixed(3)} (${e.step})` : '–');
    console.log(`${names[i]} | ${last.step} | ${(last.wallTime / 3600).toFixed(2)} | ${(last.wallTime / last.step).toFixed(3)} | ${val.length ? val[val.length - 1].valPsnr!.toFixed(3) : '–'} | ${f(best)} | ${f(valThen)} | ${lossThen === undefined ? '–' : lossThen.toExponential(3)}`);
  });
  if (args.out) {
    const out = path.resolve(args.out as string);
    const fig = runComparison(names.map((name, i) => ({ name, entries: logs[i] })), x as 'wall' | 'step', window, args.title as string | undefined);
    const written = await saveFigure(fig, path.basename(out), { dir: path.dirname(out), formats: hasChromium() ? ['html', 'png'] : ['html'] });
    await closeBrowser();
    console.log(`figure: ${Object.values(written).join(', ')}`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
