/**
 * Every `LGD_*` environment variable the workspace reads, in one place: its type, allowed values,
 * default and a one-line description. Library code and scripts read them only through
 * {@link setting}, which validates the value and names the variable when it is wrong:
 *
 *   LGD_BACKEND=tensrflow: expected one of tensorflow|wasm|cpu
 *
 * Values are read from the environment on every call (tests and the notebook runner change it),
 * so nothing is cached. An empty value counts as unset. The README's environment table is
 * generated from {@link SETTINGS} (`npx tsx scripts/readme-settings.ts`; a test keeps them equal).
 *
 * This module is a leaf: it imports nothing from the library, so any layer may use it. Defaults
 * that depend on where the project lies (folders) are applied by the caller; `defaultText` says
 * what they are.
 */
import * as path from 'path';

/** What kind of value a variable takes (shown in the README table). */
export type SettingKind = 'boolean' | 'integer' | 'number' | 'choice' | 'path' | 'command';

/** One variable: how to parse it, its default, and how to describe it. */
export interface SettingSpec<T> {
  kind: SettingKind;
  /** The allowed values of a `choice`. */
  values?: readonly string[];
  /** The value when unset or empty. */
  defaultValue: T;
  /** The default in words (README), e.g. "`../shared/data`" or "all cores". */
  defaultText: string;
  /** One line: what it does and who reads it. */
  description: string;
  /** Parses a non-empty, trimmed value; throws an Error whose message says what was expected. */
  parse(raw: string): T;
}

/** An invalid `LGD_*` value; the message names the variable and its value. */
export class SettingError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string,
    expected: string,
  ) {
    super(`${variable}=${value}: ${expected}`);
    this.name = 'SettingError';
  }
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

function boolean(defaultValue: boolean, description: string): SettingSpec<boolean> {
  return {
    kind: 'boolean',
    defaultValue,
    defaultText: defaultValue ? 'on' : 'off',
    description,
    parse(raw) {
      const v = raw.toLowerCase();
      if (TRUE.includes(v)) return true;
      if (FALSE.includes(v)) return false;
      throw new Error(`expected a boolean (${[...TRUE, ...FALSE].join('|')})`);
    },
  };
}

function choice<const V extends string, D extends V | undefined>(values: readonly V[], defaultValue: D, defaultText: string, description: string): SettingSpec<V | D> {
  return {
    kind: 'choice',
    values,
    defaultValue,
    defaultText,
    description,
    parse(raw) {
      const v = raw.toLowerCase();
      if ((values as readonly string[]).includes(v)) return v as V;
      throw new Error(`expected one of ${values.join('|')}`);
    },
  };
}

function number<D extends number | undefined>(opts: { integer?: boolean; min: number; exclusiveMin?: boolean; unit?: string }, defaultValue: D, defaultText: string, description: string): SettingSpec<number | D> {
  const what = `${opts.integer ? 'an integer' : 'a number'} ${opts.exclusiveMin ? '>' : '≥'} ${opts.min}${opts.unit ? ` (${opts.unit})` : ''}`;
  return {
    kind: opts.integer ? 'integer' : 'number',
    defaultValue,
    defaultText,
    description,
    parse(raw) {
      const v = Number(raw);
      const ok = Number.isFinite(v) && (!opts.integer || Number.isInteger(v)) && (opts.exclusiveMin ? v > opts.min : v >= opts.min);
      if (!ok) throw new Error(`expected ${what}`);
      return v;
    },
  };
}

/** A folder or file, resolved against the current directory. */
function file(defaultText: string, description: string): SettingSpec<string | undefined> {
  return { kind: 'path', defaultValue: undefined, defaultText, description, parse: (raw) => path.resolve(raw) };
}

/** A program: a path or a name looked up on PATH, kept as given. */
function command(defaultText: string, description: string): SettingSpec<string | undefined> {
  return { kind: 'command', defaultValue: undefined, defaultText, description, parse: (raw) => raw };
}

