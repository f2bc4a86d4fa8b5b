import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import {
  labelMap,
  meanColorImage,
  perClassMeanColors,
  semanticInversion,
  SemanticIterationRecord,
  semanticSynthesisTask,
  segmentationQuality,
} from '../lib/experiments/semantic';
import { createProblem } from '../lib/tasks/problem';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rim } from '../lib/solvers/learned';
import { SERIES_COLORS } from '../lib/report/figures';
import { evaluateSemantic, meanColorMethod, perClassIouFigure, saveSemanticTable, semanticLearnedMethod, semanticRows, semanticTvMethod } from '../lib/experiments/semantic_eval';
import { rand } from './helpers/numeric';
import { TinySegmenter } from './helpers/tiny_segmenter';

const IGNORE = 11;
const TRUE_COLORS = [
  [0.8, 0.2, 0.2],
  [0.2, 0.7, 0.3],
  [0.25, 0.3, 0.8],
];

/** Two 12×12 scenes of three classes (vertical bands, horizontal bands) with a few unlabelled pixels, and their noisy images. */
function scenes(seed: number): { x: tf.Tensor4D; y: tf.Tensor4D; labels: number[] } {
  const r = rand(seed);
  const n = 12;
  const labels: number[] = [];
  const pixels: number[] = [];
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const k = b === 0 ? Math.floor(j / 4) : Math.floor(i / 4);
        labels.push((i * n + j) % 17 === 5 ? IGNORE : k);
        for (let c = 0; c < 3; c++) pixels.push(TRUE_COLORS[k][c] + (r() - 0.5) * 0.1);
      }
    }
  }
  return { x: tf.tensor4d(pixels, [2, n, n, 3]), y: tf.tensor4d(labels, [2, n, n, 1]), labels };
}

