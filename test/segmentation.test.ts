import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { dataMirror } from '../lib/io/paths';
import { ConfusionMatrix, segmentationScores } from '../lib/metrics';
import {
  augmentedBatch,
  CAMVID_CLASSES,
  CAMVID_PALETTE,
  camvidTensors,
  CamVidSample,
  checkLabels,
  colorizeLabels,
  createSegmenter,
  cropCamVidSample,
  evaluationSubset,
  evaluateSegmenter,
  hasCamVid,
  loadCamVid,
  loadSegmenter,
  medianFrequencyWeights,
  NO_AUGMENT,
  resolveSegTrainConfig,
  saveSegmenter,
  SegLogEntry,
  segmenterTrainStep,
  trainSegmenter,
  weightedCrossEntropy,
} from '../lib/segmentation';
import { Rng } from '../lib/util/rng';

/**
 * Tiny synthetic scenes: the top rows "sky" (class 0, blue-grey), the bottom "road" (class 3,
 * purple-grey), a "car" rectangle (class 8, dark red) at a random place, a few Unlabelled pixels;
 * colours with noise, so a network can learn them from colour and position.
 */
function syntheticSamples(n: number, h: number, w: number, seed: number): CamVidSample[] {
  const rng = new Rng(seed);
  const colours: Record<number, [number, number, number]> = { 0: [150, 170, 200], 3: [110, 90, 120], 8: [140, 30, 30], 11: [0, 0, 0] };
  return Array.from({ length: n }, (_, k) => {
    const labels = new Uint8Array(h * w);
    const data = new Uint8Array(h * w * 3);
    const horizon = Math.floor(h * rng.uniform(0.3, 0.6));
    const cy = rng.int(h - 4);
    const cx = rng.int(w - 6);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let c = i < horizon ? 0 : 3;
        if (i >= cy && i < cy + 4 && j >= cx && j < cx + 6) c = 8;
        if (rng.next() < 0.02) c = 11;
        labels[i * w + j] = c;
        for (let ch = 0; ch < 3; ch++) data[(i * w + j) * 3 + ch] = Math.max(0, Math.min(255, Math.round(colours[c][ch] + 20 * rng.normal())));
      }
    }
    return { name: `synthetic_${k}.png`, image: { data, height: h, width: w, channels: 3 }, labels };
  });
}

const numbers = (log: SegLogEntry[]) => log.map((e) => ({ step: e.step, loss: e.loss, lr: e.lr, gradNorm: e.gradNorm, valMiou: e.valMiou, valPixelAccuracy: e.valPixelAccuracy }));
const weightValues = (s: { getWeights(): Array<{ name: string; tensor: tf.Tensor }> }) =>
  s.getWeights().map((w) => {
    const v = w.tensor.dataSync() as Float32Array;
    w.tensor.dispose();
    return { name: w.name, v };
  });

