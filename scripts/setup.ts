/**
 * Idempotent workspace set-up: `tsx scripts/setup.ts [--only jupyter,kernel,chromium,data]`.
 *
 * Steps (default: all, in this order), each a few seconds at most when already done:
 *   jupyter   Jupyter's nbconvert, nbclient and ipykernel (Debian packages; installed with apt as root)
 *   kernel    the project-local tslab kernelspec under .jupyter/share/jupyter (no global install)
 *   chromium  /usr/bin/chromium for rendering figures (apt as root)
 *   data      data sets linked into data/ and checksum-verified (lib/io/datasets.ts ensureData)
 *   torch     (only when asked: --with torch or --only torch) Debian's python3-torch, for the PyTorch
 *             twins of `npm run bench -- --torch` and their tests; apt as root, otherwise a note
 *             (the twins' tests then skip). `npm test` asks for it.
 *
 * Other scripts import the helpers (`jupyterEnv`, `ensureKernel`, `findPython`, ...).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { setting } from '../lib/settings';
import { parseCommandLine } from './cli';

/** The project root (the folder holding package.json). */
export const ROOT = path.resolve(__dirname, '..');
/** Project-local Jupyter data dir, put first on JUPYTER_PATH (`.jupyter/` is git-ignored). */
export const JUPYTER_DATA = path.join(ROOT, '.jupyter', 'share', 'jupyter');
/** Kernel name; notebooks' metadata.kernelspec.name. Same name as a stock tslab install. */
export const KERNEL_NAME = 'tslab';
export const KERNEL_DISPLAY_NAME = 'TypeScript (lgd-workspace)';
export const KERNEL_DIR = path.join(JUPYTER_DATA, 'kernels', KERNEL_NAME);
export const TSLAB_BIN = path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab');
/** Folder the notebooks live in (and the kernel's cwd when they run). */
export const NOTEBOOKS_DIR = path.join(ROOT, 'notebooks');

export const STEPS = ['jupyter', 'kernel', 'chromium', 'native', 'data', 'torch'] as const;
/** Steps that run only when asked for (`--with` or `--only`). */
export const OPTIONAL_STEPS: readonly Step[] = ['torch'];
export type Step = (typeof STEPS)[number];

const APT_JUPYTER = ['jupyter-nbconvert', 'python3-nbclient', 'python3-ipykernel', 'jupyter-notebook'];
const APT_CHROMIUM = ['chromium'];
const APT_TORCH = ['python3-torch'];
export const CHROMIUM = '/usr/bin/chromium';

type Log = (line: string) => void;

/** Environment for anything that runs Jupyter: JUPYTER_PATH starts with the project's data dir. */
export function jupyterEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const rest = (base.JUPYTER_PATH ?? '').split(path.delimiter).filter((p) => p && path.resolve(p) !== JUPYTER_DATA);
  return { ...base, JUPYTER_PATH: [JUPYTER_DATA, ...rest].join(path.delimiter) };
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** The interpreter named on the first line of a script (`#!/usr/bin/python3`), if any. */
function shebangPython(file: string | null): string | null {
  if (!file) return null;
  try {
    const first = fs.readFileSync(file, 'utf8').slice(0, 200).split('\n')[0];
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
    if (!m) return null;
    if (path.basename(m[1]) === 'env' && m[2]) return m[2];
    return m[1];
  } catch {
    return null;
  }
}

let pythonCache: string | null | undefined;

/**
 * A Python that imports nbclient, nbformat and ipykernel: `LGD_PYTHON`, else the one the `jupyter`
 * command runs with, else /usr/bin/python3, else `python3` on PATH (a pyenv/conda `python3` first on
 * PATH usually lacks the Debian packages, hence this order).
 */
export function findPython(): string | null {
  if (pythonCache !== undefined) return pythonCache;
  const candidates = [setting('LGD_PYTHON'), shebangPython(which('jupyter')), '/usr/bin/python3', 'python3'];
  for (const py of candidates) {
    if (!py) continue;
    if (run(py, ['-c', 'import nbclient, nbformat, ipykernel']).ok) return (pythonCache = py);
  }
  return (pythonCache = null);
}

