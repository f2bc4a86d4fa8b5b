/**
 * Executes notebooks headless with the project-local tslab kernel.
 *
 *   tsx scripts/run-notebooks.ts [--full|--quick] [--out DIR] [--cwd DIR] [--silence S] [--timeout S]
 *                                [--resume|--restart] [-v|-q] [NOTEBOOK|DIR ...]
 *
 * Default: every notebooks/*.ipynb in name order. A NOTEBOOK may be a path, a file or stem in
 * notebooks/ (`00_quickstart`), or a name prefix (`01` runs every notebooks/01*.ipynb).
 * Quick mode (default) sets LGD_QUICK=1 for the kernel; --full removes it.
 * Executed copies go to results/notebooks/<name>.ipynb (temp file + rename); on a cell error the
 * run stops, the partial copy goes to <name>.failed.ipynb and the exit status is 1.
 *
 * A long cell is not a hung cell: a cell fails when it sends nothing (no output line, no display
 * update) for `--silence` seconds (LGD_SILENCE_TIMEOUT, default 1800), however long it runs;
 * `--timeout` (LGD_CELL_TIMEOUT) optionally caps a cell's total time (default: no cap).
 * Headless progress: each cell's start (index, first line), the notebook's own output lines and an
 * ETA from the previous run's times (results/notebooks/runner-state.json, scripts/notebook-state.ts).
 * A full run that failed or was interrupted resumes: notebooks that finished in it, unchanged, are
 * skipped (`--restart` runs them all again; `--resume` does the same for quick runs).
 * The kernel's cwd is the notebook's folder unless --cwd is given.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { setting } from '../lib/settings';
import { parseCommandLine } from './cli';
import {
  RunMode,
  STATE_FILE,
  closeRun,
  finishedInRun,
  loadState,
  notebookHash,
  previousCells,
  previousSeconds,
  recordFinished,
  saveState,
  startRun,
} from './notebook-state';
import { KERNEL_NAME, NOTEBOOKS_DIR, ROOT, ensureKernel, findPython, jupyterEnv } from './setup';

const HELPER = path.join(__dirname, 'execute_notebook.py');
const DEFAULT_OUT = path.join(ROOT, 'results', 'notebooks');
const DEFAULT_SILENCE = 1800;
let interrupted = false;

const USAGE = `usage: tsx scripts/run-notebooks.ts [--full|--quick] [--out DIR] [--cwd DIR] [--silence S] [--timeout S]
                                    [--resume|--restart] [-v|-q] [NOTEBOOK|DIR ...]
  --full       full-size run (LGD_QUICK unset); default quick (LGD_QUICK=1)
  --out DIR    where executed copies go (default results/notebooks)
  --cwd DIR    kernel working directory (default: each notebook's folder)
  --silence S  fail a cell that sends no output for S seconds (default LGD_SILENCE_TIMEOUT or ${DEFAULT_SILENCE}; 0 = never)
  --timeout S  cap on a cell's total time in seconds (default LGD_CELL_TIMEOUT or none; 0 = none)
  --resume     skip the notebooks that already finished in the last, unfinished run of this mode
               (default for --full; their source must be unchanged and their executed copy present)
  --restart    run every notebook (also --force); default for quick runs
  -v           also a line when each cell ends, with its time (also --verbose)
  -q           one line per notebook: no cell lines, no notebook output (also --quiet)`;

interface Options {
  full: boolean;
  out: string;
  cwd?: string;
  silence: number;
  timeout: number;
  resume: boolean;
  verbose: boolean;
  quiet: boolean;
  targets: string[];
}

interface Failure {
  kind: string;
  summary: string;
  tail?: string;
  cell_index?: number;
  code_cell?: number;
  code_cells?: number;
  execution_count?: number | null;
  first_line?: string;
  elapsed_s?: number;
}

interface Report {
  ok: boolean;
  total_s?: number;
  kernel_start_s?: number;
  cells?: { index: number; s: number }[];
  failure?: Failure;
  failed_output?: string;
}

function parseArgs(argv: string[]): Options {
  const cli = parseCommandLine({
    command: 'run-notebooks',
    usage: USAGE,
    argv,
    positionals: true,
    options: {
      full: { type: 'boolean' },
      quick: { type: 'boolean' },
      out: { type: 'string' },
      cwd: { type: 'string' },
      silence: { type: 'string' },
      timeout: { type: 'string' },
      resume: { type: 'boolean' },
      restart: { type: 'boolean' },
      force: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      quiet: { type: 'boolean', short: 'q' },
    },
  });
  const v = cli.values;
  if (v.full && v.quick) cli.fail('--full and --quick exclude each other');
  const restart = (v.restart ?? false) || (v.force ?? false);
  if (restart && v.resume) cli.fail('--resume and --restart exclude each other');
  if (v.verbose && v.quiet) cli.fail('-v and -q exclude each other');
  const full = v.full ?? false;
  return {
    full,
    out: v.out !== undefined ? path.resolve(v.out) : DEFAULT_OUT,
    cwd: v.cwd !== undefined ? path.resolve(v.cwd) : undefined,
    silence: cli.number('silence', { min: 0 }) ?? setting('LGD_SILENCE_TIMEOUT') ?? DEFAULT_SILENCE,
    timeout: cli.number('timeout', { min: 0 }) ?? setting('LGD_CELL_TIMEOUT') ?? 0,
    resume: v.resume ? true : restart ? false : full,
    verbose: v.verbose ?? false,
    quiet: v.quiet ?? false,
    targets: cli.positionals,
  };
}

function notebooksIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb') && !f.startsWith('.'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Resolves command-line targets to notebook files, in order, without duplicates. */
function resolveTargets(targets: string[]): string[] {
  if (targets.length === 0) {
    if (!fs.existsSync(NOTEBOOKS_DIR)) return [];
    return notebooksIn(NOTEBOOKS_DIR);
  }
  const out: string[] = [];
  for (const t of targets) {
    const candidates = [t, path.join(NOTEBOOKS_DIR, t), path.join(NOTEBOOKS_DIR, `${t}.ipynb`)];
    const hit = candidates.find((c) => fs.existsSync(c));
    if (hit) {
      out.push(...(fs.statSync(hit).isDirectory() ? notebooksIn(hit) : [path.resolve(hit)]));
      continue;
    }
    const prefixed = fs.existsSync(NOTEBOOKS_DIR) ? notebooksIn(NOTEBOOKS_DIR).filter((f) => path.basename(f).startsWith(t)) : [];
    if (prefixed.length === 0) throw new Error(`no notebook matches "${t}" (looked for a path, notebooks/${t}[.ipynb], notebooks/${t}*.ipynb)`);
    out.push(...prefixed);
  }
  return [...new Set(out)];
}