describe('segmentation metrics', () => {
  it('confusion matrix, per-class IoU, mIoU and pixel accuracy on a hand-made case (label 11 ignored)', () => {
    // pixel:      0  1  2  3  4  5
    const pred = [0, 0, 1, 1, 2, 2];
    const labels = [0, 1, 1, 1, 2, 11];
    const cm = new ConfusionMatrix(11).add(pred, labels);
    assert.equal(cm.total(), 5, 'the unlabelled pixel is not counted');
    assert.equal(cm.counts[0 * 11 + 0], 1);
    assert.equal(cm.counts[1 * 11 + 0], 1);
    assert.equal(cm.counts[1 * 11 + 1], 2);
    assert.equal(cm.counts[2 * 11 + 2], 1);
    const iou = cm.iou();
    assert.equal(iou[0], 1 / 2); // TP 1, FP 1 (pixel 1), FN 0
    assert.equal(iou[1], 2 / 3); // TP 2, FN 1 (pixel 1)
    assert.equal(iou[2], 1); // pixel 5's prediction 2 is ignored with its label
    assert.ok(iou.slice(3).every(Number.isNaN), 'absent classes are undefined');
    assert.ok(Math.abs(cm.meanIou() - (1 / 2 + 2 / 3 + 1) / 3) < 1e-15);
    assert.equal(cm.pixelAccuracy(), 4 / 5);
    assert.deepEqual(cm.classAccuracy().slice(0, 3), [1, 2 / 3, 1]);
  });

  it('a class only predicted counts with IoU 0; perfect predictions give 1; accumulating equals one pass', () => {
    const s = segmentationScores([3, 0], [0, 0]);
    assert.equal(s.iou[3], 0);
    assert.equal(s.miou, 0.25); // class 0: 1/2, class 3: 0
    assert.equal(segmentationScores([5, 5, 7], [5, 5, 7]).miou, 1);
    const a = new ConfusionMatrix(11).add([0, 1], [0, 0]).add([2, 2], [2, 11]);
    const b = new ConfusionMatrix(11).add([0, 1, 2, 2], [0, 0, 2, 11]);
    assert.deepEqual(a.counts, b.counts);
    assert.deepEqual(new ConfusionMatrix(11).merge(a).counts, a.counts);
  });

  it('rejects an unknown label, an out-of-range prediction and mismatched lengths', () => {
    assert.throws(() => new ConfusionMatrix(11).add([0], [12]), /label 12 at pixel 0 is not a class in \[0, 11\) nor the ignore label 11/);
    assert.throws(() => new ConfusionMatrix(11).add([11], [0]), /prediction 11 at pixel 0/);
    assert.throws(() => new ConfusionMatrix(11).add([0, 0], [0]), /2 predictions for 1 labels/);
  });
});

