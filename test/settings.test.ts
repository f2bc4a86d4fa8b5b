import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { checkEnvironment, setting, SETTING_NAMES, SETTINGS, SettingError, settingsMarkdown } from '../lib/settings';
import { parseCommandLineOrThrow, UsageError } from '../scripts/cli';
import { renderReadmeSettings } from '../scripts/readme-settings';

const ROOT = path.resolve(__dirname, '..');

/** Every .ts file under `dir` (recursively), and the .ipynb notebooks. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') out.push(...sourceFiles(p));
    else if (/\.(ts|ipynb|py)$/.test(e.name)) out.push(p);
  }
  return out;
}

describe('settings (lib/settings.ts)', () => {
  describe('setting()', () => {
    it('gives the default when a variable is unset or empty', () => {
      assert.equal(setting('LGD_QUICK', {}), false);
      assert.equal(setting('LGD_NATIVE', { LGD_NATIVE: '' }), true);
      assert.equal(setting('LGD_BACKEND', { LGD_BACKEND: '  ' }), undefined);
      assert.equal(setting('LGD_PLOTLY_INLINE', {}), 'once');
      assert.equal(setting('LGD_KERNEL_STARTUP_TIMEOUT', {}), 120);
    });

    it('parses booleans in their usual spellings, case-insensitive', () => {
      for (const v of ['1', 'true', 'YES', 'On']) assert.equal(setting('LGD_QUICK', { LGD_QUICK: v }), true, v);
      for (const v of ['0', 'false', 'No', 'OFF']) assert.equal(setting('LGD_NATIVE', { LGD_NATIVE: v }), false, v);
    });

    it('parses choices, numbers and paths', () => {
      assert.equal(setting('LGD_BACKEND', { LGD_BACKEND: ' WASM ' }), 'wasm');
      assert.equal(setting('LGD_NATIVE_THREADS', { LGD_NATIVE_THREADS: '1' }), 1);
      assert.equal(setting('LGD_CELL_TIMEOUT', { LGD_CELL_TIMEOUT: '0' }), 0);
      assert.equal(setting('LGD_BROWSER_IDLE_MS', { LGD_BROWSER_IDLE_MS: '2.5' }), 2.5);
      assert.equal(setting('LGD_DATA_DIR', { LGD_DATA_DIR: 'some/dir' }), path.resolve('some/dir'));
      assert.equal(setting('LGD_PYTHON', { LGD_PYTHON: 'python3' }), 'python3', 'a command stays as given');
    });

    it('rejects a bad value naming the variable, the value and what it expected', () => {
      assert.throws(() => setting('LGD_BACKEND', { LGD_BACKEND: 'tensrflow' }), {
        name: 'SettingError',
        message: 'LGD_BACKEND=tensrflow: expected one of tensorflow|wasm|cpu',
      });
      assert.throws(() => setting('LGD_QUICK', { LGD_QUICK: 'maybe' }), /^SettingError: LGD_QUICK=maybe: expected a boolean \(1\|true\|yes\|on\|0\|false\|no\|off\)$/);
      assert.throws(() => setting('LGD_NATIVE_THREADS', { LGD_NATIVE_THREADS: '0' }), /LGD_NATIVE_THREADS=0: expected an integer ≥ 1/);
      assert.throws(() => setting('LGD_NATIVE_THREADS', { LGD_NATIVE_THREADS: '1.5' }), /LGD_NATIVE_THREADS=1\.5: expected an integer/);
      assert.throws(() => setting('LGD_CELL_TIMEOUT', { LGD_CELL_TIMEOUT: '-1' }), /LGD_CELL_TIMEOUT=-1: expected a number ≥ 0 \(s\)/);
      assert.throws(() => setting('LGD_KERNEL_STARTUP_TIMEOUT', { LGD_KERNEL_STARTUP_TIMEOUT: '0' }), /LGD_KERNEL_STARTUP_TIMEOUT=0: expected a number > 0/);
      assert.throws(() => setting('LGD_PLOTLY_INLINE', { LGD_PLOTLY_INLINE: 'sometimes' }), SettingError);
    });

    it('reads process.env on every call (no caching)', () => {
      const saved = process.env.LGD_DISPLAY_NOTES;
      try {
        process.env.LGD_DISPLAY_NOTES = '1';
        assert.equal(setting('LGD_DISPLAY_NOTES'), true);
        process.env.LGD_DISPLAY_NOTES = '0';
        assert.equal(setting('LGD_DISPLAY_NOTES'), false);
      } finally {
        if (saved === undefined) delete process.env.LGD_DISPLAY_NOTES;
        else process.env.LGD_DISPLAY_NOTES = saved;
      }
    });
  });

  describe('checkEnvironment()', () => {
    it('lists every bad value in one error', () => {
      assert.throws(
        () => checkEnvironment({ LGD_BACKEND: 'gpu', LGD_QUICK: '2', LGD_NATIVE: '1' }),
        (err: Error) => /LGD_BACKEND=gpu: expected one of/.test(err.message) && /LGD_QUICK=2: expected a boolean/.test(err.message) && !/LGD_NATIVE=/.test(err.message),
      );
    });

    it('warns about an unknown LGD_ name, suggesting the closest known one', () => {
      assert.deepEqual(checkEnvironment({ LGD_QUICK: '1', PATH: '/bin' }), []);
      const w = checkEnvironment({ LGD_QUIK: '1', LGD_ZZZZZZZZZZZZ: 'x' });
      assert.equal(w.length, 2);
      assert.match(w[0], /^LGD_QUIK is not a setting of this workspace \(did you mean LGD_QUICK\?\)/);
      assert.match(w[1], /^LGD_ZZZZZZZZZZZZ is not a setting of this workspace; /);
    });
  });

  describe('one list, everywhere', () => {
    it('declares each variable with a description, a default in words, and values for choices', () => {
      assert.ok(SETTING_NAMES.length >= 20, `only ${SETTING_NAMES.length} variables`);
      for (const name of SETTING_NAMES) {
        const s = SETTINGS[name];
        assert.match(name, /^LGD_[A-Z0-9_]+$/);
        assert.ok(s.description.length > 10, `${name}: description`);
        assert.ok(s.defaultText.length > 0, `${name}: default`);
        if (s.kind === 'choice') assert.ok(((s as { values?: readonly string[] }).values ?? []).length > 1, `${name}: values`);
      }
    });

    it('the README holds exactly the generated table (npx tsx scripts/readme-settings.ts), naming every variable', () => {
      const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      assert.equal(renderReadmeSettings(readme), readme, 'README table is stale: run npx tsx scripts/readme-settings.ts');
      for (const name of SETTING_NAMES) assert.ok(readme.includes(`| \`${name}\` |`), `${name} missing from the README table`);
      assert.equal(settingsMarkdown().split('\n').length, SETTING_NAMES.length + 2);
    });

    it('no process.env.LGD_ read outside lib/settings.ts, and every LGD_ name used is declared', () => {
      const files = [...sourceFiles(path.join(ROOT, 'lib')), ...sourceFiles(path.join(ROOT, 'scripts')), ...sourceFiles(path.join(ROOT, 'notebooks'))];
      assert.ok(files.some((f) => f.endsWith(path.join('lib', 'engine', 'index.ts'))), 'the scan found the library');
      const reads: string[] = [];
      const undeclared: string[] = [];
      for (const file of files) {
        if (file === path.join(ROOT, 'lib', 'settings.ts')) continue;
        const text = fs.readFileSync(file, 'utf8');
        const rel = path.relative(ROOT, file);
        text.split('\n').forEach((line, i) => {
          if (/process\.env(\.LGD_|\[\s*['"`]LGD_)|os\.environ.*LGD_|getenv\(\s*['"]LGD_/.test(line)) reads.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
        for (const m of text.matchAll(/LGD_[A-Z][A-Z0-9_]*/g)) if (!(m[0] in SETTINGS)) undeclared.push(`${rel}: ${m[0]}`);
      }
      assert.deepEqual(reads, [], 'read these through setting() from lib/settings.ts');
      assert.deepEqual([...new Set(undeclared)], [], 'declare these in lib/settings.ts');
    });
  });
});

