import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import {
  denoisingTask,
  evaluateLearned,
  hasTrainedModel,
  loadOrTrainModel,
  meanLoss,
  publishedDenoisingExtraRows,
  saveComparisonGrid,
  stepCurveFigure,
  trainingComparisonFigure,
  trainingSummaryMarkdown,
  engineHistory,
  commandText,
} from '../lib/experiments';
import { psnrPerImage } from '../lib/metrics';
import { lineFigure, validateRows } from '../lib/report';
import { createProblem } from '../lib/solvers/classical';
import { gaussianLikelihood } from '../lib/likelihoods';
import { Rim, saveLearnedSolver } from '../lib/solvers/learned';
import { LogEntry } from '../lib/training';
import { to8bit } from '../lib/experiments/sr';

/** A smooth gray test image [1, s, s, 1] in [0, 1]. */
function smoothImage(s: number, phase: number): tf.Tensor4D {
  const data = new Float32Array(s * s);
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) data[i * s + j] = 0.5 + 0.35 * Math.sin(0.3 * i + 0.2 * j + phase);
  return tf.tensor4d(data, [1, s, s, 1]);
}

const entries = (losses: number[]): LogEntry[] => losses.map((loss, i) => ({ step: i + 1, loss, lr: 1e-3, gradNorm: 1, wallTime: i, stepTime: 1, engine: 'wasm' }));

