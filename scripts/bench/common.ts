/**
 * Small helpers shared by the benchmark scripts (`scripts/bench.ts`, `scripts/bench-native.ts`):
 * clocks, medians, argument parsing (util.parseArgs, strict, through scripts/cli.ts), and the machine-load checks (this is a shared 2-core machine,
 * where any other busy process distorts multi-threaded timings).
 */
import * as fs from 'fs';
import * as os from 'os';
import { parseCommandLine } from '../cli';

/** Milliseconds now: wall-clock, or this process's CPU time (user + system) when `cpu`. */
export function makeClock(cpu: boolean): () => number {
  return cpu
    ? (): number => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      }
    : (): number => performance.now();
}

/** The median (upper median for an even count). */
export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Arithmetic mean (the library's one helper). */
export { mean } from '../../lib/metrics/mean';

/** Rounds to 0.1 (ms in JSON output). */
export function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** The options of a benchmark script, by kind (names with their `--`). */
export interface BenchOptions {
  flags: readonly string[];
  numbers: readonly string[];
  strings?: readonly string[];
}

/**
 * Command-line access: `flag('--x')`, `num('--iters', 5)`, `str('--out')`, parsed strictly: an
 * option not declared in `options` (or a number option without a number) stops the script with
 * its name and `usage` (exit 2).
 * @example
 *   const args = cli('bench', 'usage: npm run bench -- [--torch] [--iters N]', { flags: ['--torch'], numbers: ['--iters'] });
 *   const iters = args.num('--iters', 5);
 */
export function cli(command: string, usage: string, options: BenchOptions, argv: string[] = process.argv.slice(2)) {
  const spec: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const f of options.flags) spec[f.replace(/^--/, '')] = { type: 'boolean' };
  for (const n of [...options.numbers, ...(options.strings ?? [])]) spec[n.replace(/^--/, '')] = { type: 'string' };
  const parsed = parseCommandLine({ command, usage, argv, options: spec });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const known = (name: string, kind: readonly string[]): string => {
    if (!kind.includes(name)) throw new Error(`${command}: ${name} is not declared as this kind of option`);
    return name.replace(/^--/, '');
  };
  return {
    flag: (name: string): boolean => values[known(name, options.flags)] === true,
    num(name: string, fallback: number): number {
      return parsed.number(known(name, options.numbers)) ?? fallback;
    },
    str(name: string): string | undefined {
      return values[known(name, options.strings ?? [])] as string | undefined;
    },
  };
}

/** The 1-minute load average and the core count, for the record. */
export function machineLoad(): { load1: number; cores: number } {
  return { load1: Math.round(os.loadavg()[0] * 100) / 100, cores: os.availableParallelism() };
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Busy fraction of all CPUs over `ms` (from /proc/stat; 0 where unavailable). */
export function busyFraction(ms: number): number {
  const read = (): [number, number] => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    return [f.reduce((a, b) => a + b, 0), idle];
  };
  try {
    const [t0, i0] = read();
    sleepMs(ms);
    const [t1, i1] = read();
    return t1 > t0 ? 1 - (i1 - i0) / (t1 - t0) : 0;
  } catch {
    return 0;
  }
}

/**
 * Waits (up to `maxMs`, default 10 min) until the machine is idle (< 10% busy over 2 s); prints
 * what it waited for. Returns false when it gave up (the timings that follow are contended).
 */
export function waitQuiet(what: string, maxMs = 600_000): boolean {
  const deadline = Date.now() + maxMs;
  let busy = busyFraction(2000);
  if (busy < 0.1) return true;
  process.stderr.write(`(waiting for an idle machine before ${what}: ${(100 * busy).toFixed(0)}% busy`);
  while (busy >= 0.1 && Date.now() < deadline) busy = busyFraction(2000);
  process.stderr.write(busy < 0.1 ? ', now idle)\n' : ', gave up: timings are contended)\n');
  return busy < 0.1;
}

/**
 * The machine's CPU as read from it: the model (os.cpus()), the cores Node may use, and the
 * widest SIMD sets that /proc/cpuinfo's flags name (Linux; elsewhere the model and cores only),
 * e.g. 'AMD EPYC, 2 cores, AVX2, AVX-512 (bf16, VNNI)'.
 */
export function cpuLine(): string {
  const parts = [os.cpus()[0]?.model?.trim() || 'unknown CPU', `${os.availableParallelism()} cores`];
  let flags = new Set<string>();
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^flags\s*:/.test(l));
    if (line) flags = new Set(line.split(':')[1].trim().split(/\s+/));
  } catch {
    // not Linux: no flags
  }
  if (flags.has('avx2')) parts.push('AVX2');
  else if (flags.has('avx')) parts.push('AVX');
  if (flags.has('avx512f')) {
    const extras = [['avx512_bf16', 'bf16'], ['avx512_vnni', 'VNNI'], ['avx512_fp16', 'fp16']].filter(([f]) => flags.has(f)).map(([, name]) => name);
    parts.push(`AVX-512${extras.length ? ` (${extras.join(', ')})` : ''}`);
  }
  if (flags.has('amx_tile')) parts.push('AMX');
  return parts.join(', ');
}