function fmtSeconds(s: number): string {
  if (s < 59.5) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  if (m >= 60) return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
  return total % 60 ? `${m} min ${total % 60} s` : `${m} min`;
}

/** A wall-clock time as HH:MM (local). */
function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** A path relative to the cwd when it lies below it, else absolute. */
function show(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

function indent(text: string, pad = '  '): string {
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

function describeFailure(nbPath: string, r: Report): string {
  const f = r.failure;
  const rel = show(nbPath);
  const lines: string[] = [];
  if (!f) return `notebook ${rel}: the executor exited without a report`;
  lines.push(`notebook: ${rel}`);
  if (f.cell_index !== undefined) {
    const count = f.execution_count != null ? `, In [${f.execution_count}]` : '';
    lines.push(`cell:     index ${f.cell_index} (code cell ${f.code_cell} of ${f.code_cells}${count}, after ${fmtSeconds(f.elapsed_s ?? 0)})`);
    lines.push(`source:   ${f.first_line ?? ''}`);
  } else {
    lines.push(`stage:    kernel start-up (${f.kind})`);
  }
  lines.push(`error:    ${f.summary}`);
  if (f.tail && f.tail.trim()) {
    lines.push('output (tail):');
    lines.push(indent(f.tail.replace(/\s+$/, ''), '  | '));
  }
  if (r.failed_output) lines.push(`partial:  ${show(r.failed_output)}`);
  const all = `${f.summary}\n${f.tail ?? ''}`;
  if (/Cannot find module 'lgd-workspace'/.test(all)) {
    lines.push(
      'hint:     tslab type-checks with node10 resolution: the kernel cwd must be at or below notebooks/ ' +
        '(notebooks/node_modules/lgd-workspace is written by `npm run setup -- --only kernel`) and dist/ must be built (`npm run build`)',
    );
  } else if (/Cannot find module .*dist/.test(all)) {
    lines.push('hint:     dist/ looks stale or missing: run `npm run build`');
  }
  return lines.join('\n');
}

/**
 * The first file of lib/ whose compiled dist/ file is missing or older than it (the notebooks
 * import `lgd-workspace`, i.e. dist/, so a lib/ change not built yet would run the old code); null
 * when dist/ is current.
 */
export function staleDistFile(root = ROOT): string | null {
  const lib = path.join(root, 'lib');
  const walk = (dir: string): string | null => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        const found = walk(file);
        if (found) return found;
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.test.ts')) {
        const out = path.join(root, 'dist', path.relative(lib, file).replace(/\.ts$/, '.js'));
        if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(file).mtimeMs) return path.relative(root, file);
      }
    }
    return null;
  };
  return walk(lib);
}