describe('learned-solver experiments', function () {
  this.timeout(60000);
  let dir: string;
  let rim: Rim;
  const images: { name: string; image: tf.Tensor4D }[] = [];

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-learned-exp-'));
    rim = new Rim({ channels: 1, features: 4, steps: 3, seed: 1 });
    images.push({ name: 'a', image: smoothImage(16, 0) }, { name: 'b', image: smoothImage(16, 1) });
  });
  after(() => {
    rim.dispose();
    tf.dispose(images.map((i) => i.image));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('evaluateLearned: rows, per-image PSNR of the 8-bit step-T output, a curve to 2T that agrees with step T; no leaks', () => {
    const before = tf.memory().numTensors;
    const task = denoisingTask({ sigma: 25 });
    const ev = evaluateLearned({ solver: rim, method: 'RIM', task, dataset: 'toy', images, seed: 7, curveImages: 1, keepExamples: 0, progress: false });
    assert.deepEqual(ev.rows.map((r) => r.method), ['noisy input', 'RIM']);
    assert.equal(ev.rows[1].setting, 'sigma=25');
    assert.equal(ev.curve.length, 6, 'curve to 2T');
    assert.ok(Math.abs(ev.curve[2] - ev.perImage[0].output.psnr) < 1e-9, 'curve at t = T is the measured output of image 0');
    // independent recomputation of image 1
    const y = task.degrade(images[1].image, 8);
    const xs = rim.run(y, createProblem({ likelihood: gaussianLikelihood(task.operator, { sigma: 25 / 255 }), y }));
    const q = to8bit(xs[2]);
    assert.ok(Math.abs(psnrPerImage(q, images[1].image)[0] - ev.perImage[1].output.psnr) < 1e-9);
    tf.dispose([y, q, ...xs]);
    assert.ok(Math.abs(ev.rows[1].psnr! - (ev.perImage[0].output.psnr + ev.perImage[1].output.psnr) / 2) < 1e-9);
    assert.equal(tf.memory().numTensors, before);
  });

  it('evaluateLearned: the same seed gives the same noise for every method (input rows agree); wrong channels are an error', () => {
    const task = denoisingTask({ sigma: 15 });
    const a = evaluateLearned({ solver: rim, method: 'A', task, dataset: 'toy', images, seed: 3, keepExamples: 0, progress: false });
    const b = evaluateLearned({ solver: rim, method: 'B', task, dataset: 'toy', images, seed: 3, keepExamples: 0, progress: false });
    assert.deepEqual(a.rows[0], b.rows[0]);
    const color = [{ name: 'c', image: tf.zeros([1, 8, 8, 3]) as tf.Tensor4D }];
    assert.throws(() => evaluateLearned({ solver: rim, method: 'RIM', task, dataset: 'CBSD68', images: color, progress: false }), /1 channel\(s\) but the CBSD68 images have 3/);
    tf.dispose(color.map((c) => c.image));
  });

  it('loadOrTrainModel: loads an exported folder with its train.json and log; a missing model names the folder and the train command', async () => {
    const modelDir = path.join(dir, 'models');
    await saveLearnedSolver(rim, path.join(modelDir, 'toy'), {
      'train.json': JSON.stringify({ name: 'toy', kind: 'rim', paramCount: rim.paramCount(), command: 'npm run train -- --config configs/toy.json', steps: 2, wallTimeSeconds: 7200, engine: 'wasm', finalLoss: 0.01, weightsSha256: 'ab'.repeat(32), date: '', trainConfig: { data: { batchSize: 4 } } }),
      'training_log.json': JSON.stringify({ entries: entries([0.02, 0.01]) }),
    });
    const m = await loadOrTrainModel('toy', { dir: modelDir });
    assert.equal(m.source, 'loaded');
    assert.equal(m.info?.steps, 2);
    assert.equal(m.log?.length, 2);
    assert.equal(m.solver.paramCount(), rim.paramCount());
    const md = trainingSummaryMarkdown([m]);
    // patches seen: steps × batch = 2 × 4
    assert.match(md, /\| toy \| rim \| \d+ \| 2 \| 8 \| 2\.00 h \| wasm \| 1\.000e-2 \| `abababababababab…` \| `npm run train -- --config configs\/toy\.json` \|/);
    // A run resumed on another thread count: the engine of each stretch of its log; a run trained in
    // sessions by other command lines: each command with its steps, and the export command after them
    const engines = ['wasm + oneDNN 2.6.3 convs (2 threads)', 'wasm + oneDNN 2.6.3 convs (2 threads)', 'wasm + oneDNN 2.6.3 convs (1 threads)'];
    const resumed = { ...m, log: entries([0.03, 0.02, 0.01]).map((e, k) => ({ ...e, engine: engines[k] })), info: { ...m.info!, steps: 3, command: 'npx tsx scripts/export-checkpoint.ts --checkpoint C', sessions: [{ fromStep: 0, command: 'train A' }, { fromStep: 2, command: 'train A --steps 3 --new-horizon' }] } };
    assert.match(
      trainingSummaryMarkdown([resumed]),
      /\| wasm \+ oneDNN 2\.6\.3 convs: 2 threads for steps 1–2, 1 thread for 3–3 \| .* \| `train A` \(steps 1–2\), then `train A --steps 3 --new-horizon` \(3–3\); exported by `npx tsx scripts\/export-checkpoint\.ts --checkpoint C` \|$/m,
    );
    const switching = entries([1, 1, 1, 1, 1]).map((e, k) => ({ ...e, engine: `wasm (${[1, 2, 1, 2, 2][k]} threads)` }));
    assert.equal(engineHistory(switching, 'x'), 'wasm: 1 thread for 2 steps, 2 threads for 3 steps (in 4 stretches)');
    const mixed = entries([1, 1, 1, 1]).map((e, k) => ({ ...e, engine: ['wasm', 'wasm (2 threads)', 'wasm', 'tensorflow'][k] }));
    assert.equal(engineHistory(mixed, 'x'), 'wasm for 2 steps; wasm (2 threads) for 1 step; tensorflow for 1 step (in 4 stretches)');
    assert.equal(engineHistory(undefined, 'wasm + oneDNN 2.6.3 convs (1 threads)'), 'wasm + oneDNN 2.6.3 convs (1 thread)');
    assert.equal(engineHistory(entries([1, 1]).map((e, k) => ({ ...e, engine: ['wasm', 'tensorflow'][k] })), 'x'), 'wasm for steps 1–1; tensorflow for 2–2');
    assert.equal(commandText({ command: 'train B', steps: 9, sessions: [{ fromStep: 4, command: 'train B' }] }), 'not recorded (steps 1–4), then `train B` (5–9)');
    assert.equal(commandText({ command: 'train C', steps: 9, sessions: [{ fromStep: 0, command: 'train C' }] }), '`train C`');
    // weights averaged over checkpoints say so in the steps cell
    const averaged = { ...m, info: { ...m.info!, averagedFrom: [{ step: 1, checkpoint: 'a', weightsSha256: '' }, { step: 2, checkpoint: 'b', weightsSha256: '' }] } };
    assert.match(trainingSummaryMarkdown([averaged]), /\| 2, weights the mean of its checkpoints at steps 1, 2 \| 8 \|/);
    // A run started from another model's weights says so (its own steps and time only); the
    // patches column adds those of the chain it was started from, where the folders say:
    // toy_base (an exported model beside it: 5 steps × 4, started from a run's best/ at step 3 of batch 2).
    await saveLearnedSolver(rim, path.join(modelDir, 'toy_base'), {
      'train.json': JSON.stringify({ name: 'toy_base', kind: 'rim', steps: 5, trainConfig: { data: { batchSize: 4 }, init: { model: path.join(dir, 'results', 'runs', 'toy_run', 'best') } } }),
    });
    const runDir = path.join(dir, 'results', 'runs', 'toy_run');
    fs.mkdirSync(path.join(runDir, 'best'), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'best', 'best.json'), JSON.stringify({ step: 3, valPsnr: 20 }));
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({ data: { batchSize: 2 } }));
    const tuned = { ...m, info: { ...m.info!, trainConfig: { data: { batchSize: 4 }, init: { model: 'toy_base' } } as never } };
    assert.match(trainingSummaryMarkdown([tuned]), /\| 2, started from the weights of toy_base \(its steps and time not counted here\) \| 8 \(34 with toy_base's and results\/runs\/toy_run\/best's\) \| 2\.00 h \|/);
    // An init the folders say nothing about: the own patches, and that the others are not counted
    const fromNothing = { ...m, info: { ...m.info!, trainConfig: { data: { batchSize: 4 }, init: { model: 'no_such_model_here' } } as never } };
    assert.match(trainingSummaryMarkdown([fromNothing]), /\| 8 \(and those of no_such_model_here\) \|/);
    // A deeper link the folders say nothing about: the known part, and whose patches are missing
    await saveLearnedSolver(rim, path.join(modelDir, 'toy_mid'), { 'train.json': JSON.stringify({ name: 'toy_mid', kind: 'rim', steps: 1, trainConfig: { data: { batchSize: 4 }, init: { model: 'missing_deep' } } }) });
    const fromMid = { ...m, info: { ...m.info!, trainConfig: { data: { batchSize: 4 }, init: { model: 'toy_mid' } } as never } };
    assert.match(trainingSummaryMarkdown([fromMid]), /\| 8 \(12 with toy_mid's, and those of missing_deep\) \|/);
    // An init folder exported again after this model began training from it (its export date is
    // after this model's export minus its training time) no longer holds what it started from
    const later = { name: 'toy_later', kind: 'rim', steps: 5, date: '2026-12-04T10:00:00Z', wallTimeSeconds: 10, trainConfig: { data: { batchSize: 4 } } };
    await saveLearnedSolver(rim, path.join(modelDir, 'toy_later'), { 'train.json': JSON.stringify(later) });
    const fromLater = (date: string) => ({ ...m, info: { ...m.info!, date, wallTimeSeconds: 3600, trainConfig: { data: { batchSize: 4 }, init: { model: 'toy_later' } } as never } });
    assert.match(trainingSummaryMarkdown([fromLater('2026-12-04T10:30:00Z')]), /\| 8 \(and those of toy_later as it was then; exported again since\) \|/);
    assert.match(trainingSummaryMarkdown([fromLater('2026-12-04T11:30:00Z')]), /\| 8 \(28 with toy_later's\) \|/);
    // A model that recorded what it began from (initFrom) counts that, whatever the folder holds now
    const recorded = { ...fromLater('2026-12-04T10:30:00Z').info, initFrom: { model: 'toy_later', weightsSha256: 'ab', patches: 100, chain: ['toy_later', 'toy_first'] } };
    assert.match(trainingSummaryMarkdown([{ ...m, info: recorded }]), /\| 8 \(108 with toy_later's and toy_first's\) \|/);
    // A checkpoint folder is named by its path under results/, not by its last part ('best')
    const fromRun = { ...m, info: { ...m.info!, trainConfig: { init: { model: '/work/x/results/runs/rim_color/best' } } as never } };
    assert.match(trainingSummaryMarkdown([fromRun]), /started from the weights of results\/runs\/rim_color\/best \(.*\) \| \? \|/);
    m.solver.dispose();
    assert.equal(hasTrainedModel('toy', modelDir), true);
    assert.equal(hasTrainedModel('absent', modelDir), false);
    await assert.rejects(loadOrTrainModel('absent', { dir: modelDir }), /no trained model "absent" in .*models\/absent: train it with `npm run train -- --config configs\/absent\.json`/);
    await assert.rejects(loadOrTrainModel('absent', { retrain: true }), /no training config .*configs\/absent\.json/);
  });

  it('figures: PSNR vs step with the trained horizons marked; training losses as moving means', () => {
    const fig = stepCurveFigure([{ name: 'RIM', psnr: [20, 25, 26, 26] }, { name: 'LGD', psnr: [21, 24, 25, 25, 25] }], { horizon: [2, 3, 2], logX: true });
    assert.equal(fig.data.length, 2);
    const layout = fig.layout as { shapes: { x0: number }[]; xaxis: { type: string } };
    assert.deepEqual(layout.shapes.map((s) => s.x0), [2, 3]);
    assert.equal(layout.xaxis.type, 'log');
    assert.deepEqual((fig.data[0] as { x: number[] }).x, [1, 2, 3, 4]);
    // without options.horizon: each curve's own T, once per distinct T; a curve without one (classical) marks none
    const own = stepCurveFigure([{ name: 'RIM', psnr: [20, 25, 26, 26], horizon: 2 }, { name: 'LGD', psnr: [21, 24, 25, 25, 25, 25], horizon: 3 }, { name: 'RIM 2', psnr: [1, 2, 3, 4], horizon: 2 }, { name: 'TV', psnr: [1, 2] }]).layout as { shapes: { x0: number }[]; annotations: { text: string }[] };
    assert.deepEqual(own.shapes.map((s) => s.x0), [2, 3]);
    assert.deepEqual(own.annotations.map((a) => a.text), ['T = 2', 'T = 3']);
    assert.equal((stepCurveFigure([{ name: 'TV', psnr: [1, 2] }]).layout as { shapes?: unknown }).shapes, undefined);
    // a colour per curve and a legend below pass through; a two-line title gets a top margin above the T labels
    const styled = stepCurveFigure([{ name: 'RIM', psnr: [1, 2], horizon: 1, color: '#123456', dash: 'dash' }], { title: 'a<br><sup>b</sup>', legend: 'below' });
    assert.equal((styled.data[0] as { line: { color: string } }).line.color, '#123456');
    assert.equal((styled.layout as { margin: { t: number } }).margin.t, 130);
    assert.equal((styled.layout as { legend: { orientation: string; y: number } }).legend.y < 0, true);
    assert.ok((stepCurveFigure([{ name: 'RIM', psnr: [1, 2], horizon: 1 }], { title: 'one line' }).layout as { margin: { t: number } }).margin.t < 130);
    // a single curve keeps its legend (the name says which model it is); a plain line plot of one series hides it
    assert.equal((stepCurveFigure([{ name: 'RIM', psnr: [1, 2], horizon: 1 }]).layout as { showlegend: boolean }).showlegend, true);
    assert.equal((lineFigure({ series: [{ name: 'loss', y: [1, 2] }] }).layout as { showlegend: boolean }).showlegend, false);
    const losses = trainingComparisonFigure([{ name: 'a', log: entries([4, 2, 0, 2]) }], { window: 2 });
    assert.deepEqual((losses.data[0] as { y: number[] }).y, [4, 3, 1, 1]);
    assert.equal(meanLoss(entries([4, 2, 0, 2]), 1, 3), 1);
    assert.ok(Number.isNaN(meanLoss([], 0, 1)));
  });

  it('saveComparisonGrid: one row per image, input | methods | truth; mixing images is an error', async () => {
    const task = denoisingTask({ sigma: 25 });
    const a = evaluateLearned({ solver: rim, method: 'A', task, dataset: 'toy', images, keepExamples: 2, progress: false });
    const b = evaluateLearned({ solver: rim, method: 'B', task, dataset: 'toy', images, keepExamples: 2, progress: false });
    const file = await saveComparisonGrid([a.examples, b.examples], 'grid', { dir });
    assert.ok(fs.statSync(file).size > 100);
    await assert.rejects(saveComparisonGrid([a.examples, [...b.examples].reverse()], 'bad', { dir }), /row 0 mixes images a, b/);
    [a, b].forEach((e) => tf.dispose(e.examples.flatMap((x) => [x.truth, x.input, x.output])));
  });

  it('published quantized and color rows are valid table rows with the paper values', () => {
    const rows = validateRows(publishedDenoisingExtraRows());
    assert.equal(rows.find((r) => r.dataset === 'BSD68' && r.setting === 'sigma=25, quantized')?.psnr, 28.76);
    assert.equal(rows.find((r) => r.dataset === 'CBSD68' && r.method === 'RIM')?.psnr, 30.84);
  });
});
