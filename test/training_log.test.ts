import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { placeLabels, runComparison, trainingCurve } from '../lib/report/training_curve';
import { LogEntry, readLogJsonl, RunLog, runningMean } from '../lib/training/log';

const entry = (step: number): LogEntry => ({ step, loss: 1 / (step + 0.1), lr: 1e-3 * step, gradNorm: Math.PI * step, wallTime: step * 0.37, stepTime: 0.37, engine: 'wasm' });

describe('training log (log.jsonl)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-log-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('appends only the entries not yet written, one JSON line each, and reads them back exactly', () => {
    const log = new RunLog(dir);
    const entries = [1, 2, 3].map(entry);
    log.reset([]);
    log.append(entries.slice(0, 2));
    log.append(entries);
    log.append(entries); // nothing new
    const lines = fs.readFileSync(log.file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 3);
    assert.deepEqual(readLogJsonl(log.file), entries, 'numbers round-trip exactly');
    assert.equal(log.length, 3);
  });

  it('reset replaces the file (a fresh run over an old log, or a resumed one cut at its checkpoint)', () => {
    const log = new RunLog(dir);
    log.reset([1, 2, 3, 4].map(entry));
    log.reset([1, 2].map(entry));
    log.append([1, 2, 3].map(entry));
    assert.deepEqual(readLogJsonl(log.file).map((e) => e.step), [1, 2, 3]);
    assert.throws(() => log.append([entry(1)]), /holds 3 entries but only 1 were given/);
  });

  it('reads up to a step: entries past a checkpoint are dropped', () => {
    const log = new RunLog(dir);
    log.reset([1, 2, 3, 4, 5].map(entry));
    assert.deepEqual(readLogJsonl(log.file, 3).map((e) => e.step), [1, 2, 3]);
  });

  it('ignores a last line cut short by a crash, but names the file and line of a bad line before the end', () => {
    const file = path.join(dir, 'log.jsonl');
    const good = [1, 2].map((s) => JSON.stringify(entry(s))).join('\n') + '\n';
    fs.writeFileSync(file, good + '{"step":3,"lo');
    assert.deepEqual(readLogJsonl(file).map((e) => e.step), [1, 2]);
    fs.writeFileSync(file, '{"step":1,"lo\n' + good);
    assert.throws(() => readLogJsonl(file), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: not valid JSON`));
    fs.writeFileSync(file, good + JSON.stringify(entry(2)) + '\n');
    assert.throws(() => readLogJsonl(file), /:3: step 2 after step 2/);
  });

  it('the training curve is drawn by the report layer from the log: loss and its running mean', () => {
    const entries = [1, 2, 3, 4].map(entry);
    const fig = trainingCurve(entries, 'tiny', 2);
    assert.equal(fig.data.length, 2);
    assert.deepEqual(fig.data[0].x, [1, 2, 3, 4]);
    assert.deepEqual(fig.data[1].y, runningMean(entries.map((e) => e.loss), 2));
    const title = (f: typeof fig) => (f.layout?.yaxis as { title?: { text?: string } } | undefined)?.title?.text;
    assert.equal(title(trainingCurve(entries, 'rim', 2, 8)), 'loss (mean MSE over the 8 iterates)');
    assert.equal(title(trainingCurve(entries, 'generator', 2, 1)), 'loss (MSE)', 'a one-pass model has one iterate');
    assert.equal(title(trainingCurve(entries, 'rim', 2, 8, 0.05)), 'loss (mean of 8: MSE + 0.05·L/|y|)');
  });

  it('marks where a resumed run changed its cosine horizon (a dotted line and the new total), and nothing for a run without changes', () => {
    const entries = [1, 2, 3, 4, 5, 6].map(entry);
    type Marks = { shapes?: Array<{ x0: number; x1: number }>; annotations?: Array<{ x: number; text: string }> };
    const marks = (h?: Parameters<typeof trainingCurve>[5]) => trainingCurve(entries, 'rim', 2, 8, undefined, h).layout as Marks;
    assert.equal(marks().shapes, undefined);
    assert.equal(marks([{ fromStep: 0, steps: 4 }]).shapes, undefined, 'the first horizon is not a change');
    const m = marks([{ fromStep: 0, steps: 4 }, { fromStep: 3, steps: 6 }, { fromStep: 5, steps: 9 }]);
    assert.deepEqual(m.shapes?.map((s) => [s.x0, s.x1]), [[3, 3], [5, 5]]);
    assert.deepEqual(m.annotations?.map((a) => [a.x, a.text]), [[3, 'horizon → 6 steps'], [5, 'horizon → 9 steps']]);
    assert.deepEqual(marks([{ fromStep: 0, steps: 4 }, { fromStep: 3, steps: 6 }, { fromStep: 9, steps: 12 }]).shapes?.map((s) => s.x0), [3], 'a change after the log ends (a snapshot) is not drawn');
    assert.deepEqual((trainingCurve(entries, 'rim', 2, 8, undefined, [{ fromStep: 0, steps: 4 }, { fromStep: 3, steps: 6 }]).layout?.xaxis as { range?: number[] }).range, [1, 6], 'the x range stays the logged steps (the labels do not widen it)');
  });

  it('places horizon labels inside the axis and never over each other', () => {
    // a change near the left edge and one close after it (rim_sr48: 52 and 600 of 8000): right of their lines, in two rows
    assert.deepEqual(placeLabels([52, 600], 0, 8000), [{ side: 'left', row: 0 }, { side: 'left', row: 1 }]);
    // near the right edge the label goes left of its line
    assert.deepEqual(placeLabels([7900], 0, 8000), [{ side: 'right', row: 0 }]);
    // far apart: one row; close: the next row
    assert.deepEqual(placeLabels([1000, 6000], 0, 8000), [{ side: 'left', row: 0 }, { side: 'left', row: 0 }]);
    assert.deepEqual(placeLabels([3000, 5000, 5200], 0, 8000, 0.2), [{ side: 'left', row: 0 }, { side: 'left', row: 0 }, { side: 'left', row: 1 }]);
    assert.deepEqual(placeLabels([7000, 7900], 0, 8000), [{ side: 'right', row: 0 }, { side: 'right', row: 1 }]);
    // every label inside [lo, hi] and no two in a row overlapping, for many random layouts
    for (let k = 0; k < 200; k++) {
      const xs = Array.from({ length: 1 + (k % 5) }, (_, i) => ((k * 7919 + i * 104729) % 1000) / 1000 * 8000).sort((a, b) => a - b);
      const p = placeLabels(xs, 0, 8000);
      const spans = p.map((q, i) => ({ row: q.row, a: q.side === 'left' ? xs[i] : xs[i] - 2000, b: q.side === 'left' ? xs[i] + 2000 : xs[i] }));
      for (const s of spans) assert.ok(s.a >= -1e-6 && s.b <= 8000 + 1e-6, `inside the axis: ${JSON.stringify({ xs, p })}`);
      for (const s of spans) for (const t of spans) if (s !== t && s.row === t.row) assert.ok(s.b <= t.a || t.b <= s.a, `no overlap: ${JSON.stringify({ xs, p })}`);
    }
  });

  it('compares runs by wall time or step: one loss curve per run, and validation PSNR for the runs that validated', () => {
    const a = Array.from({ length: 40 }, (_, i) => ({ ...entry(i + 1), ...(i % 10 === 9 ? { valPsnr: 20 + i / 10 } : {}) }));
    const b = Array.from({ length: 20 }, (_, i) => ({ ...entry(i + 1), wallTime: (i + 1) * 360 }));
    const fig = runComparison([{ name: 'a', entries: a }, { name: 'b', entries: b }], 'wall', 5);
    assert.equal(fig.data.length, 3, 'two loss curves and one validation curve (b did not validate)');
    const [lossA, valA, lossB] = fig.data;
    assert.deepEqual([lossA.name, valA.name, lossB.name], ['a', 'a', 'b']);
    assert.equal(valA.yaxis, 'y2');
    assert.deepEqual(valA.y, [20.9, 21.9, 22.9, 23.9]);
    assert.deepEqual(valA.x, [10, 20, 30, 40].map((s) => (s * 0.37) / 3600), 'x in hours of the run\'s own clock');
    assert.equal((lossB.x as number[]).at(-1), 2, 'b ran 20 steps of 360 s');
    assert.deepEqual((lossA.y as number[]).at(-1), runningMean(a.map((e) => e.loss), 5).at(-1));
    assert.equal((valA.line as { color: string }).color, (lossA.line as { color: string }).color, 'a run keeps its colour in both panels');
    const bySteps = runComparison([{ name: 'a', entries: a }], 'step', 5);
    assert.deepEqual(bySteps.data[1].x, [10, 20, 30, 40]);
    assert.throws(() => runComparison([{ name: 'empty', entries: [] }]), /run "empty" has an empty log/);
    assert.throws(() => runComparison([]), /no runs given/);
  });
});
