/**
 * Builds the optional native addon `native/build/Release/lgd_native.node` (oneDNN convolutions for
 * the tfjs wasm backend, see native/README.md). Idempotent, and never fails the set-up: when it
 * cannot build (no oneDNN headers, no compiler, no Node headers) it says why in one line and exits
 * 0; the library then keeps using the wasm kernels.
 *
 *   npx tsx scripts/build-native.ts             # build if missing or out of date
 *   npx tsx scripts/build-native.ts --force     # rebuild
 *   npx tsx scripts/build-native.ts --no-install  # never run apt-get
 *   npx tsx scripts/build-native.ts --strict    # exit 1 when it cannot build (CI)
 *
 * Env: LGD_NATIVE=0 skips the build.
 *
 * oneDNN comes from Debian's `libdnnl-dev` (2.6.3 on bookworm). When its headers are missing and
 * this runs as root with apt-get available, it installs the package itself (unless --no-install
 * or another apt/dpkg is running); otherwise it prints the `apt-get install libdnnl-dev` to run.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { setting } from '../lib/settings';
import { parseCommandLine } from './cli';

const root = path.resolve(__dirname, '..');
const nativeDir = path.join(root, 'native');
const addon = path.join(nativeDir, 'build', 'Release', 'lgd_native.node');
const USAGE = `usage: npx tsx scripts/build-native.ts [--force] [--strict] [--no-install]
  --force       rebuild even when the addon is up to date
  --strict      exit 1 when it cannot build (CI); default: say why and exit 0
  --no-install  never run apt-get install libdnnl-dev`;
const { values: args } = parseCommandLine({
  command: 'build-native',
  usage: USAGE,
  options: { force: { type: 'boolean' }, strict: { type: 'boolean' }, 'no-install': { type: 'boolean' } },
});
const force = args.force ?? false;
const strict = args.strict ?? false;
const mayInstall = !args['no-install'];

function done(ok: boolean, message: string): never {
  console.log(`build-native: ${message}`);
  process.exit(ok || !strict ? 0 : 1);
}

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const HEADER_DIRS = ['/usr/include', '/usr/local/include', ...(process.env.DNNL_ROOT ? [path.join(process.env.DNNL_ROOT, 'include')] : [])];

function dnnlHeader(): string | undefined {
  for (const dir of HEADER_DIRS) {
    const f = path.join(dir, 'oneapi', 'dnnl', 'dnnl.hpp');
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

function aptBusy(): boolean {
  const r = spawnSync('pgrep', ['-x', 'apt|apt-get|dpkg|unattended-upgr'], { encoding: 'utf8' });
  return r.status === 0;
}

function tryInstallDnnl(): string | undefined {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!mayInstall) return 'not installing (--no-install)';
  if (!isRoot) return 'not root, cannot install it';
  if (!which('apt-get')) return 'no apt-get';
  for (let i = 0; i < 30 && aptBusy(); i++) spawnSync('sleep', ['2']);
  if (aptBusy()) return 'another apt/dpkg is running';
  console.log('build-native: installing libdnnl-dev (apt-get) ...');
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'libdnnl-dev'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0 ? undefined : `apt-get install libdnnl-dev failed (status ${r.status})`;
}

/** node-gyp's entry script: a local install, else the one bundled with npm. */
function nodeGyp(): string | undefined {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    /* not a dependency */
  }
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  for (const f of [
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ]) {
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

/** A --nodedir holding this Node's headers (so node-gyp downloads nothing), if there is one. */
function nodeDir(): string | undefined {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local'];
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

function upToDate(): boolean {
  if (!fs.existsSync(addon)) return false;
  const built = fs.statSync(addon).mtimeMs;
  const sources = [path.join(nativeDir, 'binding.gyp'), ...fs.readdirSync(path.join(nativeDir, 'src')).map((f) => path.join(nativeDir, 'src', f))];
  return sources.every((f) => fs.statSync(f).mtimeMs <= built);
}

/** Loads the addon in a child process; its info line, or throws. */
function probe(): string {
  const code = `const m = require(${JSON.stringify(addon)}); const i = m.info(); console.log('oneDNN ' + i.version + ', ' + i.cpuRuntime + ', ' + i.threads + ' threads, ' + i.isa)`;
  return execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function main(): void {
  if (!setting('LGD_NATIVE')) done(true, 'skipped (LGD_NATIVE=0)');
  if (process.platform !== 'linux') done(false, `skipped: only Linux is supported (this is ${process.platform})`);
  if (!force && upToDate()) {
    try {
      done(true, `up to date (${probe()})`);
    } catch {
      console.log('build-native: existing addon does not load, rebuilding');
    }
  }
  if (!dnnlHeader()) {
    const why = tryInstallDnnl();
    if (why || !dnnlHeader()) {
      done(false, `cannot build: oneDNN headers not found (${why ?? 'install did not provide them'}); run: apt-get install libdnnl-dev (then rerun this script). Using the wasm kernels meanwhile.`);
    }
  }
  const missing = ['c++', 'make', 'python3'].filter((c) => !which(c));
  if (missing.length) done(false, `cannot build: missing ${missing.join(', ')} (apt-get install g++ make python3). Using the wasm kernels meanwhile.`);
  const gyp = nodeGyp();
  if (!gyp) done(false, 'cannot build: node-gyp not found (neither in node_modules nor bundled with npm). Using the wasm kernels meanwhile.');
  const dir = nodeDir();
  const gypArgs = [gyp, 'rebuild', '--release', ...(dir ? [`--nodedir=${dir}`] : [])];
  console.log(`build-native: building native/ (oneDNN ${dnnlHeader()}, node-gyp ${dir ? `--nodedir=${dir}` : '(will fetch Node headers)'}) ...`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, gypArgs, { cwd: nativeDir, encoding: 'utf8' });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error|Error|ERR!/.test(l)).slice(0, 8).join('\n  ');
    done(false, `build failed after ${seconds} s; using the wasm kernels. First errors:\n  ${tail}`);
  }
  try {
    done(true, `built ${path.relative(root, addon)} in ${seconds} s (${probe()})`);
  } catch (err) {
    done(false, `built in ${seconds} s but it does not load: ${(err as Error).message.split('\n')[0]}`);
  }
}

main();