describe('segmentation: CamVid helpers, loss and augmentation', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('colours label maps with the SegNet palette and names 11 classes', () => {
    assert.equal(CAMVID_CLASSES.length, 11);
    assert.equal(CAMVID_CLASSES[3], 'Road');
    const rgb = colorizeLabels([3, 11, 0], 1, 3);
    assert.deepEqual(Array.from(rgb.data), [128, 64, 128, 0, 0, 0, 128, 128, 128]);
    assert.equal(CAMVID_PALETTE.length, 12);
    assert.throws(() => colorizeLabels([12], 1, 1), /label 12 at pixel 0 has no colour/);
    assert.throws(() => checkLabels([0, 13], 'x.png'), /x\.png: label 13 at pixel 1 is not a CamVid class/);
  });

  it('batches samples as tensors and names a sample of another size', () => {
    const samples = syntheticSamples(2, 6, 8, 0);
    const before = tf.memory().numTensors;
    const { x, labels } = camvidTensors(samples);
    assert.deepEqual(x.shape, [2, 6, 8, 3]);
    assert.deepEqual(labels.shape, [2, 6, 8]);
    assert.equal(labels.dtype, 'int32');
    assert.equal(x.dataSync()[3 * 6 * 8], Math.fround(samples[1].image.data[0] / 255), 'the second image starts after the first');
    tf.dispose([x, labels]);
    assert.equal(tf.memory().numTensors, before);
    const odd = syntheticSamples(1, 5, 8, 1)[0];
    assert.throws(() => camvidTensors([samples[0], odd]), /synthetic_0\.png is 8×5×3, expected 8×6×3/);
  });

  it('crops a sample at its centre (image and labels alike) and picks the notebooks\' evaluation subset', () => {
    const [s] = syntheticSamples(1, 6, 8, 2);
    const c = cropCamVidSample(s, 4);
    assert.equal(c.image.height, 4);
    assert.equal(c.image.width, 4);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
      const src = (1 + i) * 8 + 2 + j; // top = (6 − 4) / 2, left = (8 − 4) / 2
      assert.equal(c.labels[i * 4 + j], s.labels[src]);
      assert.deepEqual(Array.from(c.image.data.subarray((i * 4 + j) * 3, (i * 4 + j) * 3 + 3)), Array.from(s.image.data.subarray(src * 3, src * 3 + 3)));
    }
    assert.equal(cropCamVidSample(s), s, 'no size: the sample itself');
    assert.throws(() => cropCamVidSample(s, 7), /synthetic_0\.png is 8×6, smaller than the 7×7 crop/);
    const ids = Array.from({ length: 20 }, (_, i) => i);
    assert.deepEqual(evaluationSubset(ids, { every: 4 }), [0, 4, 8, 12, 16]);
    assert.deepEqual(evaluationSubset(ids, { every: 2, first: 3 }), [0, 6, 12, 2, 4, 8, 10, 14, 16, 18], 'three spread over the ten, then the rest in order');
    assert.deepEqual(evaluationSubset(ids, { every: 4, first: 9 }), [0, 4, 8, 12, 16], 'more than there are: all, in order');
    assert.throws(() => evaluationSubset(ids, { every: 0 }), /every must be a positive integer, got 0/);
  });

  it('median-frequency weights on a hand-made case (unlabelled pixels left out)', () => {
    // image 1: three 0s and one 1 (4 labelled); image 2: two 1s, two unlabelled (2 labelled)
    const w = medianFrequencyWeights([Uint8Array.of(0, 0, 0, 1), Uint8Array.of(1, 1, 11, 11)]);
    // freq0 = 3/4, freq1 = 3/6; median 0.625
    assert.ok(Math.abs(w[0] - 0.625 / 0.75) < 1e-15);
    assert.ok(Math.abs(w[1] - 0.625 / 0.5) < 1e-15);
    assert.deepEqual(w.slice(2), new Array(9).fill(0));
  });

  it('weighted cross-entropy equals the hand computation over labelled pixels', () => {
    const logitsData = Array.from({ length: 3 * 11 }, (_, i) => Math.sin(i));
    const logits = tf.tensor4d(logitsData, [1, 1, 3, 11]);
    const labels = tf.tensor3d([2, 11, 5], [1, 1, 3], 'int32');
    const weights = Array.from({ length: 11 }, (_, c) => 1 + c / 10);
    const logSoftmax = (p: number, c: number) => {
      const z = logitsData.slice(11 * p, 11 * p + 11);
      const m = Math.max(...z);
      return z[c] - m - Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    };
    const expected = -(weights[2] * logSoftmax(0, 2) + weights[5] * logSoftmax(2, 5)) / (weights[2] + weights[5]);
    const before = tf.memory().numTensors;
    const loss = weightedCrossEntropy(logits, labels, weights);
    assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-5, `${loss.dataSync()[0]} vs ${expected}`);
    loss.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => weightedCrossEntropy(logits, tf.zeros([1, 1, 2], 'int32') as tf.Tensor3D), /labels \[1, 1, 2\] do not match logits \[1, 1, 3, 11\]/);
    tf.dispose([logits, labels]);
  });

  it('augmentation: a crop of the full size without augmentation is the identity; flips mirror; the same RNG state gives the same batch', () => {
    const samples = syntheticSamples(1, 6, 8, 2);
    const plain = augmentedBatch(samples, new Rng(0), 1, [6, 8], NO_AUGMENT);
    assert.deepEqual(Array.from(plain.labels.dataSync()), Array.from(samples[0].labels));
    const px = plain.x.dataSync();
    assert.ok(Array.from(samples[0].image.data).every((v, i) => Math.abs(px[i] - v / 255) < 1e-6));
    const flipped = augmentedBatch(samples, new Rng(0), 1, [6, 8], { ...NO_AUGMENT, flip: true });
    const rng = new Rng(0);
    rng.next(); // the sample index
    const didFlip = rng.next() < 0.5;
    const fl = flipped.labels.dataSync();
    const mirrored = Array.from({ length: 48 }, (_, k) => samples[0].labels[Math.floor(k / 8) * 8 + 7 - (k % 8)]);
    assert.deepEqual(Array.from(fl), didFlip ? mirrored : Array.from(samples[0].labels));
    const aug = { flip: true, scale: [0.7, 1.3] as [number, number], jitter: { brightness: 0.3, contrast: 0.3, saturation: 0.3 } };
    const r1 = new Rng(5);
    const a = augmentedBatch(syntheticSamples(3, 12, 16, 3), r1, 4, [8, 8], aug);
    const r2 = new Rng(5);
    const b = augmentedBatch(syntheticSamples(3, 12, 16, 3), r2, 4, [8, 8], aug);
    assert.deepEqual(a.x.dataSync(), b.x.dataSync());
    assert.deepEqual(a.labels.dataSync(), b.labels.dataSync());
    assert.equal(r1.state, r2.state);
    const xs = a.x.dataSync();
    assert.ok(xs.every((v) => v >= 0 && v <= 1));
    assert.ok(Array.from(a.labels.dataSync()).every((v) => [0, 3, 8, 11].includes(v)), 'nearest-neighbour labels stay labels');
    tf.dispose([plain.x, plain.labels, flipped.x, flipped.labels, a.x, a.labels, b.x, b.labels]);
  });
});

