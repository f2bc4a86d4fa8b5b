/**
 * Executes notebooks headless with the project-local tslab kernel.
 *
 *   tsx scripts/run-notebooks.ts [--full] [--out DIR] [--cwd DIR] [--timeout S] [-v] [NOTEBOOK|DIR ...]
 *
 * Default: every notebooks/*.ipynb in name order. A NOTEBOOK may be a path, a file or stem in
 * notebooks/ (`00_quickstart`), or a name prefix (`01` runs every notebooks/01*.ipynb).
 * Quick mode (default) sets LGD_QUICK=1 for the kernel; --full removes it.
 * Executed copies go to results/notebooks/<name>.ipynb (temp file + rename); on a cell error the
 * run stops, the partial copy goes to <name>.failed.ipynb and the exit status is 1.
 * Per-cell timeout: LGD_CELL_TIMEOUT seconds (default 1800; 0 = none). The kernel's cwd is the
 * notebook's folder unless --cwd is given.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KERNEL_NAME, NOTEBOOKS_DIR, ROOT, ensureKernel, findPython, jupyterEnv } from './setup';

const HELPER = path.join(__dirname, 'execute_notebook.py');
const DEFAULT_OUT = path.join(ROOT, 'results', 'notebooks');
const DEFAULT_CELL_TIMEOUT = 1800;
let interrupted = false;

const USAGE = `usage: tsx scripts/run-notebooks.ts [--full|--quick] [--out DIR] [--cwd DIR] [--timeout S] [-v] [NOTEBOOK|DIR ...]
  --full       full-size run (LGD_QUICK unset); default quick (LGD_QUICK=1)
  --out DIR    where executed copies go (default results/notebooks)
  --cwd DIR    kernel working directory (default: each notebook's folder)
  --timeout S  per-cell timeout in seconds (default LGD_CELL_TIMEOUT or ${DEFAULT_CELL_TIMEOUT}; 0 = none)
  -v           one line per executed cell`;

interface Options {
  full: boolean;
  out: string;
  cwd?: string;
  timeout: number;
  verbose: boolean;
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
  const envTimeout = process.env.LGD_CELL_TIMEOUT;
  const opts: Options = {
    full: false,
    out: DEFAULT_OUT,
    timeout: envTimeout !== undefined && envTimeout !== '' ? Number(envTimeout) : DEFAULT_CELL_TIMEOUT,
    verbose: false,
    targets: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const get = (): string => {
      if (eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--full') opts.full = true;
    else if (flag === '--quick') opts.full = false;
    else if (flag === '--out') opts.out = path.resolve(get());
    else if (flag === '--cwd') opts.cwd = path.resolve(get());
    else if (flag === '--timeout') opts.timeout = Number(get());
    else if (flag === '-v' || flag === '--verbose') opts.verbose = true;
    else if (flag === '-h' || flag === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else opts.targets.push(a);
  }
  if (!Number.isFinite(opts.timeout)) throw new Error(`bad cell timeout (LGD_CELL_TIMEOUT / --timeout): ${envTimeout}`);
  return opts;
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
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
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

/** Runs one notebook through the python helper; resolves with its report. */
function executeOne(python: string, nbPath: string, opts: Options, env: NodeJS.ProcessEnv): Promise<Report> {
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
    '--startup-timeout', process.env.LGD_KERNEL_STARTUP_TIMEOUT ?? '120',
  ];
  if (opts.verbose) args.push('--verbose');
  return new Promise((resolve, reject) => {
    // stdout: per-cell lines (verbose); stderr: kernel/helper logs, shown as they come.
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
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')) && notebooks.some((n) => path.dirname(n) === NOTEBOOKS_DIR)) {
    console.warn('run-notebooks: warning: dist/index.js is missing, so `lgd-workspace` imports will fail; run `npm run build` first');
  }
  fs.mkdirSync(opts.out, { recursive: true });

  const env = jupyterEnv({ ...process.env });
  if (opts.full) delete env.LGD_QUICK;
  else env.LGD_QUICK = '1';
  // Keep Python's and the kernel's stray warnings out of the way of the progress lines.
  env.PYTHONWARNINGS = env.PYTHONWARNINGS ?? 'ignore';

  const mode = opts.full ? 'full' : 'quick (LGD_QUICK=1)';
  console.log(`run-notebooks: ${notebooks.length} notebook(s), ${mode}, cell timeout ${opts.timeout > 0 ? `${opts.timeout} s` : 'none'} -> ${show(opts.out)}`);
  const t0 = Date.now();
  for (const [i, nb] of notebooks.entries()) {
    const name = path.basename(nb, '.ipynb');
    const tag = `[${i + 1}/${notebooks.length}] ${name}`;
    // Quiet mode: "[1/3] name ... " now, "ok 42 s" when done (verbose: cell lines in between).
    if (opts.verbose) console.log(`${tag} ...`);
    else process.stdout.write(`${tag} ... `);
    const started = Date.now();
    const report = await executeOne(python, nb, opts, env);
    const took = fmtSeconds((Date.now() - started) / 1000);
    const kernel = report.kernel_start_s !== undefined ? ` (kernel start ${report.kernel_start_s.toFixed(1)} s)` : '';
    const prefix = opts.verbose ? `${tag} ` : '';
    if (interrupted) {
      console.log(`${prefix}interrupted after ${took}`);
      return 130;
    }
    if (report.ok) {
      console.log(`${prefix}ok ${took}${kernel}`);
      continue;
    }
    console.log(`${prefix}FAILED after ${took}`);
    console.error('');
    console.error(describeFailure(nb, report));
    console.error('');
    console.error(`run-notebooks: stopped at ${name} (${i} of ${notebooks.length} notebook(s) ran ok)`);
    return 1;
  }
  console.log(`run-notebooks: ${notebooks.length} ok in ${fmtSeconds((Date.now() - t0) / 1000)}`);
  return 0;
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