describe('command lines (scripts/cli.ts, util.parseArgs strict)', () => {
  const spec = {
    command: 'demo',
    usage: 'usage: demo [--name X] [--steps N] [--fast]',
    options: { name: { type: 'string' as const }, steps: { type: 'string' as const }, fast: { type: 'boolean' as const } },
    checkEnv: false,
  };
  const fails = (argv: string[], pattern: RegExp, exitCode = 2) =>
    assert.throws(
      () => parseCommandLineOrThrow({ ...spec, argv }),
      (err: unknown) => err instanceof UsageError && err.exitCode === exitCode && pattern.test(err.message) && err.message.includes(spec.usage),
    );

  it('parses known options, --x=y and numbers', () => {
    const cli = parseCommandLineOrThrow({ ...spec, argv: ['--name=a', '--steps', '12', '--fast'] });
    assert.deepEqual({ ...cli.values }, { name: 'a', steps: '12', fast: true });
    assert.equal(cli.integer('steps', { min: 1 }), 12);
    assert.equal(parseCommandLineOrThrow({ ...spec, argv: [] }).integer('steps'), undefined);
  });

  it('stops on an unknown or misspelt option, naming it, with the usage', () => {
    fails(['--nmae', 'a'], /^demo: Unknown option '--nmae'/);
    fails(['-x'], /^demo: Unknown option '-x'/);
  });

  it('stops on a missing value, a stray positional and a bad number', () => {
    fails(['--name'], /^demo: Option '--name <value>' argument missing/);
    fails(['extra'], /^demo: Unexpected argument 'extra'/);
    assert.throws(() => parseCommandLineOrThrow({ ...spec, argv: ['--steps', 'ten'] }).integer('steps'), /demo: --steps needs an integer, got "ten"/);
    assert.throws(() => parseCommandLineOrThrow({ ...spec, argv: ['--steps', '0'] }).integer('steps', { min: 1 }), /--steps needs an integer ≥ 1, got "0"/);
  });

  it('--help / -h gives the usage with exit status 0', () => {
    fails(['--help'], /^usage: demo/, 0);
    fails(['-h'], /^usage: demo/, 0);
  });

  it('stops on a bad LGD_* value in the environment, naming it', () => {
    const saved = process.env.LGD_PLOTLY_INLINE;
    process.env.LGD_PLOTLY_INLINE = 'sometimes';
    try {
      assert.throws(() => parseCommandLineOrThrow({ ...spec, checkEnv: true, argv: [] }), /^UsageError: demo: LGD_PLOTLY_INLINE=sometimes: expected one of once\|always\|never/);
    } finally {
      if (saved === undefined) delete process.env.LGD_PLOTLY_INLINE;
      else process.env.LGD_PLOTLY_INLINE = saved;
    }
  });

  describe('scripts, spawned', function () {
    this.timeout(60_000);
    const run = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = spawnSync('npx', ['tsx', `scripts/${script}.ts`, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };

    it('train --bogus exits 2 naming --bogus, with its usage', () => {
      const r = run('train', ['--config', 'configs/none.json', '--bogus']);
      assert.equal(r.status, 2, r.out);
      assert.match(r.out, /^train: Unknown option '--bogus'/m);
      assert.match(r.out, /^usage: npx tsx scripts\/train\.ts --config/m);
    });

    it('setup --onyl (misspelt --only) exits 2 naming it, before doing any step', () => {
      const r = run('setup', ['--onyl', 'data']);
      assert.equal(r.status, 2, r.out);
      assert.match(r.out, /^setup: Unknown option '--onyl'/m);
      assert.doesNotMatch(r.out, /setup: (data|jupyter|native)/);
    });

    it('setup --with a step that is not optional exits 2 naming the optional steps, before doing any step', () => {
      const r = run('setup', ['--with', 'data']);
      assert.equal(r.status, 2, r.out);
      assert.match(r.out, /^setup: --with: data is not an optional step; optional steps: torch/m);
      assert.doesNotMatch(r.out, /setup: (data|jupyter|native|torch) /);
    });

    it('export-checkpoint with a bad LGD_BACKEND exits 2 naming the variable', () => {
      const r = run('export-checkpoint', ['--checkpoint', 'x', '--name', 'y'], { LGD_BACKEND: 'tensrflow' });
      assert.equal(r.status, 2, r.out);
      assert.match(r.out, /export-checkpoint: LGD_BACKEND=tensrflow: expected one of tensorflow\|wasm\|cpu/);
    });
  });
});
