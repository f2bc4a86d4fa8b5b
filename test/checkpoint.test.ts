import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { RawImage } from '../lib/io/image';
import { checkpointLog, CheckpointState, latestCheckpoint, LogEntry, readLogJsonl, TrainConfigInput, trainLearnedSolver } from '../lib/training';
import { Rng, writeFolderAtomic } from '../lib/util';
import { oldFormatRuns, RUNS_DIR } from './helpers/runs';

/** Smooth random 8-bit gray images. */
function images(n: number, size: number): RawImage[] {
  const rng = new Rng(5);
  return Array.from({ length: n }, () => {
    const data = new Uint8Array(size * size);
    const [fx, fy, ph] = [rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4), rng.uniform(0, 6)];
    for (let i = 0; i < size * size; i++) data[i] = Math.round(127.5 + 100 * Math.sin(fx * Math.floor(i / size) + fy * (i % size) + ph));
    return { data, height: size, width: size, channels: 1 };
  });
}

/** RIM with F = 4, T = 2, batch 2 of 8×8 patches, 6 steps, a checkpoint every 2. */
const config = (name: string): TrainConfigInput => ({
  name,
  model: { kind: 'rim', features: 4, steps: 2 },
  data: { dataset: 'Train400', patchSize: 8, batchSize: 2 },
  steps: 6,
  checkpointEvery: 2,
  optimizer: { lr: 1e-2, clipNorm: 0.5 },
  schedule: { type: 'cosine', minLr: 1e-4 },
  seed: 3,
});

const numbers = (log: readonly LogEntry[]) => log.map((e) => [e.step, e.loss, e.lr, e.gradNorm]);