describe('semantic synthesis (evaluation task and classical inversion)', () => {
  let baseline: number;
  before(async () => {
    await initEngine({ quiet: true });
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    assert.equal(tf.memory().numTensors, baseline, 'tensor leak');
  });

  describe('per-class mean colours', () => {
    it('averages each class over all images (pooled pixels), the ignored pixels apart, an absent class gets the labelled mean', () => {
      const x = [tf.tensor4d([0, 0, 0, 1, 1, 1, 0.5, 0.2, 0.1, 0.3, 0.3, 0.3], [1, 2, 2, 3]), tf.tensor4d([0.2, 0.4, 0.6, 0.9, 0.9, 0.9], [1, 1, 2, 3])];
      const l = [tf.tensor3d([0, 0, 1, 11], [1, 2, 2], 'int32'), tf.tensor4d([0, 11], [1, 1, 2, 1])];
      const mc = perClassMeanColors(x, l, { classes: 3 });
      const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
      assert.ok(close(mc.colors[0], [1.2 / 3, 1.4 / 3, 1.6 / 3]), JSON.stringify(mc.colors[0]));
      assert.ok(close(mc.colors[1], [0.5, 0.2, 0.1]));
      assert.ok(close(mc.colors[2], [(1.2 + 0.5) / 4, (1.4 + 0.2) / 4, (1.6 + 0.1) / 4]), `absent class: ${JSON.stringify(mc.colors[2])}`);
      assert.ok(close(mc.unlabelled, [0.6, 0.6, 0.6]));
      assert.deepEqual(mc.counts, [3, 1, 0]);
      tf.dispose([...x, ...l]);
    });

    it('paints a label map with them; ignored pixels get the unlabelled colour', () => {
      const y = tf.tensor4d([2, 0, 11, 1], [1, 2, 2, 1]);
      const img = meanColorImage(y, { colors: TRUE_COLORS, unlabelled: [0, 0, 0], counts: [1, 1, 1] });
      assert.deepEqual(img.shape, [1, 2, 2, 3]);
      const expected = [...TRUE_COLORS[2], ...TRUE_COLORS[0], 0, 0, 0, ...TRUE_COLORS[1]];
      assert.ok(Array.from(img.dataSync()).every((v, i) => Math.abs(v - expected[i]) < 1e-6));
      const bare = meanColorImage(y, TRUE_COLORS); // unlabelled: the mean of the class colours
      assert.ok(Math.abs(bare.dataSync()[6] - (0.8 + 0.2 + 0.25) / 3) < 1e-6);
      tf.dispose([y, img, bare]);
    });

    it('names the offending label, and the shapes when images and labels differ in size', () => {
      const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
      const bad = tf.tensor4d([0, 1, 12, 0], [1, 2, 2, 1]);
      const small = tf.zeros([1, 2, 3, 1]);
      assert.throws(() => perClassMeanColors(x, bad, { classes: 11 }), /y holds label 12 at image 0, row 1, column 0: expected a class 0\.\.10 or the ignore label 11/);
      assert.throws(() => perClassMeanColors(x, small), /batch 0: images \[1, 2, 2, 3\] but labels \[1, 2, 3, 1\] \(sizes differ\)/);
      assert.throws(() => meanColorImage(bad, TRUE_COLORS), /meanColorImage: y holds label 12/);
      assert.throws(() => labelMap(x), /expected \[b, h, w\] or \[b, h, w, 1\] labels, got \[1, 2, 2, 3\]/);
      tf.dispose([x, bad, small]);
    });
  });

  describe('task and inversion', () => {
    // φ: a colour classifier whose prototypes are the true colours shifted by one class, so the
    // mean-colour start is misclassified everywhere; φ': the honest classifier of the true colours.
    const shifted = TRUE_COLORS.map((_, k) => TRUE_COLORS[(k + 1) % 3]);
    let phi: TinySegmenter;
    let phiPrime: TinySegmenter;
    let train: ReturnType<typeof scenes>;
    let test: ReturnType<typeof scenes>;
    before(() => {
      phi = TinySegmenter.prototypes(shifted, 10);
      phiPrime = TinySegmenter.prototypes(TRUE_COLORS, 10);
      train = scenes(1);
      test = scenes(2);
    });
    after(() => {
      phi.dispose();
      phiPrime.dispose();
      tf.dispose([train.x, train.y, test.x, test.y]);
    });

    it("evaluateSemantic scores every method by PSNR/SSIM, each evaluator's mIoU / per-class IoU / pixel accuracy, FD and per-step CE; the table has a row per method and evaluator role", () => {
      const colors = perClassMeanColors(train.x, train.y, { classes: 3 });
      const task = semanticSynthesisTask({ segmenter: phi, colors });
      const rim = new Rim({ channels: 3, features: 4, steps: 2, seed: 3 });
      const pairs = [0, 1].map((i) => ({
        name: `s${i}`,
        x: tf.slice(test.x, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D,
        labels: tf.slice(test.y, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D,
      }));
      // FD features: per-image colour means and mean squares (a 6-d stand-in for φ' features).
      const fd = { features: (x: tf.Tensor4D) => tf.tidy(() => tf.concat([tf.mean(x, [1, 2]), tf.mean(tf.square(x), [1, 2])], 1) as tf.Tensor2D) };
      const before = tf.memory().numTensors;
      const scores = evaluateSemantic(task, [meanColorMethod, semanticTvMethod({ lambda: 1e-3, iterations: 8 }), semanticLearnedMethod(rim, 'RIM')], pairs, { 'φ': phi, "φ'": phiPrime }, { curveImages: 1, keepExamples: 1, progress: false, fd });
      assert.deepEqual(scores.map((s) => s.method.split(' ')[0]), ['per-class', 'TV', 'RIM']);
      assert.equal(scores[0].miou['φ'], 0, 'φ misreads the mean colours');
      assert.ok(scores[0].miou["φ'"] > 0.95);
      assert.equal(scores[0].iou["φ'"].length, 3, 'one IoU per class');
      assert.ok(scores[0].pixelAccuracy["φ'"] > 0.95 && scores[0].pixelAccuracy['φ'] === 0);
      assert.ok(scores[1].miou['φ'] > scores[0].miou['φ'], 'TV inversion through φ raises φ\'s mIoU');
      assert.equal(scores[2].curve?.psnr.length, 4, 'the learned curve runs to 2T');
      assert.equal(scores[2].curve?.ce.length, 4, 'CE per step');
      assert.ok(scores[2].curve!.ce.every((c) => Number.isFinite(c) && c > 0));
      assert.ok(scores.every((s) => s.examples.length === 1 && Number.isFinite(s.psnr) && Number.isFinite(s.fd!) && s.fd! >= 0));
      scores.forEach((s) => tf.dispose(s.examples));
      const lbfgs = evaluateSemantic(task, [semanticTvMethod({ lambda: 1e-3, iterations: 8, solver: 'lbfgs' })], pairs, { 'φ': phi, "φ'": phiPrime }, { keepExamples: 0, progress: false });
      assert.match(lbfgs[0].method, /^TV inversion through φ, L-BFGS \(λ=0\.001, 8 it\)$/);
      assert.ok(lbfgs[0].miou['φ'] > scores[0].miou['φ'], 'L-BFGS through φ raises φ\'s mIoU too');
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-semtab-'));
      const rows = [
        ...semanticRows(scores, { inverted: 'φ', independent: "φ'" }, { RIM: 'T=2' }),
        { method: "φ' on the real images", evaluator: 'independent' as const, miou: 1, pixelAccuracy: 1, psnr: null, ssim: null },
      ];
      assert.equal(rows.length, 7);
      const { csv, md } = saveSemanticTable(rows, 'semantic', { dataset: 'synthetic', dir });
      const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
      assert.equal(lines[0], 'task,dataset,setting,method,evaluator,miou,pixel_acc,psnr,ssim,fd,source,params');
      assert.match(lines[1], /^semantic-synthesis,synthetic,labels→RGB,per-class mean colours,inverted,0,0,[\d.]+,[\d.]+,,measured,$/);
      assert.match(lines[2], /^semantic-synthesis,synthetic,labels→RGB,per-class mean colours,independent,[\d.]+,[\d.]+,[\d.]+,[\d.]+,[\d.e-]+,measured,$/);
      assert.match(lines[6], /,RIM,independent,.*,measured,T=2$/);
      assert.match(lines[7], /^semantic-synthesis,synthetic,labels→RGB,φ' on the real images,independent,1,1,,,,measured,$/);
      const text = fs.readFileSync(md, 'utf8');
      assert.match(text, /\| mIoU φ \(inverted\) \| pixel acc\. φ \| mIoU φ' \(independent\) \| pixel acc\. φ' \| FD in φ' features \|/);
      assert.match(text, /\| RIM \(T=2\) \|/);
      assert.throws(() => saveSemanticTable([{ ...rows[0], evaluator: 'phi' as never }], 'bad', { dataset: 'x', dir }), /row 0 \(per-class mean colours\): evaluator must be 'inverted' or 'independent'/);
      assert.throws(() => saveSemanticTable([{ ...rows[0], miou: 1.5 }], 'bad', { dataset: 'x', dir }), /miou = 1\.5 is outside \[0, 1\]/);
      const fig = perClassIouFigure(scores, "φ'", ['red', 'green', 'blue'], { ceiling: { name: 'real', iou: [1, 1, NaN] } });
      assert.equal(fig.data.length, 4, 'one bar series per method and the ceiling');
      assert.deepEqual(fig.data[3].y, [1, 1, null], 'an undefined IoU is a gap, not a bar');
      const barColors = fig.data.map((d) => (d as { marker: { color: string } }).marker.color);
      assert.equal(new Set(barColors).size, 4, `every series its own colour: ${barColors}`);
      const many = Array.from({ length: 10 }, (_, k) => ({ ...scores[0], method: `m${k}` }));
      const ceilingColor = (perClassIouFigure(many, "φ'", ['red', 'green', 'blue'], { ceiling: { name: 'real', iou: [1, 1, 1] } }).data[10] as { marker: { color: string } }).marker.color;
      assert.ok(!many.some((_, k) => SERIES_COLORS[k % SERIES_COLORS.length] === ceilingColor), 'the ceiling never shares a method\'s colour');
      assert.throws(() => perClassIouFigure(scores, 'ψ', ['a', 'b', 'c']), /has no IoU by evaluator ψ/);
      assert.throws(() => perClassIouFigure(scores, "φ'", ['a', 'b']), /has 3 IoUs for 2 classes/);
      rim.dispose();
      tf.dispose(pairs.flatMap((p) => [p.x, p.labels]));
      task.dispose();
    });

    it('starts from the mean-colour image, measures PSNR/SSIM and the mIoU of any segmenter, and gives solvers a categorical view', () => {
      const colors = perClassMeanColors(train.x, train.y, { classes: 3 });
      colors.colors.forEach((c, k) => c.forEach((v, i) => assert.ok(Math.abs(v - TRUE_COLORS[k][i]) < 0.02)));
      const task = semanticSynthesisTask({ segmenter: phi, colors });
      const x0 = task.input(test.y);
      const q = task.measure(x0, test.x);
      assert.ok(q.psnr > 20 && q.psnr < 40 && q.ssim > 0 && q.ssim < 1, JSON.stringify(q));
      assert.equal(task.measurePsnr(x0, test.x), q.psnr);
      const byPhi = task.score(x0, test.y);
      const byPhiPrime = task.score(x0, test.y, phiPrime);
      assert.equal(byPhi.miou, 0, 'φ misreads every class of the start');
      assert.ok(byPhiPrime.miou > 0.95, `φ' mIoU ${byPhiPrime.miou}`);
      assert.equal(byPhiPrime.pixels, test.labels.filter((l) => l !== IGNORE).length);
      const view = task.view(test.y, x0, test.x);
      const problem = createProblem({ likelihood: view.likelihood, y: view.y });
      problem.checkInput(view.x0, 'x0');
      const out = tf.tidy(() => view.finish(tf.add(view.x0, 0.3) as tf.Tensor4D));
      assert.ok(out.dataSync().every((v) => v <= 1 && Math.abs(v * 255 - Math.round(v * 255)) < 1e-3));
      const four = TinySegmenter.random(1, 4);
      assert.throws(() => semanticSynthesisTask({ segmenter: four, colors }), /3 class colours for a segmenter of 4 classes/);
      four.dispose();
      tf.dispose([x0, out]);
      view.dispose();
      task.dispose();
    });

    it('TV + projected gradient descent through φ lowers the objective and fools φ (its mIoU rises to 1) while φ′ is not fooled', () => {
      const task = semanticSynthesisTask({ segmenter: phi, colors: perClassMeanColors(train.x, train.y, { classes: 3 }) });
      const seen: number[] = [];
      const r = semanticInversion(task, test.y, {
        lambda: 0.01,
        iterations: 40,
        truth: test.x,
        evaluators: { φ: phi, "φ'": phiPrime },
        onIteration: (rec) => void seen.push(rec.iteration),
      });
      const h = r.history;
      const first = h[0];
      const last = h[h.length - 1] as SemanticIterationRecord;
      assert.deepEqual(seen, h.map((rec) => rec.iteration));
      assert.ok(h.length > 5, r.reason);
      for (let k = 1; k < h.length; k++) assert.ok(h[k].objective <= h[k - 1].objective * (1 + 1e-6), `objective rose at iteration ${k}`);
      assert.ok(last.objective < 0.2 * first.objective, `objective ${first.objective} → ${last.objective}`);
      assert.ok(last.ce < first.ce);
      assert.equal(first.miou['φ'], 0);
      assert.ok(last.miou['φ'] > 0.95, `φ mIoU ${last.miou['φ']}`);
      assert.ok(last.miou["φ'"] < 0.2, `φ' mIoU ${last.miou["φ'"]}`);
      assert.ok(last.psnr !== undefined && first.psnr !== undefined && last.psnr < first.psnr, 'the fooling image moves away from the real one');
      const xs = r.x.dataSync();
      assert.ok(xs.every((v) => v >= 0 && v <= 1));
      assert.deepEqual(segmentationQuality(phi, r.x, test.y).miou, last.miou['φ']);
      r.x.dispose();
      task.dispose();
    });

    it('L-BFGS lowers the objective too; the callback can stop the run', () => {
      const task = semanticSynthesisTask({ segmenter: phi, colors: perClassMeanColors(train.x, train.y, { classes: 3 }) });
      const r = semanticInversion(task, test.y, { lambda: 0.01, iterations: 15, solver: 'lbfgs', evaluators: { φ: phi } });
      assert.ok(r.history[r.history.length - 1].objective < 0.5 * r.history[0].objective);
      assert.ok(r.history[r.history.length - 1].miou['φ'] > r.history[0].miou['φ']);
      r.x.dispose();
      const stopped = semanticInversion(task, test.y, { lambda: 0.01, iterations: 15, onIteration: (rec) => rec.iteration < 2 });
      assert.equal(stopped.history.length, 3);
      stopped.x.dispose();
      assert.throws(() => semanticInversion(task, test.y, { lambda: 0.01, iterations: 1, solver: 'cg' as 'gd' }), /unknown solver "cg" \(use gd, lbfgs, gauss-newton\)/);
      task.dispose();
    });

    it('the regularised Gauss–Newton (CG through Jacobian products of φ) lowers the objective monotonically, stays in [0, 1] and fools φ', () => {
      const task = semanticSynthesisTask({ segmenter: phi, colors: perClassMeanColors(train.x, train.y, { classes: 3 }) });
      const r = semanticInversion(task, test.y, { lambda: 0.01, iterations: 6, solver: 'gauss-newton', solverOptions: { cgIter: 5, damping: 1 }, evaluators: { φ: phi } });
      const h = r.history;
      assert.ok(h.length > 2, r.reason);
      for (let k = 1; k < h.length; k++) assert.ok(h[k].objective <= h[k - 1].objective * (1 + 1e-6), `objective rose at iteration ${k}`);
      assert.ok(h[h.length - 1].objective < 0.5 * h[0].objective, `objective ${h[0].objective} → ${h[h.length - 1].objective}`);
      assert.ok(h[h.length - 1].miou['φ'] > h[0].miou['φ']);
      assert.ok(r.x.dataSync().every((v) => v >= 0 && v <= 1));
      r.x.dispose();
      task.dispose();
    });
  });
});