/**
 * The variables, grouped as the README lists them (run, folders, engine, notebooks and figures,
 * tools).
 */
export const SETTINGS = {
  LGD_QUICK: boolean(false, 'CI-sized runs: notebooks on a few small crops, outputs under `results/quick/` (`npm test` sets it)'),
  LGD_RETRAIN: boolean(false, 'notebooks 02, 03 and 05 train their models from `configs/` instead of loading `results/models/`'),
  LGD_DATA_MIRROR: file('`../shared/data`', 'the read-only data mirror that `npm run data` links data sets from'),
  LGD_DATA_DIR: file('`data/`', 'where the data sets are materialised'),
  LGD_RESULTS_DIR: file('`results/` (`results/quick/` when `LGD_QUICK`)', 'where figures and tables go'),
  LGD_MODELS_DIR: file('`results/models/`', 'where trained models are loaded from and exported to'),
  LGD_BACKEND: choice(['tensorflow', 'wasm', 'cpu'] as const, undefined, 'automatic (tensorflow when one registers, else wasm, else cpu)', 'forces a tfjs backend'),
  LGD_ENGINE_QUIET: boolean(false, "leaves out the engine's start-up lines (`engine: ...`, `native convs: ...`)"),
  LGD_NATIVE: boolean(true, 'the optional oneDNN convolution addon on the wasm backend (0: off, and `npm run build:native` skips the build)'),
  LGD_NATIVE_PATH: file('`native/build/Release/lgd_native.node`', 'another build of the native addon'),
  LGD_NATIVE_THREADS: number({ integer: true, min: 1 }, undefined, 'all cores', "the native convolutions' thread count (two trainings side by side on a 2-core machine: 1 each)"),
  LGD_NATIVE_AUTOTUNE: boolean(true, "time oneDNN's implementations for each new convolution shape and keep the fastest (read by the addon)"),
  LGD_NATIVE_TRACE: boolean(false, 'one stderr line per native convolution call and per implementation the autotuner times, flushed at once: the last line before a crash names the convolution and kernel (read by the addon)'),
  LGD_SILENCE_TIMEOUT: number({ min: 0, unit: 's' }, undefined, '1800', "the headless notebook runner fails a cell that sends no output for this many seconds, however long it runs (0: never; `--silence` overrides it)"),
  LGD_CELL_TIMEOUT: number({ min: 0, unit: 's' }, undefined, 'none', "cap on a cell's total time in the headless notebook runner, in seconds (0: none; `--timeout` overrides it)"),
  LGD_KERNEL_STARTUP_TIMEOUT: number({ min: 0, exclusiveMin: true, unit: 's' }, 120, '120', "seconds the headless runner waits for the notebook kernel to start"),
  LGD_DISPLAY: boolean(true, 'inline display of figures and images in a tslab notebook (0: off)'),
  LGD_DISPLAY_NOTES: boolean(false, 'outside a notebook, print one line for each inline display skipped'),
  LGD_PLOTLY_INLINE: choice(['once', 'always', 'never'] as const, 'once', '`once`', 'how notebook figures get plotly.js: once per kernel, with every figure, or never (static images only)'),
  LGD_CHROMIUM: file('`/usr/bin/chromium`', 'the Chromium/Chrome binary that renders figures to PNG/SVG'),
  LGD_BROWSER_IDLE_MS: number({ min: 0, unit: 'ms' }, undefined, '600000 in a notebook, 2000 elsewhere', 'idle time in milliseconds after which the figure-rendering browser closes'),
  LGD_PYTHON: command('the first of `jupyter`\'s python, `/usr/bin/python3`, `python3` that works', 'the Python for the notebook runner (nbclient, ipykernel) and the PyTorch twin (torch)'),
  LGD_TORCH_TWIN: file('`../shared/bench/rim_torch.py`', "the PyTorch twin of the RIM benchmark (`npm run bench -- --torch`)"),
} as const satisfies Record<`LGD_${string}`, SettingSpec<unknown>>;