/** Builds dist/ (`npm run build`) when a lib/ file is newer than its build; false when the build fails. */
function ensureDistBuilt(): boolean {
  const stale = staleDistFile();
  if (!stale) return true;
  console.log(`run-notebooks: dist/ is older than ${stale} (or missing): building it (npm run build) so the notebooks import the current lib/`);
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0) return true;
  console.error(`run-notebooks: the build failed (exit ${r.status ?? r.signal}); fix it or run \`npm run build\` to see why:\n${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(0, 20).join('\n')}`);
  return false;
}

/** Runs one notebook through the python helper; resolves with its report. */
function executeOne(python: string, nbPath: string, opts: Options, env: NodeJS.ProcessEnv, previous: Record<string, number>): Promise<Report> {
  const name = path.basename(nbPath, '.ipynb');
  const output = path.join(opts.out, `${name}.ipynb`);
  const failed = path.join(opts.out, `${name}.failed.ipynb`);
  const reportFile = path.join(os.tmpdir(), `lgd-nb-${process.pid}-${name}.json`);
  fs.rmSync(reportFile, { force: true });
  const args = [
    HELPER,
    '--input', nbPath,
    '--output', output,
    '--failed-output', failed,
    '--report', reportFile,
    '--kernel', KERNEL_NAME,
    '--cwd', opts.cwd ?? path.dirname(nbPath),
    '--timeout', String(opts.timeout),
    '--silence', String(opts.silence),
    '--startup-timeout', String(setting('LGD_KERNEL_STARTUP_TIMEOUT')),
  ];
  if (!opts.quiet) args.push('--progress', '--previous-cells', JSON.stringify(previous));
  if (opts.verbose) args.push('--verbose');
  return new Promise((resolve, reject) => {
    // stdout: cell lines and the notebook's output (--progress); stderr: kernel/helper logs, shown as they come.
    const child = spawn(python, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    // The helper turns the first SIGINT/SIGTERM into a clean stop (kernel shut down) and ignores repeats.
    const onSignal = () => {
      interrupted = true;
      child.kill('SIGTERM');
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      let report: Report;
      try {
        report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
      } catch {
        report = {
          ok: false,
          failure: { kind: 'executor', summary: `${path.basename(HELPER)} exited with ${signal ?? `status ${code}`} and wrote no report (see its output above)` },
        };
      }
      fs.rmSync(reportFile, { force: true });
      if (code !== 0 && report.ok) report.ok = false;
      if (report.ok) fs.rmSync(failed, { force: true });
      resolve(report);
    });
  });
}

/** Fresh-kernel retries when a notebook's kernel fails to start (no cell ran). */
const KERNEL_START_RETRIES = 2;

