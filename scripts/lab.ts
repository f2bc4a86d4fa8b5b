/**
 * `npm run lab [-- OPTIONS] [-- JUPYTER ARGS]`: Jupyter Notebook on notebooks/ with the project-local
 * tslab kernel. Options (checked strictly: a misspelt one stops with its name and the usage):
 * `--ip ADDR` (e.g. 0.0.0.0 for a browser on another machine), `--port N`, `--no-browser`,
 * `--allow-root`. Anything after a `--` goes to `jupyter notebook` as it is
 * (`npm run lab -- --no-browser -- --NotebookApp.token=abc`).
 * Run as root, `--allow-root` is added. `npm run lab` does the whole set-up first, as the other
 * commands do (Jupyter, kernel, Chromium, the native convolutions, data) and builds dist/; the
 * kernel runs Node with source maps, so library errors name lib/*.ts.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { setting } from '../lib/settings';
import { parseCommandLine } from './cli';
import { JUPYTER_DATA, KERNEL_DIR, NOTEBOOKS_DIR, ROOT, jupyterEnv } from './setup';

/** The native addon the engine loads by default (lib/engine/native.ts). */
const NATIVE_ADDON = path.join(ROOT, 'native', 'build', 'Release', 'lgd_native.node');

function main(): void {
  const cli = parseCommandLine({
    command: 'lab',
    usage: `usage: npm run lab -- [--ip ADDR] [--port N] [--no-browser] [--allow-root] [-- JUPYTER ARGS ...]
  --ip ADDR      address Jupyter listens on (e.g. 0.0.0.0 for a browser on another machine; default localhost)
  --port N       port (default Jupyter's, 8888 or the next free one)
  --no-browser   do not open a browser
  --allow-root   run as root (added by itself when run as root)
  -- ARGS        everything after -- goes to \`jupyter notebook\` unchanged`,
    positionals: true,
    options: { ip: { type: 'string' }, port: { type: 'string' }, 'no-browser': { type: 'boolean' }, 'allow-root': { type: 'boolean' } },
  });
  const port = cli.integer('port', { min: 1 });
  const extra = [
    ...(cli.values.ip !== undefined ? [`--ip=${cli.values.ip}`] : []),
    ...(port !== undefined ? [`--port=${port}`] : []),
    ...(cli.values['no-browser'] ? ['--no-browser'] : []),
    ...(cli.values['allow-root'] ? ['--allow-root'] : []),
    ...cli.positionals,
  ];
  if (!fs.existsSync(path.join(KERNEL_DIR, 'kernel.json'))) {
    console.error('lab: the tslab kernelspec is missing; run `npm run setup -- --only jupyter,kernel` (npm run lab does this)');
    process.exit(1);
  }
  // Started without `npm run lab`: say what the notebooks will lack.
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
    console.warn('lab: warning: dist/index.js is missing, so notebooks cannot import lgd-workspace; run `npm run build` (npm run lab does this)');
  }
  if (setting('LGD_NATIVE') && !fs.existsSync(setting('LGD_NATIVE_PATH') ?? NATIVE_ADDON)) {
    console.warn('lab: warning: the native convolutions are not built, so notebooks use the slow wasm kernels; run `npm run build:native` (npm run lab does this)');
  }
  fs.mkdirSync(NOTEBOOKS_DIR, { recursive: true });
  const args = ['notebook', `--notebook-dir=${NOTEBOOKS_DIR}`];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && !extra.some((a) => a.startsWith('--allow-root') || a.startsWith('--NotebookApp.allow_root'))) args.push('--allow-root');
  // Hide notebooks/node_modules (the generated type stub, see setup.ts) from the file tree; Notebook 6's defaults + it.
  if (!extra.some((a) => a.includes('hide_globs'))) {
    // One flag per item: traitlets 5 deprecates the list-literal form (a FutureWarning on every start).
    for (const glob of ['node_modules', '__pycache__', '*.pyc', '*.pyo', '.DS_Store', '*.so', '*.dylib', '*~']) args.push(`--ContentsManager.hide_globs=${glob}`);
  }
  args.push(...extra);
  console.log(`lab: jupyter ${args.filter((a) => !a.includes('hide_globs')).join(' ')}  (kernel "TypeScript (lgd-workspace)", JUPYTER_PATH=${path.relative(ROOT, JUPYTER_DATA)})`);
  // Debian's jupyter-notebook (classic Notebook 6) provides `jupyter notebook`; fall back to `jupyter-notebook`.
  const start = (cmd: string, argv: string[], fallback?: () => void) => {
    let failed = false;
    const child = spawn(cmd, argv, { stdio: 'inherit', env: jupyterEnv(), cwd: NOTEBOOKS_DIR });
    child.on('error', (e: NodeJS.ErrnoException) => {
      failed = true;
      if (e.code === 'ENOENT' && fallback) return fallback();
      console.error(`lab: cannot start ${cmd}: ${e.message}. Install Jupyter: npm run setup -- --only jupyter`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      if (!failed) process.exit(code ?? (signal ? 1 : 0));
    });
    process.on('SIGTERM', () => child.kill('SIGTERM'));
  };
  // Ctrl-C in the terminal reaches Jupyter itself (it asks to confirm); stay alive until it exits.
  process.on('SIGINT', () => undefined);
  start('jupyter', args, () => start('jupyter-notebook', args.slice(1)));
}

main();
