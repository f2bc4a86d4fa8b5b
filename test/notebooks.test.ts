import { strict as assert } from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  closeRun,
  emptyState,
  finishedInRun,
  loadState,
  notebookHash,
  recordFinished,
  saveState,
  startRun,
} from '../scripts/notebook-state';
import { ROOT, findPython } from '../scripts/setup';
import { staleDistFile } from '../scripts/run-notebooks';
import { CELL_ID, assignCellIds, formatNotebook, idProblems, notebookFiles, outputProblems, readNotebook, stripNotebook } from '../scripts/strip-notebooks';

/** A minimal nbformat-4 notebook for the project's tslab kernel. */
function notebook(cells: string[]): string {
  return JSON.stringify(
    {
      cells: cells.map((src) => ({
        cell_type: 'code',
        execution_count: null,
        metadata: {},
        outputs: [],
        source: src,
      })),
      metadata: { kernelspec: { display_name: 'TypeScript (lgd-workspace)', language: 'typescript', name: 'tslab' } },
      nbformat: 4,
      nbformat_minor: 5,
    },
    null,
    1,
  );
}

function runRunner(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [path.join(ROOT, 'scripts', 'run-notebooks.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('notebooks', () => {
  it('source notebooks (notebooks/*.ipynb) are committed without outputs and with cell ids', () => {
    const dirty = notebookFiles()
      .map((file) => ({ file: path.relative(ROOT, file), problems: outputProblems(readNotebook(file)) }))
      .filter((d) => d.problems.length > 0)
      .map((d) => `${d.file}: ${d.problems.join('; ')}`);
    assert.deepEqual(dirty, [], `notebooks with outputs or without cell ids (run: npx tsx scripts/strip-notebooks.ts):\n${dirty.join('\n')}`);
  });

  it('every cell of notebooks/*.ipynb has a valid id, unique in its notebook, under nbformat 4.5', () => {
    const files = notebookFiles();
    assert.ok(files.length > 0, 'no notebooks found in notebooks/');
    for (const file of files) {
      const nb = readNotebook(file) as { cells: { id?: string }[]; nbformat?: number; nbformat_minor?: number };
      const rel = path.relative(ROOT, file);
      assert.equal(nb.nbformat, 4, rel);
      assert.ok((nb.nbformat_minor ?? 0) >= 5, `${rel}: nbformat_minor ${nb.nbformat_minor}`);
      const ids = nb.cells.map((c) => c.id);
      for (const [i, id] of ids.entries()) assert.ok(typeof id === 'string' && CELL_ID.test(id), `${rel}: cell ${i} id ${JSON.stringify(id)}`);
      assert.equal(new Set(ids).size, ids.length, `${rel}: repeated cell ids`);
    }
  });

  describe('scripts/strip-notebooks.ts cell ids', () => {
    const cell = (source: string, id?: string) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null, ...(id ? { id } : {}) });

    it('keeps valid ids, gives the others stable unique ids and bumps nbformat_minor to 5', () => {
      const make = () => ({ nbformat: 4, nbformat_minor: 4, cells: [cell('a = 1', 'keep-me'), cell('b = 2'), cell('b = 2'), cell('c', 'keep-me'), cell('d', 'bad id!')] });
      const nb = assignCellIds(make());
      const ids = nb.cells.map((c) => c.id as string);
      assert.equal(ids[0], 'keep-me');
      assert.equal(new Set(ids).size, 5, `ids not unique: ${ids}`);
      for (const id of ids) assert.match(id, CELL_ID);
      assert.equal(nb.nbformat_minor, 5);
      assert.deepEqual(idProblems(nb), []);
      // The same notebook stripped elsewhere gets the same ids.
      assert.deepEqual(assignCellIds(make()).cells.map((c) => c.id), ids);
    });

    it('names missing, invalid and repeated ids as problems; stripping fixes them and keeps sources', () => {
      const nb = { nbformat: 4, nbformat_minor: 5, cells: [cell('x', 'same'), cell('y', 'same'), cell('z'), cell('w', 'bad id!')] };
      const problems = idProblems(nb).join('; ');
      assert.match(problems, /1 cell\(s\) without an id \(cell 2\)/);
      assert.match(problems, /cell 1: id same repeats/);
      assert.match(problems, /cell 3: invalid id "bad id!"/);
      const once = formatNotebook(stripNotebook(nb));
      assert.deepEqual(outputProblems(JSON.parse(once)), []);
      assert.deepEqual(nb.cells.map((c) => c.source), ['x', 'y', 'z', 'w']);
      assert.equal(formatNotebook(stripNotebook(JSON.parse(once))), once, 'stripping twice changes nothing');
    });
  });

  describe('scripts/notebook-state.ts (what a resumed run skips)', () => {
    let dir = '';
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-nbstate-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const rec = (sha256: string) => ({ sha256, finished: '2025-01-01T00:00:00.000Z', seconds: 12, cells: { '1': 10 } });

    it('skips a notebook only when it finished in the open run with the same source and its output exists', () => {
      const out = path.join(dir, 'a.ipynb');
      fs.writeFileSync(out, '{}');
      const state = emptyState();
      const { run, resumed } = startRun(state, 'full', true);
      assert.equal(resumed, false, 'nothing to resume in an empty state');
      recordFinished(state, run, 'a', 'full', rec('h1'));
      saveState(dir, state);

      const again = loadState(dir);
      const next = startRun(again, 'full', true);
      assert.equal(next.resumed, true);
      assert.equal(next.run.id, run.id);
      assert.ok(finishedInRun(again, next.run, 'a', 'full', 'h1', out), 'unchanged and present: skipped');
      assert.equal(finishedInRun(again, next.run, 'a', 'full', 'h2', out), undefined, 'source changed: runs again');
      assert.equal(finishedInRun(again, next.run, 'a', 'quick', 'h1', out), undefined, 'other mode: runs');
      assert.equal(finishedInRun(again, next.run, 'a', 'full', 'h1', path.join(dir, 'gone.ipynb')), undefined, 'output missing: runs again');

      // Without --resume (or after a finished run) a new run starts and nothing is skipped.
      const fresh = startRun(loadState(dir), 'full', false, new Date(Date.parse(run.started) + 1000));
      assert.equal(fresh.resumed, false);
      assert.equal(finishedInRun(again, fresh.run, 'a', 'full', 'h1', out), undefined);
      closeRun(again, 'full');
      assert.equal(startRun(again, 'full', true).resumed, false, 'a closed run is not resumed');
    });

    it('hashes what a notebook is (cell types and sources), not its outputs or ids', () => {
      const write = (name: string, cells: object[]) => {
        const f = path.join(dir, name);
        fs.writeFileSync(f, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }));
        return f;
      };
      const base = notebookHash(write('a.ipynb', [{ cell_type: 'code', source: ['x = 1\n', 'y'], outputs: [] }]));
      const withOutput = notebookHash(write('b.ipynb', [{ cell_type: 'code', id: 'abc', source: 'x = 1\ny', outputs: [{ output_type: 'stream', text: 'hi' }] }]));
      const edited = notebookHash(write('c.ipynb', [{ cell_type: 'code', source: 'x = 2\ny', outputs: [] }]));
      assert.equal(withOutput, base);
      assert.notEqual(edited, base);
    });

    it('an unreadable state file is ignored with one line naming it', () => {
      fs.writeFileSync(path.join(dir, 'runner-state.json'), '{"version": 1, "notebooks": {');
      const lines: string[] = [];
      const s = loadState(dir, (l) => lines.push(l));
      assert.deepEqual(s, emptyState());
      assert.equal(lines.length, 1);
      assert.match(lines[0], /runner-state\.json/);
    });
  });

  it('the runner finds a lib/ file newer than its dist/ build (so it builds before running the notebooks); tests and types do not count', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-dist-'));
    try {
      const write = (rel: string, ageSeconds: number) => {
        const file = path.join(root, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, '');
        const t = Date.now() / 1000 - ageSeconds;
        fs.utimesSync(file, t, t);
      };
      write('lib/a.ts', 100);
      write('lib/sub/b.ts', 100);
      write('lib/sub/b.test.ts', 1);
      write('lib/types.d.ts', 1);
      write('dist/a.js', 50);
      assert.equal(staleDistFile(root), path.join('lib', 'sub', 'b.ts'), 'missing build');
      write('dist/sub/b.js', 50);
      assert.equal(staleDistFile(root), null);
      write('lib/a.ts', 10);
      assert.equal(staleDistFile(root), path.join('lib', 'a.ts'), 'edited after the build');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  describe('scripts/run-notebooks.ts', function () {
    this.timeout(180_000);
    let tmp = '';

    before(function () {
      if (!findPython()) {
        console.log('      (skipped: Jupyter is absent — no python with nbclient + ipykernel; run `npm run setup -- --only jupyter`)');
        this.skip();
      }
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-nbtest-'));
    });

    after(() => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('runs notebooks in order, stops at a failing cell, exits non-zero and names the notebook and the cell', async () => {
      const nbDir = path.join(tmp, 'nbs');
      const outDir = path.join(tmp, 'out');
      fs.mkdirSync(nbDir);
      fs.writeFileSync(
        path.join(nbDir, '10_passes.ipynb'),
        notebook([
          "const quick = process.env.LGD_QUICK ?? 'unset';\nconsole.log(`quick=${quick} cwd=${process.cwd()}`)",
          'const answer = await Promise.resolve(42);\nconsole.log(`answer=${answer}`)',
        ]),
      );
      fs.writeFileSync(
        path.join(nbDir, '20_fails.ipynb'),
        notebook([
          "console.log('before the failure')",
          'const n: number = 1;',
          "function explode(): never { throw new RangeError('deliberate failure 4711'); }\nexplode();",
          "console.log('never reached')",
        ]),
      );
      fs.writeFileSync(path.join(nbDir, '30_not_run.ipynb'), notebook(["console.log('not run')"]));

      const { code, out } = await runRunner(['--out', outDir, nbDir]);

      assert.notEqual(code, 0, `runner should fail; output:\n${out}`);
      assert.match(out, /\[1\/3\] 10_passes ok/, out);
      assert.match(out, /\[2\/3\] 20_fails FAILED/, out);
      // Headless progress: each cell's start and the notebook's own output lines.
      assert.match(out, /cell 2\/2 \[index 1\]: const answer = await Promise\.resolve\(42\);/, out);
      assert.match(out, /\| answer=42/, out);
      assert.match(out, /notebook: .*20_fails\.ipynb/, out);
      assert.match(out, /cell: +index 2 \(code cell 3 of 4/, out);
      assert.match(out, /source: +function explode\(\): never/, out);
      assert.match(out, /error: +RangeError: deliberate failure 4711/, out);
      assert.doesNotMatch(out, /30_not_run/, 'the run must stop at the first failing notebook');

      // The passing notebook was executed with LGD_QUICK=1, top-level await, and its folder as cwd.
      const passed = JSON.parse(fs.readFileSync(path.join(outDir, '10_passes.ipynb'), 'utf8'));
      const text = passed.cells.flatMap((c: { outputs: { text?: string | string[] }[] }) => c.outputs.map((o) => [o.text ?? ''].flat().join(''))).join('');
      assert.match(text, new RegExp(`quick=1 cwd=${fs.realpathSync(nbDir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(text, /answer=42/);
      // The failing one left only its partial copy.
      assert.ok(!fs.existsSync(path.join(outDir, '20_fails.ipynb')));
      assert.ok(fs.existsSync(path.join(outDir, '20_fails.failed.ipynb')));
      assert.ok(!fs.existsSync(path.join(outDir, '30_not_run.ipynb')));
    });

    it('a kernel that does not start is retried with a fresh kernel, twice, then the run fails naming the start-up', async () => {
      const nbDir = path.join(tmp, 'nostart');
      fs.mkdirSync(nbDir);
      fs.writeFileSync(path.join(nbDir, '10_any.ipynb'), notebook(["console.log('ran')"]));
      // The tslab kernel process is started but never answers (a preload blocks it), as a kernel
      // stuck on a racing socket does; a 50 ms limit alone is not enough, since nbclient waits up
      // to a second for the first reply before it looks at the clock, and a fast machine's
      // kernel answers within that second.
      const hang = path.join(tmp, 'hang-tslab-kernel.cjs');
      fs.writeFileSync(
        hang,
        "const a = process.argv;\n" +
          "if (/tslab[\\\\/]bin[\\\\/]tslab$/.test(a[1] ?? '') && a.includes('kernel')) {\n" +
          "  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600000);\n" +
          "}\n",
      );
      const nodeOptions = [process.env.NODE_OPTIONS, `--require=${hang}`].filter(Boolean).join(' ');
      const { code, out } = await runRunner(['--out', path.join(tmp, 'nostart-out'), nbDir], { LGD_KERNEL_STARTUP_TIMEOUT: '0.05', NODE_OPTIONS: nodeOptions });
      assert.notEqual(code, 0, out);
      assert.match(out, /10_any: the kernel did not start \(RuntimeError: Kernel didn't respond in \d+ seconds\); fresh kernel, retry 1 of 2/, out);
      assert.match(out, /retry 2 of 2/, out);
      assert.doesNotMatch(out, /retry 3/, out);
      assert.match(out, /stage: +kernel start-up \(RuntimeError\)/, out);
    });

    it('times out on silence, not on a cell\'s total time, and names the notebook, the cell and the limit', async () => {
      const nbDir = path.join(tmp, 'silence');
      const outDir = path.join(tmp, 'silence-out');
      fs.mkdirSync(nbDir);
      const sleep = 'const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));';
      // 4 s in all, never 2 s without a line: passes a 2 s silence limit.
      fs.writeFileSync(path.join(nbDir, '10_talks.ipynb'), notebook([sleep, 'for (let i = 0; i < 8; i++) {\n  await sleep(500);\n  console.log(`tick ${i}`);\n}']));
      fs.writeFileSync(path.join(nbDir, '20_silent.ipynb'), notebook([sleep, "console.log('going quiet');", "await sleep(8000);\nconsole.log('woke up')"]));

      const t0 = Date.now();
      const { code, out } = await runRunner(['--out', outDir, '--silence', '2', nbDir]);

      assert.notEqual(code, 0, out);
      assert.match(out, /silence limit 2\.0 s/, out);
      assert.match(out, /\[1\/2\] 10_talks ok/, out);
      assert.match(out, /\| tick 7/, out);
      assert.match(out, /\[2\/2\] 20_silent FAILED/, out);
      assert.match(out, /notebook: .*20_silent\.ipynb/, out);
      assert.match(out, /cell: +index 2 \(code cell 3 of 3/, out);
      assert.match(out, /source: +await sleep\(8000\);/, out);
      assert.match(out, /error: +no output from the cell for [\d.]+ s \(silence limit 2 s/, out);
      assert.doesNotMatch(out, /woke up/, 'the silent cell must be stopped, not waited for');
      assert.ok(fs.existsSync(path.join(outDir, '10_talks.ipynb')));
      assert.ok(Date.now() - t0 < 60_000, 'the silent cell was not stopped early');
    });

    it('errors thrown in the library point into lib/*.ts (source maps), not dist/*.js', async function () {
      const built = path.join(ROOT, 'dist', 'settings.js');
      if (!fs.existsSync(`${built}.map`)) {
        console.log('      (skipped: dist/ is not built with source maps; run `npm run build`)');
        this.skip();
      }
      const nbDir = path.join(tmp, 'maps');
      fs.mkdirSync(nbDir);
      fs.writeFileSync(
        path.join(nbDir, '10_throws.ipynb'),
        notebook([`const { setting } = require(${JSON.stringify(built)});\nsetting('LGD_NATIVE_THREADS', { LGD_NATIVE_THREADS: 'two' });`]),
      );
      const { code, out } = await runRunner(['--out', path.join(tmp, 'maps-out'), nbDir]);
      assert.notEqual(code, 0, out);
      assert.match(out, /error: +SettingError: LGD_NATIVE_THREADS=two/, out);
      assert.match(out, /at setting \(.*lib\/settings\.ts:\d+:\d+\)/, out);
      assert.doesNotMatch(out, /dist\/settings\.js:\d+/, out);
    });

    it('a failed --full run resumes after the notebooks that finished; a finished run starts over', async () => {
      const nbDir = path.join(tmp, 'resume');
      const outDir = path.join(tmp, 'resume-out');
      fs.mkdirSync(nbDir);
      // The kernel's cwd is nbDir: 10 notes each execution in runs.log; 20 fails until the file `go` exists.
      fs.writeFileSync(path.join(nbDir, '10_first.ipynb'), notebook(["import * as fs from 'fs';\nfs.appendFileSync('runs.log', 'first\\n');"]));
      fs.writeFileSync(path.join(nbDir, '20_second.ipynb'), notebook(["import * as fs from 'fs';\nif (!fs.existsSync('go')) throw new Error('not yet 5150');\nfs.appendFileSync('runs.log', 'second\\n');"]));
      const runs = () => fs.readFileSync(path.join(nbDir, 'runs.log'), 'utf8').trim().split('\n');

      const first = await runRunner(['--full', '--out', outDir, nbDir]);
      assert.equal(first.code, 1, first.out);
      assert.match(first.out, /not yet 5150/, first.out);
      assert.match(first.out, /the same command resumes at 20_second/, first.out);
      assert.deepEqual(runs(), ['first']);

      fs.writeFileSync(path.join(nbDir, 'go'), '');
      const second = await runRunner(['--full', '--out', outDir, nbDir]);
      assert.equal(second.code, 0, second.out);
      assert.match(second.out, /resuming the unfinished full run .*1 of 2 already finished/, second.out);
      assert.match(second.out, /\[1\/2\] 10_first: skipped/, second.out);
      assert.match(second.out, /\[2\/2\] 20_second ok/, second.out);
      assert.deepEqual(runs(), ['first', 'second'], 'the finished notebook must not run again');

      // That run finished: the next one runs everything, with an ETA from the recorded times.
      const third = await runRunner(['--full', '--out', outDir, nbDir]);
      assert.equal(third.code, 0, third.out);
      assert.doesNotMatch(third.out, /skipped/, third.out);
      assert.match(third.out, /ETA \d\d:\d\d/, third.out);
      assert.deepEqual(runs(), ['first', 'second', 'first', 'second']);
    });
  });
});