/** True when the run failed before any cell ran: the kernel did not start (not a notebook error). */
function isStartupFailure(report: Report): boolean {
  const f = report.failure;
  return !report.ok && f !== undefined && f.cell_index === undefined && f.kind !== 'interrupted' && f.kind !== 'executor';
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const notebooks = resolveTargets(opts.targets);
  if (notebooks.length === 0) {
    console.log('run-notebooks: no notebooks to run');
    return 0;
  }
  const python = findPython();
  if (!python) {
    console.error('run-notebooks: no python with nbclient + ipykernel found; run `npm run setup -- --only jupyter` (or set LGD_PYTHON)');
    return 1;
  }
  ensureKernel((s) => console.log(s), true);
  if (notebooks.some((n) => path.dirname(n) === NOTEBOOKS_DIR) && !ensureDistBuilt()) return 1;
  fs.mkdirSync(opts.out, { recursive: true });

  const env = jupyterEnv({ ...process.env });
  if (opts.full) delete env.LGD_QUICK;
  else env.LGD_QUICK = '1';
  // Keep Python's and the kernel's stray warnings out of the way of the progress lines.
  env.PYTHONWARNINGS = env.PYTHONWARNINGS ?? 'ignore';

  const mode: RunMode = opts.full ? 'full' : 'quick';
  const limits = `silence limit ${opts.silence > 0 ? fmtSeconds(opts.silence) : 'none'}${opts.timeout > 0 ? `, cell cap ${fmtSeconds(opts.timeout)}` : ''}`;
  console.log(`run-notebooks: ${notebooks.length} notebook(s), ${opts.full ? 'full' : 'quick (LGD_QUICK=1)'}, ${limits} -> ${show(opts.out)}`);

  // What earlier runs left: finished notebooks of an unfinished run (skipped when resuming), times (ETA).
  const state = loadState(opts.out);
  const { run, resumed } = startRun(state, mode, opts.resume);
  const plan = notebooks.map((nb) => {
    const name = path.basename(nb, '.ipynb');
    const sha256 = notebookHash(nb);
    const done = resumed ? finishedInRun(state, run, name, mode, sha256, path.join(opts.out, `${name}.ipynb`)) : undefined;
    return { nb, name, sha256, done, expect: previousSeconds(state, name, mode) };
  });
  saveState(opts.out, state);
  const skipped = plan.filter((p) => p.done).length;
  if (resumed) {
    const again = opts.full ? '--restart' : 'without --resume';
    console.log(
      `run-notebooks: resuming the unfinished ${mode} run started ${run.started.replace('T', ' ').slice(0, 16)} UTC: ` +
        `${skipped} of ${notebooks.length} already finished (${again} runs them all)`,
    );
  }
  const todo = plan.filter((p) => !p.done);
  const known = todo.filter((p) => p.expect !== undefined);
  if (known.length) {
    const total = known.reduce((a, p) => a + (p.expect ?? 0), 0);
    const unknown = todo.length - known.length;
    console.log(
      `run-notebooks: ETA ${clock(Date.now() + total * 1000)} (${fmtSeconds(total)} by the previous ${mode} run's times` +
        `${unknown ? `, ${unknown} notebook(s) without one not counted` : ''})`,
    );
  }

  const t0 = Date.now();
  let ran = 0;
  for (const [i, p] of plan.entries()) {
    const tag = `[${i + 1}/${notebooks.length}] ${p.name}`;
    if (p.done) {
      console.log(`${tag}: skipped, finished ${p.done.finished.replace('T', ' ').slice(0, 16)} UTC in this run (source unchanged)`);
      continue;
    }
    const eta = p.expect !== undefined ? ` (last run ${fmtSeconds(p.expect)}: ETA ${clock(Date.now() + p.expect * 1000)})` : '';
    // Quiet: "[1/3] name ... " now, "ok 42 s" when done. Otherwise the cells and the notebook's
    // own lines come in between, and the closing line repeats the tag.
    if (opts.quiet) process.stdout.write(`${tag} ... `);
    else console.log(`${tag} ...${eta}`);
    const started = Date.now();
    let report = await executeOne(python, p.nb, opts, env, previousCells(state, p.name, mode));
    // A kernel that fails to start is not the notebook's fault (tslab's sockets can race on a busy
    // machine: "Socket is blocked by a bind or unbind operation"): start a fresh kernel, twice at most.
    for (let retry = 1; retry <= KERNEL_START_RETRIES && !interrupted && isStartupFailure(report); retry++) {
      console.log(`${tag}: the kernel did not start (${report.failure?.summary.split('\n')[0].slice(0, 120)}); fresh kernel, retry ${retry} of ${KERNEL_START_RETRIES}`);
      report = await executeOne(python, p.nb, opts, env, previousCells(state, p.name, mode));
    }
    const seconds = (Date.now() - started) / 1000;
    const took = fmtSeconds(seconds);
    const kernel = report.kernel_start_s !== undefined ? ` (kernel start ${report.kernel_start_s.toFixed(1)} s)` : '';
    const prefix = opts.quiet ? '' : `${tag} `;
    if (interrupted) {
      console.log(`${prefix}interrupted after ${took}`);
      console.log(resumeHint(opts, p.name, ran + skipped));
      return 130;
    }
    if (report.ok) {
      ran++;
      console.log(`${prefix}ok ${took}${kernel}`);
      const cells = Object.fromEntries((report.cells ?? []).map((c) => [String(c.index), c.s]));
      recordFinished(state, run, p.name, mode, { sha256: p.sha256, finished: new Date().toISOString(), seconds, cells });
      saveState(opts.out, state);
      continue;
    }
    console.log(`${prefix}FAILED after ${took}`);
    console.error('');
    console.error(describeFailure(p.nb, report));
    console.error('');
    console.error(`run-notebooks: stopped at ${p.name} (${ran + skipped} of ${notebooks.length} notebook(s) finished)`);
    console.error(resumeHint(opts, p.name, ran + skipped));
    return 1;
  }
  closeRun(state, mode);
  saveState(opts.out, state);
  const skipNote = skipped ? ` (${skipped} finished earlier in this run, skipped)` : '';
  console.log(`run-notebooks: ${notebooks.length} ok in ${fmtSeconds((Date.now() - t0) / 1000)}${skipNote}`);
  return 0;
}

/** How to go on after a failed or interrupted run. */
function resumeHint(opts: Options, name: string, finished: number): string {
  if (finished === 0) return `run-notebooks: nothing finished yet; the next run starts at the first notebook`;
  const state = show(path.join(opts.out, STATE_FILE));
  if (opts.full) return `run-notebooks: the same command resumes at ${name}, skipping the ${finished} finished notebook(s) (--restart runs all; state in ${state})`;
  return `run-notebooks: add --resume to go on at ${name} without rerunning the ${finished} finished notebook(s) (state in ${state})`;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`run-notebooks: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(2);
    },
  );
}