describe('segmenters', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('φ (U-Net) and φ′ (dilated FCN) give [b, h, w, 11] logits for sizes their strides do not divide; no leaks', () => {
    const before = tf.memory().numTensors;
    for (const kind of ['unet', 'dilated'] as const) {
      const s = createSegmenter(kind === 'unet' ? { kind, width: 4, levels: 3 } : { kind, width: 4, dilations: [1, 2] });
      const x = tf.randomUniform([2, 20, 30, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const y = s.logits(x);
      assert.deepEqual(y.shape, [2, 20, 30, 11], kind);
      const p = s.predict(x);
      assert.deepEqual(p.shape, [2, 20, 30]);
      assert.ok(Array.from(y.dataSync()).every(Number.isFinite));
      // features: the head's input averaged over the image, one vector per image (the FD of 04)
      const f = s.features(x);
      assert.deepEqual(f.shape, [2, kind === 'unet' ? 4 : 8], `${kind} features`);
      const second = tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
      const one = s.features(second);
      assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(one, tf.slice(f, [1, 0], [1, -1])))).dataSync()[0]) < 1e-5, 'features of an image depend on that image only');
      tf.dispose([x, y, p, f, one, second]);
      const gray = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
      assert.throws(() => s.logits(gray), /expected images \[b, h, w, 3\], got \[1, 8, 8, 1\]/);
      gray.dispose();
      s.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it('the configured φ has ≤ 1M parameters, φ′ is another architecture with another seed', () => {
    const phiConfig = resolveSegTrainConfig(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'configs', 'seg_phi.json'), 'utf8')));
    const evalConfig = resolveSegTrainConfig(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'configs', 'seg_phi_eval.json'), 'utf8')));
    assert.deepEqual(phiConfig.data.splits, ['train']);
    assert.deepEqual(evalConfig.data.splits, ['train', 'val']);
    assert.notEqual(phiConfig.model.kind, evalConfig.model.kind);
    assert.notEqual(phiConfig.model.seed, evalConfig.model.seed);
    const phi = createSegmenter(phiConfig.model);
    const phiPrime = createSegmenter(evalConfig.model);
    assert.equal(phi.paramCount(), 482203);
    assert.ok(phi.paramCount() <= 1_000_000);
    assert.equal(phiPrime.paramCount(), 250923);
    phi.dispose();
    phiPrime.dispose();
  });

  it('weights are seeded: the same seed gives the same weights, another seed others', () => {
    const [a, b, c] = [0, 0, 1].map((seed) => createSegmenter({ kind: 'dilated', width: 4, dilations: [1], seed }));
    const [wa, wb, wc] = [a, b, c].map(weightValues);
    assert.deepEqual(wa, wb);
    assert.notDeepEqual(wa[0].v, wc[0].v);
    assert.deepEqual(wa.map((w) => w.name), ['stem/a/kernel', 'stem/a/bias', 'stem/b/kernel', 'stem/b/bias', 'stem/c/kernel', 'stem/c/bias', 'context0/kernel', 'context0/bias', 'head/kernel', 'head/bias']);
    [a, b, c].forEach((s) => s.dispose());
  });

  it('one training step lowers the loss on a fixed batch; no tensors survive the step', () => {
    const s = createSegmenter({ kind: 'unet', width: 4, levels: 2 });
    const { x, labels } = camvidTensors(syntheticSamples(2, 16, 16, 4));
    const w = medianFrequencyWeights(syntheticSamples(2, 16, 16, 4).map((t) => t.labels));
    const adam = tf.train.adam(1e-3);
    const lossOf = () => tf.tidy(() => weightedCrossEntropy(s.logits(x), labels, w).dataSync()[0]);
    const l0 = lossOf();
    const r = segmenterTrainStep(s, adam, x, labels, w, { lr: 1e-3, clipNorm: 0 });
    assert.equal(r.applied, true);
    assert.ok(Math.abs(r.loss - l0) < 1e-5, 'the step reports the loss before the update');
    const l1 = lossOf();
    assert.ok(l1 < l0, `loss ${l0} -> ${l1}`);
    const before = tf.memory().numTensors; // Adam's moments exist now
    segmenterTrainStep(s, adam, x, labels, w, { lr: 1e-3, clipNorm: 1 });
    assert.equal(tf.memory().numTensors, before);
    adam.dispose();
    tf.dispose([x, labels]);
    s.dispose();
  });
});

