/**
 * Command-line parsing for every script, through Node's `util.parseArgs` in strict mode: an
 * unknown or misspelt option, a missing value or a stray positional stops the command with the
 * option named and the command's usage (exit status 2); `-h` / `--help` prints the usage (exit 0).
 * The `LGD_*` environment is checked at the same time (lib/settings.ts): a bad value stops the
 * command naming the variable; an unknown `LGD_*` name is a warning.
 *
 *   const cli = parseCommandLine({
 *     command: 'train',
 *     usage: 'usage: npx tsx scripts/train.ts --config FILE [--steps N]',
 *     options: { config: { type: 'string' }, steps: { type: 'string' } },
 *   });
 *   const steps = cli.integer('steps', { min: 1 });   // number | undefined
 *   if (!cli.values.config) cli.fail('--config is required');
 */
import { parseArgs } from 'util';
import { checkEnvironment } from '../lib/settings';

/** One option as `util.parseArgs` takes it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

/** What a command accepts. */
export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** The command's name, the prefix of its error lines (`train: ...`). */
  command: string;
  /** The usage text printed with every error and for `--help`. */
  usage: string;
  /** The options (long names without `--`); `help` / `-h` is added. */
  options: O;
  /** Whether positional arguments (e.g. notebook names) are allowed; default false. */
  positionals?: boolean;
  /** The arguments (default `process.argv.slice(2)`). */
  argv?: string[];
  /** Check the `LGD_*` environment too (default true). */
  checkEnv?: boolean;
}

type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? (O[K]['multiple'] extends true ? boolean[] : boolean) : O[K]['multiple'] extends true ? string[] : string;
};

/** A usage error (or `--help`): the message to print and the exit status. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The parsed command line, with helpers for numeric options and usage errors. */
export interface CommandLine<O extends Record<string, OptionSpec>> {
  values: Values<O>;
  positionals: string[];
  /** Stops with `<command>: message` and the usage (exit 2). */
  fail(message: string): never;
  /** A string option read as an integer (undefined when absent); `--name` is named on a bad value. */
  integer(name: keyof O & string, range?: { min?: number }): number | undefined;
  /** A string option read as a finite number (undefined when absent). */
  number(name: keyof O & string, range?: { min?: number }): number | undefined;
}

/**
 * Parses a command line strictly; throws {@link UsageError} (exit status 2, or 0 for `--help`)
 * instead of exiting, so it can be tested in-process. {@link parseCommandLine} is the one scripts call.
 * @example
 *   assert.throws(() => parseCommandLineOrThrow({ command: 'x', usage: 'usage: x', options: {}, argv: ['--bogus'] }), /Unknown option '--bogus'/);
 */
export function parseCommandLineOrThrow<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): CommandLine<O> {
  const fail = (message: string): never => {
    throw new UsageError(`${spec.command}: ${message}\n${spec.usage}`, 2);
  };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: spec.argv ?? process.argv.slice(2),
      options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: spec.positionals ?? false,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) fail(e.message);
    throw err;
  }
  if (parsed.values.help) throw new UsageError(spec.usage, 0);
  if (spec.checkEnv ?? true) {
    let warnings: string[] = [];
    try {
      warnings = checkEnvironment();
    } catch (err) {
      fail((err as Error).message);
    }
    for (const w of warnings) console.warn(`${spec.command}: warning: ${w}`);
  }
  const values = parsed.values as Values<O>;
  const numeric = (name: keyof O & string, integer: boolean, range: { min?: number } = {}): number | undefined => {
    const raw = (values as Record<string, unknown>)[name];
    if (raw === undefined) return undefined;
    const v = Number(raw);
    const ok = String(raw).trim() !== '' && Number.isFinite(v) && (!integer || Number.isInteger(v)) && (range.min === undefined || v >= range.min);
    if (!ok) fail(`--${name} needs ${integer ? 'an integer' : 'a number'}${range.min !== undefined ? ` ≥ ${range.min}` : ''}, got ${JSON.stringify(raw)}`);
    return v;
  };
  return {
    values,
    positionals: parsed.positionals,
    fail,
    integer: (name, range) => numeric(name, true, range),
    number: (name, range) => numeric(name, false, range),
  };
}

/**
 * Parses the command line of a script; on a usage error prints it to stderr and exits with status
 * 2; `--help` prints the usage and exits 0.
 * @example
 *   const cli = parseCommandLine({ command: 'setup', usage: USAGE, options: { only: { type: 'string' } } });
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): CommandLine<O> {
  try {
    const cli = parseCommandLineOrThrow(spec);
    const fail = cli.fail;
    return { ...cli, fail: (message: string): never => exitWith(() => fail(message)), integer: (n, r) => exitWith(() => cli.integer(n, r)), number: (n, r) => exitWith(() => cli.number(n, r)) };
  } catch (err) {
    return exitWith(() => {
      throw err;
    });
  }
}

/** Runs `f`; a UsageError it throws is printed and ends the process with its status. */
function exitWith<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.exitCode === 0) console.log(err.message);
    else console.error(err.message);
    process.exit(err.exitCode);
  }
}
