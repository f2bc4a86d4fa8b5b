import { strict as assert } from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT, findPython } from '../scripts/setup';
import { notebookFiles, outputProblems, readNotebook } from '../scripts/strip-notebooks';

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

function runRunner(args: string[]): Promise<{ code: number | null; out: string }> {
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [path.join(ROOT, 'scripts', 'run-notebooks.ts'), ...args], { cwd: ROOT, env: { ...process.env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('notebooks', () => {
  it('source notebooks (notebooks/*.ipynb) are committed without outputs', () => {
    const dirty = notebookFiles()
      .map((file) => ({ file: path.relative(ROOT, file), problems: outputProblems(readNotebook(file)) }))
      .filter((d) => d.problems.length > 0)
      .map((d) => `${d.file}: ${d.problems.join('; ')}`);
    assert.deepEqual(dirty, [], `notebooks with outputs (run: npx tsx scripts/strip-notebooks.ts):\n${dirty.join('\n')}`);
  });

  describe('scripts/run-notebooks.ts', function () {
    this.timeout(120_000);
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
      assert.match(out, /\[1\/3\] 10_passes \.\.\. ok/, out);
      assert.match(out, /\[2\/3\] 20_fails \.\.\. FAILED/, out);
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
  });
});