describe('checkpoints that survive faults', function () {
  this.timeout(120000);
  const imgs = images(4, 20);
  let root: string;
  let reference: { log: LogEntry[]; weights: Float32Array[] };
  let crashed: string; // a run that crashed after step 5: checkpoints at 2 and 4, latest.json -> 4

  /** Resumes a copy of the crashed run, after `damage` changed it; returns the status lines too. */
  async function resumeCopy(name: string, damage: (runDir: string) => void) {
    const runDir = path.join(root, name);
    fs.cpSync(crashed, runDir, { recursive: true });
    damage(runDir);
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const r = await trainLearnedSolver(config('tiny'), { images: imgs, runDir, exportDir: false, figures: false, resume: true, log: (l) => lines.push(l) });
    const weights = r.solver.getWeights();
    const values = weights.map((w) => w.tensor.dataSync() as Float32Array);
    tf.dispose(weights.map((w) => w.tensor));
    r.solver.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
    return { runDir, log: r.log, weights: values, lines };
  }

  /** The resumed run equals the uninterrupted one, bitwise, and so does its log.jsonl. */
  function assertExact(r: { runDir: string; log: LogEntry[]; weights: Float32Array[] }) {
    assert.deepEqual(numbers(r.log), numbers(reference.log));
    r.weights.forEach((w, i) => assert.deepEqual(w, reference.weights[i]));
    assert.deepEqual(numbers(readLogJsonl(path.join(r.runDir, 'log.jsonl'))), numbers(reference.log));
  }

  const fallbackLines = (lines: string[]) => lines.filter((l) => /falling back/.test(l));

  before(async () => {
    await initEngine({ quiet: true });
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-checkpoint-'));
    const full = await trainLearnedSolver(config('tiny'), { images: imgs, runDir: path.join(root, 'reference'), exportDir: false, figures: false, log: () => undefined });
    const weights = full.solver.getWeights();
    reference = { log: full.log, weights: weights.map((w) => w.tensor.dataSync() as Float32Array) };
    tf.dispose(weights.map((w) => w.tensor));
    full.solver.dispose();
    crashed = path.join(root, 'crashed');
    await assert.rejects(
      trainLearnedSolver(config('tiny'), {
        images: imgs,
        runDir: crashed,
        exportDir: false,
        figures: false,
        log: () => undefined,
        onProgress: (p) => {
          if (p.step === 5) throw new Error('simulated crash');
        },
      }),
      /simulated crash/,
    );
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('keeps the log out of state.json: log.jsonl holds one entry per step up to the checkpoint', () => {
    const state = JSON.parse(fs.readFileSync(path.join(crashed, 'checkpoints', 'step-000004', 'state.json'), 'utf8')) as CheckpointState;
    assert.equal(state.log, undefined);
    assert.equal(state.logEntries, 4);
    assert.deepEqual(numbers(readLogJsonl(path.join(crashed, 'log.jsonl'))), numbers(reference.log.slice(0, 4)));
    assert.deepEqual(fs.readdirSync(path.join(crashed, 'checkpoints')).sort(), ['step-000002', 'step-000004']);
  });

  it('killed between a checkpoint write and its rename (half-written temp folder, temp latest.json, half a log line): cleans up and resumes exactly', async () => {
    const r = await resumeCopy('killed', (runDir) => {
      const tmp = path.join(runDir, 'checkpoints', `.step-000006.tmp-${process.pid}-1700000000000-abc123`);
      fs.mkdirSync(tmp);
      fs.writeFileSync(path.join(tmp, 'weights.bin'), new Uint8Array(10));
      fs.writeFileSync(path.join(runDir, `latest.json.${process.pid}.1700000000000.tmp`), '{"step":6,"di');
      fs.appendFileSync(path.join(runDir, 'log.jsonl'), JSON.stringify(reference.log[4]) + '\n{"step":6,"lo');
    });
    assertExact(r);
    assert.equal(r.lines.filter((l) => /cleaned up after an interrupted write/.test(l)).length, 1, r.lines.join('\n'));
    assert.deepEqual(fallbackLines(r.lines), [], 'latest.json was good: no fallback');
    assert.ok(r.lines.some((l) => /resuming tiny from step 4/.test(l)));
    assert.deepEqual(fs.readdirSync(path.join(r.runDir, 'checkpoints')).sort(), ['step-000004', 'step-000006']);
    assert.ok(!fs.readdirSync(r.runDir).some((n) => n.endsWith('.tmp')));
  });

  it('a checkpoint folder renamed without its SHA256SUMS, named by latest.json: one line, then resumes from the previous one', async () => {
    const r = await resumeCopy('nosums', (runDir) => {
      fs.rmSync(path.join(runDir, 'checkpoints', 'step-000004', 'SHA256SUMS'));
    });
    assertExact(r);
    const lines = fallbackLines(r.lines);
    assert.equal(lines.length, 1, r.lines.join('\n'));
    assert.match(lines[0], /latest\.json names fails its check: no SHA256SUMS in .*step-000004.*; falling back to the newest valid checkpoint, step 2/);
  });

  it('a corrupt latest.json: one line, then resumes from the newest valid checkpoint (no SyntaxError)', async () => {
    const r = await resumeCopy('corrupt-latest', (runDir) => fs.writeFileSync(path.join(runDir, 'latest.json'), '{"step":4,"di'));
    assertExact(r);
    const lines = fallbackLines(r.lines);
    assert.equal(lines.length, 1, r.lines.join('\n'));
    assert.match(lines[0], /latest\.json is unreadable .*; falling back to the newest valid checkpoint, step 4/);
  });

  it('a checkpoint failing its SHA-256 check: one line, then resumes from the previous kept checkpoint', async () => {
    const r = await resumeCopy('bitrot', (runDir) => {
      const file = path.join(runDir, 'checkpoints', 'step-000004', 'weights.bin');
      const bytes = fs.readFileSync(file);
      bytes[7] ^= 0x40;
      fs.writeFileSync(file, bytes);
    });
    assertExact(r);
    const lines = fallbackLines(r.lines);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /checksum mismatch for .*weights\.bin.*falling back to the newest valid checkpoint, step 2/);
    assert.deepEqual(fs.readdirSync(path.join(r.runDir, 'checkpoints')).sort(), ['step-000004', 'step-000006'], 'the damaged step 4 was rewritten');
  });

  it('no valid checkpoint at all: an error naming each problem, not a fresh start', async () => {
    const runDir = path.join(root, 'hopeless');
    fs.cpSync(crashed, runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'latest.json'), 'garbage');
    for (const s of ['step-000002', 'step-000004']) fs.rmSync(path.join(runDir, 'checkpoints', s, 'state.json'));
    assert.throws(() => latestCheckpoint(runDir, { warn: () => undefined }), /no valid checkpoint to resume in .*latest\.json is unreadable.*step-000004: checksum check: .*state\.json is missing.*step-000002:/s);
    await assert.rejects(trainLearnedSolver(config('tiny'), { images: imgs, runDir, exportDir: false, figures: false, log: () => undefined }), /no valid checkpoint to resume/);
  });

  it('an old-format checkpoint (the log inside state.json, no log.jsonl) resumes exactly and continues in the new format', async () => {
    const r = await resumeCopy('old-format', (runDir) => {
      // Rewrite step 4 as the format before log.jsonl wrote it: the log embedded, no logEntries.
      const dir = path.join(runDir, 'checkpoints', 'step-000004');
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
      delete state.logEntries;
      state.log = readLogJsonl(path.join(runDir, 'log.jsonl'), 4);
      const files = Object.fromEntries(fs.readdirSync(dir).filter((f) => f !== 'SHA256SUMS').map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]));
      writeFolderAtomic(dir, { ...files, 'state.json': JSON.stringify(state) });
      fs.rmSync(path.join(runDir, 'log.jsonl'));
      fs.rmSync(path.join(runDir, 'checkpoints', 'step-000002'), { recursive: true });
    });
    assertExact(r);
    const state = JSON.parse(fs.readFileSync(path.join(r.runDir, 'checkpoints', 'step-000006', 'state.json'), 'utf8')) as CheckpointState;
    assert.equal(state.log, undefined);
    assert.equal(state.logEntries, 6);
  });

  it('the committed old-format runs (no log.jsonl) resolve to their latest step with their whole log', function () {
    const old = oldFormatRuns();
    if (old.length === 0) this.skip();
    for (const name of old) {
      const runDir = path.join(RUNS_DIR, name);
      const { step } = JSON.parse(fs.readFileSync(path.join(runDir, 'latest.json'), 'utf8')) as { step: number };
      const warnings: string[] = [];
      const latest = latestCheckpoint(runDir, { warn: (l) => warnings.push(l) });
      assert.equal(latest?.step, step, name);
      assert.deepEqual(warnings, [], name);
      const state = JSON.parse(fs.readFileSync(path.join(latest!.dir, 'state.json'), 'utf8')) as CheckpointState;
      const log = checkpointLog(runDir, state);
      assert.equal(log.length, step, name);
      assert.equal(log[log.length - 1].step, step, name);
    }
  });

  it('a log.jsonl that lacks the checkpoint steps is an error naming the file', () => {
    const runDir = path.join(root, 'short-log');
    fs.cpSync(crashed, runDir, { recursive: true });
    const file = path.join(runDir, 'log.jsonl');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
    const state = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoints', 'step-000004', 'state.json'), 'utf8')) as CheckpointState;
    assert.throws(() => checkpointLog(runDir, state), /log\.jsonl holds 2 entries up to step 2, but the checkpoint at step 4 expects 4/);
  });
});

describe('layering: training loads no reporting code', () => {
  it('importing lib/training/train.ts (and lib/training) loads neither lib/report, plotly nor playwright', function () {
    this.timeout(60000);
    const root = path.resolve(__dirname, '..');
    const script =
      "require('./lib/training/train.ts'); require('./lib/training/index.ts');" +
      'console.log(JSON.stringify(Object.keys(require.cache)))';
    const loaded = JSON.parse(execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!) as string[];
    assert.ok(loaded.some((m) => m.endsWith(path.join('lib', 'training', 'train.ts'))), 'the module list is real');
    const offending = loaded.filter((m) => /[\\/]lib[\\/]report[\\/]|plotly|playwright/.test(m));
    assert.deepEqual(offending, []);
  });
});