/** The name of a known variable. */
export type SettingName = keyof typeof SETTINGS;
/** The parsed type of a variable. */
export type SettingValue<K extends SettingName> = (typeof SETTINGS)[K] extends SettingSpec<infer T> ? T : never;

/** Every variable's name, in the README's order. */
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/**
 * The value of one `LGD_*` variable, parsed and validated; its default when unset or empty.
 * @param name the variable
 * @param env the environment to read (default `process.env`)
 * @throws SettingError naming the variable and its value, when the value is not allowed
 * @example
 *   setting('LGD_QUICK')            // false unless LGD_QUICK=1 (or true/yes/on)
 *   setting('LGD_BACKEND')          // 'tensorflow' | 'wasm' | 'cpu' | undefined (automatic)
 *   setting('LGD_CELL_TIMEOUT')     // undefined unless set
 *   setting('LGD_NATIVE_THREADS', { LGD_NATIVE_THREADS: 'two' })
 *   // throws: LGD_NATIVE_THREADS=two: expected an integer ≥ 1
 */
export function setting<K extends SettingName>(name: K, env: NodeJS.ProcessEnv = process.env): SettingValue<K> {
  const spec = SETTINGS[name] as SettingSpec<SettingValue<K>>;
  if (!spec) throw new Error(`setting: ${String(name)} is not a known LGD_* variable (lib/settings.ts lists them)`);
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return spec.defaultValue;
  try {
    return spec.parse(raw.trim());
  } catch (err) {
    throw new SettingError(name, raw, (err as Error).message);
  }
}

/**
 * Checks every `LGD_*` variable in the environment at once: a bad value of a known variable is an
 * error (all of them in one message); an unknown name (a misspelling such as `LGD_QUIK`) is a
 * warning that names the closest known variable.
 * @returns the warnings, one line each
 * @throws Error listing every bad value
 * @example
 *   for (const w of checkEnvironment()) console.warn(w);
 *   checkEnvironment({ LGD_QUIK: '1' })  // ['LGD_QUIK is not a setting of this workspace (did you mean LGD_QUICK?)']
 */
export function checkEnvironment(env: NodeJS.ProcessEnv = process.env): string[] {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const name of Object.keys(env).filter((k) => k.startsWith('LGD_')).sort()) {
    if (name in SETTINGS) {
      try {
        setting(name as SettingName, env);
      } catch (err) {
        errors.push((err as Error).message);
      }
    } else {
      const near = closest(name);
      warnings.push(`${name} is not a setting of this workspace${near ? ` (did you mean ${near}?)` : ''}; lib/settings.ts lists them`);
    }
  }
  if (errors.length) throw new Error(errors.join('\n'));
  return warnings;
}

/** The known name within edit distance 3 of `name`, if any. */
function closest(name: string): string | undefined {
  let best: string | undefined;
  let bestD = 4;
  for (const known of SETTING_NAMES) {
    const d = editDistance(name, known);
    if (d < bestD) [best, bestD] = [known, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The README's environment table, one row per variable: name, values, default, what it does.
 * @example
 *   settingsMarkdown().split('\n')[0]  // '| variable | values | default | what |'
 */
export function settingsMarkdown(): string {
  const values = (s: SettingSpec<unknown>): string => {
    if (s.kind === 'choice') return (s.values ?? []).map((v) => `\`${v}\``).join(' \\| ');
    if (s.kind === 'boolean') return '`1` \\| `0` (also true/false, yes/no, on/off)';
    return s.kind;
  };
  const rows = SETTING_NAMES.map((name) => {
    const s = SETTINGS[name] as SettingSpec<unknown>;
    return `| \`${name}\` | ${values(s)} | ${s.defaultText} | ${s.description} |`;
  });
  return ['| variable | values | default | what |', '|---|---|---|---|', ...rows].join('\n');
}