/** What works and what is missing of the Jupyter tools. */
export function jupyterStatus(): { nbconvert: string | null; python: string | null; missing: string[] } {
  const nb = run('jupyter', ['nbconvert', '--version']);
  const nbconvert = nb.ok ? nb.out.split('\n').pop() ?? '?' : null;
  pythonCache = undefined;
  const python = findPython();
  const missing: string[] = [];
  if (!nbconvert) missing.push('jupyter nbconvert (Debian: jupyter-nbconvert; pip: nbconvert)');
  if (!python) missing.push('python3 modules nbclient + ipykernel (Debian: python3-nbclient python3-ipykernel; pip: nbclient ipykernel)');
  return { nbconvert, python, missing };
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Where apt-get's output goes (git-ignored): about 1,300 lines on a fresh machine, kept out of the terminal. */
export const APT_LOG = path.join(ROOT, '.cache', 'setup', 'apt.log');

/** The last `n` lines of a file ('' when unreadable). */
function tailOf(file: string, n: number): string {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\s+$/, '').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/**
 * Runs apt-get with its output appended to {@link APT_LOG}; returns whether it succeeded and how
 * many lines it wrote there.
 */
function aptGet(args: string[]): { ok: boolean; lines: number } {
  fs.mkdirSync(path.dirname(APT_LOG), { recursive: true });
  const before = fs.existsSync(APT_LOG) ? fs.statSync(APT_LOG).size : 0;
  const fd = fs.openSync(APT_LOG, 'a');
  let ok = false;
  try {
    fs.writeSync(fd, `\n=== ${new Date().toISOString()} apt-get ${args.join(' ')}\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const r = spawnSync('apt-get', args, { stdio: ['ignore', fd, fd], env });
    ok = !r.error && r.status === 0;
    fs.writeSync(fd, `=== exit ${r.error ? r.error.message : r.status}\n`);
  } finally {
    fs.closeSync(fd);
  }
  const added = fs.readFileSync(APT_LOG, 'utf8').slice(before);
  return { ok, lines: added.split('\n').length - 1 };
}

/**
 * `apt-get install` as root; `apt-get update` first only when there are no package lists (or the
 * install fails). apt's output goes to {@link APT_LOG}: one summary line here, or on failure the
 * log's tail and its path.
 */
export function aptInstall(pkgs: string[], log: Log = console.log): void {
  const t0 = Date.now();
  const rel = path.relative(process.cwd(), APT_LOG) || APT_LOG;
  let lines = 0;
  const step = (args: string[]) => {
    const r = aptGet([...args, '-q', '-o', 'DPkg::Lock::Timeout=900']);
    lines += r.lines;
    return r.ok;
  };
  const install = () => step(['install', '-y', ...pkgs]);
  const update = () => step(['update']);
  const lists = '/var/lib/apt/lists';
  const haveLists = fs.existsSync(lists) && fs.readdirSync(lists).some((f) => f.includes('_Packages'));
  log(`setup: apt-get ${haveLists ? '' : 'update + '}install ${pkgs.join(' ')} (output in ${rel}) ...`);
  let ok = (haveLists || update()) && install();
  if (!ok && haveLists) ok = update() && install();
  if (ok) {
    log(`setup: apt-get install ${pkgs.join(' ')}: ok in ${((Date.now() - t0) / 1000).toFixed(0)} s (${lines} lines in ${rel})`);
    return;
  }
  const tail = tailOf(APT_LOG, 25);
  throw new Error(`apt-get install ${pkgs.join(' ')} failed; the last lines of ${rel}:\n${tail.split('\n').map((l) => `  | ${l}`).join('\n')}\n  full log: ${APT_LOG}`);
}

function canApt(): boolean {
  return isRoot() && which('apt-get') !== null;
}

export function ensureJupyter(log: Log = console.log): void {
  let st = jupyterStatus();
  if (st.missing.length === 0) {
    log(`setup: jupyter ok (nbconvert ${st.nbconvert}, ${st.python})`);
    return;
  }
  if (!canApt()) {
    throw new Error(
      `Jupyter is missing: ${st.missing.join('; ')}.\n` +
        `  Install as root: apt-get install ${APT_JUPYTER.join(' ')}\n` +
        `  or with pip: pip install nbconvert nbclient ipykernel notebook (then set LGD_PYTHON to that python if it is not /usr/bin/python3)`,
    );
  }
  aptInstall(APT_JUPYTER, log);
  st = jupyterStatus();
  if (st.missing.length) throw new Error(`still missing after apt-get install: ${st.missing.join('; ')}`);
  log(`setup: jupyter installed (nbconvert ${st.nbconvert}, ${st.python})`);
}

/** The kernel.json this project wants: what `tslab install` writes, but running this project's tslab. */
export function kernelSpec(): { argv: string[]; display_name: string; language: string } {
  return {
    // process.execPath: the node running this script (absolute, so Jupyter's PATH does not matter).
    // --enable-source-maps: stack traces of library errors name lib/*.ts (dist/*.js.map), not dist/*.js.
    argv: [process.execPath, '--enable-source-maps', TSLAB_BIN, 'kernel', '--config-path', '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
  };
}

function writeIfChanged(file: string, content: string): boolean {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return false;
  } catch {
    /* absent */
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
  return true;
}

/**
 * tslab type-checks cells with `moduleResolution: node10`, which ignores package.json
 * self-references, so `import ... from 'lgd-workspace'` in a notebook would fail with TS2307
 * although Node itself resolves it. This stub package in notebooks/node_modules/ (git-ignored)
 * points TypeScript at dist/index.d.ts; at run time Node's self-reference resolves first
 * (to the same dist/index.js).
 */
function selfReferenceStub(): Record<string, string> {
  const dir = path.join(NOTEBOOKS_DIR, 'node_modules', 'lgd-workspace');
  const pkg = {
    name: 'lgd-workspace',
    private: true,
    description: 'Generated by scripts/setup.ts (kernel step): lets tslab type-check imports of lgd-workspace. Do not edit.',
    main: '../../../dist/index.js',
    types: '../../../dist/index.d.ts',
  };
  return { [path.join(dir, 'package.json')]: JSON.stringify(pkg, null, 2) + '\n' };
}

/** Writes the kernelspec (and the type stub) when they differ; returns whether anything changed. */
export function ensureKernel(log: Log = console.log, quiet = false): boolean {
  if (!fs.existsSync(TSLAB_BIN)) {
    throw new Error(`tslab is not installed (${path.relative(ROOT, TSLAB_BIN)} missing): run npm ci in ${ROOT}`);
  }
  const files: Record<string, string> = {
    [path.join(KERNEL_DIR, 'kernel.json')]: JSON.stringify(kernelSpec(), null, 1) + '\n',
    ...selfReferenceStub(),
  };
  let changed = false;
  for (const [file, content] of Object.entries(files)) changed = writeIfChanged(file, content) || changed;
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'tslab', 'package.json'), 'utf8')).version;
  if (!quiet || changed) {
    log(`setup: kernel ${changed ? 'written' : 'ok'} (tslab ${version} as "${KERNEL_NAME}" in ${path.relative(ROOT, KERNEL_DIR)})`);
  }
  return changed;
}

export function ensureChromium(log: Log = console.log): void {
  const version = () => run(CHROMIUM, ['--version']).out.split('\n').filter((l) => /^chromium\s/i.test(l.trim())).pop()?.trim() ?? '';
  if (fs.existsSync(CHROMIUM)) {
    log(`setup: chromium ok (${version() || CHROMIUM})`);
    return;
  }
  if (!canApt()) {
    throw new Error(`${CHROMIUM} not found. Install as root: apt-get install ${APT_CHROMIUM.join(' ')}`);
  }
  aptInstall(APT_CHROMIUM, log);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} still missing after apt-get install ${APT_CHROMIUM.join(' ')}`);
  log(`setup: chromium installed (${version() || CHROMIUM})`);
}

/** Debian's PyTorch for /usr/bin/python3 (optional: the bench's twins and their tests). */
export function ensureTorch(log: Log = console.log): void {
  const probe = () => run('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)']);
  let r = probe();
  if (r.ok) {
    log(`setup: torch ok (${r.out.split('\n').pop()}, /usr/bin/python3)`);
    return;
  }
  if (!canApt()) {
    log(`setup: torch absent (optional: the PyTorch twins of the bench and their tests skip). Install as root: apt-get install ${APT_TORCH.join(' ')}`);
    return;
  }
  aptInstall([...APT_TORCH, '--no-install-recommends'], log);
  r = probe();
  if (!r.ok) throw new Error(`/usr/bin/python3 still cannot import torch after apt-get install ${APT_TORCH.join(' ')}: ${r.out.split('\n').pop()}`);
  log(`setup: torch installed (${r.out.split('\n').pop()})`);
}

export async function ensureDataStep(opts: { mirror?: string; sets?: string[] }, log: Log = console.log): Promise<void> {
  const t0 = Date.now();
  const { ensureData } = await import('../lib/io/datasets');
  let lines = 0;
  await ensureData({
    ...(opts.mirror ? { mirror: opts.mirror } : {}),
    ...(opts.sets ? { sets: opts.sets } : {}),
    log: (s: string) => {
      lines++;
      log(`  ${s}`);
    },
  });
  log(`setup: data ok (${lines ? `${lines} set(s) verified` : 'already verified'}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

export interface SetupOptions {
  only?: Step[];
  /** Optional steps to run besides the default ones ({@link OPTIONAL_STEPS}). */
  with?: Step[];
  mirror?: string;
  sets?: string[];
  log?: Log;
}

/**
 * The optional native oneDNN convolutions (native/): built by scripts/build-native.ts, which is
 * idempotent and never fails the set-up (without oneDNN the engine keeps the wasm kernels).
 */
function buildNative(log: Log): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'build-native.ts')], { cwd: ROOT, encoding: 'utf8' });
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').filter((l) => l.startsWith('build-native:'));
  log(`setup: native ${lines.length ? lines.join(' / ').replace(/build-native: /g, '') : `exit ${r.status}`}`);
}

/** Runs the selected steps in order; throws on the first failure. */
export async function runSetup(options: SetupOptions = {}): Promise<void> {
  const log = options.log ?? console.log;
  const steps = STEPS.filter((s) => (options.only ? options.only.includes(s) : !OPTIONAL_STEPS.includes(s) || !!options.with?.includes(s)));
  for (const step of steps) {
    try {
      if (step === 'jupyter') ensureJupyter(log);
      else if (step === 'kernel') ensureKernel(log);
      else if (step === 'chromium') ensureChromium(log);
      else if (step === 'native') buildNative(log);
      else if (step === 'torch') ensureTorch(log);
      else await ensureDataStep({ mirror: options.mirror, sets: options.sets }, log);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `setup: ${step} FAILED: ${err.message}`;
      throw err;
    }
  }
}

const USAGE = `usage: tsx scripts/setup.ts [--only ${STEPS.join(',')}] [--with ${OPTIONAL_STEPS.join(',')}] [--mirror DIR] [--sets A,B]
  --only    comma-separated steps (default: all but ${OPTIONAL_STEPS.join(', ')}, in the order above)
  --with    optional steps to run as well (${OPTIONAL_STEPS.join(', ')})
  --mirror  data mirror folder (default LGD_DATA_MIRROR or ../shared/data)
  --sets    data sets to materialise (default all)`;

function parseArgs(argv: string[]): SetupOptions {
  const cli = parseCommandLine({
    command: 'setup',
    usage: USAGE,
    argv,
    options: { only: { type: 'string' }, with: { type: 'string' }, mirror: { type: 'string' }, sets: { type: 'string' } },
  });
  const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
  const opts: SetupOptions = {};
  if (cli.values.only !== undefined) {
    const only = list(cli.values.only);
    const bad = only.filter((s) => !(STEPS as readonly string[]).includes(s));
    if (bad.length) cli.fail(`unknown step(s) ${bad.join(', ')}; steps: ${STEPS.join(', ')}`);
    opts.only = only as Step[];
  }
  if (cli.values.with !== undefined) {
    const extra = list(cli.values.with);
    const bad = extra.filter((s) => !(OPTIONAL_STEPS as readonly string[]).includes(s));
    if (bad.length) cli.fail(`--with: ${bad.join(', ')} is not an optional step; optional steps: ${OPTIONAL_STEPS.join(', ')}`);
    opts.with = extra as Step[];
  }
  if (cli.values.mirror !== undefined) opts.mirror = cli.values.mirror;
  if (cli.values.sets !== undefined) opts.sets = list(cli.values.sets);
  return opts;
}

if (require.main === module) {
  (async () => {
    await runSetup(parseArgs(process.argv.slice(2)));
  })().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