describe('segmenter training, checkpoints and model folders', function () {
  let dir = '';
  const quiet = { log: () => undefined };
  const train = syntheticSamples(6, 16, 24, 10);
  const val = syntheticSamples(2, 16, 24, 11);
  const tiny = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    model: { kind: 'unet', width: 4, levels: 2 },
    data: { crop: [16, 16], batchSize: 2, augment: { scale: [0.8, 1.2] } },
    steps: 4,
    optimizer: { lr: 3e-3 },
    validation: { every: 2, batchSize: 2 },
    checkpointEvery: 2,
    ...extra,
  });
  const reference = { log: [] as SegLogEntry[], weights: [] as Array<{ name: string; v: Float32Array }> };

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-seg-'));
    const r = await trainSegmenter(tiny('reference'), { ...quiet, samples: { train, val }, runDir: path.join(dir, 'reference'), exportDir: path.join(dir, 'models', 'reference') });
    reference.log = r.log;
    reference.weights = weightValues(r.segmenter);
    r.segmenter.dispose();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('logs every step with validation mIoU every 2 steps, and exports a checksummed model folder that loads', async () => {
    assert.deepEqual(reference.log.map((e) => e.step), [1, 2, 3, 4]);
    assert.deepEqual(reference.log.map((e) => e.valMiou !== undefined), [false, true, false, true]);
    assert.ok(reference.log.every((e) => Number.isFinite(e.loss)));
    assert.ok(reference.log[3].valMiou! >= 0 && reference.log[3].valMiou! <= 1);
    const jsonl = fs.readFileSync(path.join(dir, 'reference', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(numbers(jsonl), numbers(reference.log));
    const exportDir = path.join(dir, 'models', 'reference');
    assert.deepEqual(fs.readdirSync(exportDir).sort(), ['SHA256SUMS', 'config.json', 'log.jsonl', 'model.json', 'train.json', 'weights.bin']);
    const info = JSON.parse(fs.readFileSync(path.join(exportDir, 'train.json'), 'utf8'));
    assert.equal(info.steps, 4);
    assert.equal(info.classWeights.length, 11);
    assert.equal(info.validation.miou, reference.log[3].valMiou);
    const before = tf.memory().numTensors;
    const loaded = await loadSegmenter(exportDir);
    assert.deepEqual(weightValues(loaded), reference.weights);
    const scores = evaluateSegmenter(loaded, val, { batchSize: 2 });
    assert.equal(scores.miou, reference.log[3].valMiou, 'evaluateSegmenter reproduces the logged validation mIoU');
    assert.equal(Object.keys(scores.perClass).length, 11);
    loaded.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('resumes exactly: a 4-step run interrupted after step 2 and resumed gives the same log and weights, bitwise; no tensors leak', async () => {
    const runDir = path.join(dir, 'interrupted');
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const first = await trainSegmenter(tiny('interrupted'), {
      ...quiet,
      samples: { train, val },
      runDir,
      exportDir: false,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.step === 2) controller.abort();
      },
    });
    assert.equal(first.stopped, 'aborted');
    assert.equal(first.step, 2);
    first.segmenter.dispose();
    const second = await trainSegmenter(tiny('interrupted'), { ...quiet, samples: { train, val }, runDir, exportDir: false, resume: true });
    assert.equal(second.stopped, 'completed');
    assert.deepEqual(numbers(second.log), numbers(reference.log));
    assert.deepEqual(weightValues(second.segmenter), reference.weights);
    const jsonl = fs.readFileSync(path.join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(numbers(jsonl), numbers(reference.log));
    second.segmenter.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('refuses a checkpoint of another configuration, and a fresh start over a checkpoint', async () => {
    const runDir = path.join(dir, 'reference');
    await assert.rejects(trainSegmenter(tiny('reference', { seed: 3 }), { ...quiet, samples: { train, val }, runDir, exportDir: false }), /trained with a different configuration/);
    await assert.rejects(trainSegmenter(tiny('reference'), { ...quiet, samples: { train, val }, runDir, exportDir: false, resume: false }), /already has a checkpoint/);
  });

  it('save/load: a changed weight file or a missing folder is one clear error', async () => {
    const s = createSegmenter({ kind: 'dilated', width: 4, dilations: [1, 2] });
    const out = path.join(dir, 'models', 'saved');
    await saveSegmenter(s, out);
    const loaded = await loadSegmenter(out);
    assert.deepEqual(weightValues(loaded), weightValues(s));
    loaded.dispose();
    s.dispose();
    const bin = fs.readFileSync(path.join(out, 'weights.bin'));
    bin[0] ^= 1;
    fs.writeFileSync(path.join(out, 'weights.bin'), bin);
    await assert.rejects(loadSegmenter(out), /weights\.bin/);
    await assert.rejects(loadSegmenter(path.join(dir, 'nowhere')), /segmenter folder not found: .*nowhere/);
  });
});

describe('segmenter configs', () => {
  it('strict: unknown keys are named with their path; validation on a trained split is refused', () => {
    assert.throws(() => resolveSegTrainConfig({ name: 'x', model: { kind: 'unet', widht: 8 } }), /unknown key\(s\) "model\.widht"/);
    assert.throws(() => resolveSegTrainConfig({ name: 'x', model: { kind: 'unet' }, data: { augment: { flips: true } } }), /unknown key\(s\) "data\.augment\.flips"/);
    assert.throws(() => resolveSegTrainConfig({ name: 'x', model: { kind: 'segnet' } }), /model\.kind: must be 'unet' or 'dilated'/);
    assert.throws(() => resolveSegTrainConfig({ name: 'x', model: { kind: 'unet' }, data: { splits: ['train', 'val'] } }), /validation\.split "val" is also trained on/);
    const c = resolveSegTrainConfig({ name: 'x', model: { kind: 'dilated' }, seed: 4 });
    assert.equal(c.model.seed, 4, 'the model seed follows the run seed');
    assert.deepEqual(c.data.crop, [176, 224]);
    assert.equal(c.loss.balance, 'median-frequency');
  });
});

describe('CamVid data (skipped without the data set)', function () {
  const dir = path.join(dataMirror(), 'semantic', 'CamVid');
  before(function () {
    if (!hasCamVid('test', dir)) {
      console.log(`      (skipped: no CamVid test split in ${dir})`);
      this.skip();
    }
  });

  it('loads test images 240×180 with their label maps (0..11) and scores a segmenter on them', async () => {
    await initEngine({ quiet: true });
    const samples = await loadCamVid('test', { limit: 2, dir });
    assert.equal(samples.length, 2);
    for (const s of samples) {
      assert.equal(s.image.width, 240);
      assert.equal(s.image.height, 180);
      assert.equal(s.labels.length, 240 * 180);
      assert.ok(s.labels.every((v) => v <= 11));
    }
    const before = tf.memory().numTensors;
    const seg = createSegmenter({ kind: 'dilated', width: 4, dilations: [1] });
    const r = evaluateSegmenter(seg, samples, { batchSize: 2 });
    assert.ok(r.miou >= 0 && r.miou <= 1 && r.pixels > 0 && r.pixels <= 2 * 240 * 180);
    seg.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
