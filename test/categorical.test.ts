import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import { categoricalLikelihood } from '../lib/likelihoods';
import { argmaxLabels, segmentationOperator, SegmenterLike } from '../lib/operators';
import { fisherWeightOnImageGrid, normalisedDataGradient } from '../lib/solvers/learned/data_term';
import { createProblem } from '../lib/tasks/problem';
import { centralDifferences, rand, relativeError } from './helpers/numeric';
import { TinySegmenter } from './helpers/tiny_segmenter';

const B = 2;
const H = 4;
const W = 5;
const K = 3;
const IGNORE = 11;
const SHAPE = [B, H, W, 3];

/** Float64 Σ_p w_{y_p} (logsumexp(z_p) − z_{p,y_p}) per image over labelled pixels. */
function ce64(z: Float64Array, labels: ArrayLike<number>, weights?: readonly number[]): number[] {
  const out = new Array(B).fill(0);
  for (let p = 0; p < labels.length; p++) {
    const l = labels[p];
    if (l === IGNORE) continue;
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, z[p * K + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(z[p * K + k] - m);
    out[Math.floor(p / (H * W))] += (weights ? weights[l] : 1) * (m + Math.log(s) - z[p * K + l]);
  }
  return out;
}

describe('segmentation operator and categorical likelihood', () => {
  let seg: TinySegmenter;
  let x: tf.Tensor4D;
  let y: tf.Tensor4D;
  let x64: Float64Array;
  let labels: number[];
  let baseline: number;

  before(async () => {
    await initEngine({ quiet: true });
    seg = TinySegmenter.random(5, K, 4);
    const r = rand(9);
    x64 = Float64Array.from({ length: B * H * W * 3 }, () => 0.1 + 0.8 * r());
    // every class and some ignored pixels, in both images
    labels = Array.from({ length: B * H * W }, (_, i) => (i % 7 === 3 ? IGNORE : i % K));
    x = tf.tensor4d(Float32Array.from(x64), SHAPE as [number, number, number, number]);
    y = tf.tensor4d(labels, [B, H, W, 1]);
  });
  after(() => {
    tf.dispose([x, y]);
    seg.dispose();
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    assert.equal(tf.memory().numTensors, baseline, 'tensor leak');
  });

  describe('segmentationOperator', () => {
    it('maps an image to the segmenter logits [b, h, w, K]; vjp matches finite differences of <φ(x), v>', () => {
      const A = segmentationOperator(seg, { name: 'φ' });
      assert.deepEqual(A.outputShape(SHAPE), [B, H, W, K]);
      const z = A.forward(x);
      assert.ok(relativeError(Array.from(z.dataSync()), seg.logits64(x64, SHAPE)) < 1e-5);
      const v64 = Float64Array.from({ length: B * H * W * K }, (_, i) => Math.sin(i));
      const v = tf.tensor4d(Float32Array.from(v64), [B, H, W, K]);
      const g = A.vjp(x, v);
      assert.deepEqual(g.shape, SHAPE);
      const inner = (t: Float64Array) => seg.logits64(t, SHAPE).reduce((s, zi, i) => s + zi * v64[i], 0);
      const fd = centralDifferences(inner, x64);
      assert.ok(relativeError(Array.from(g.dataSync()), fd) < 1e-4, `vjp vs finite differences: ${relativeError(Array.from(g.dataSync()), fd)}`);
      tf.dispose([z, v, g]);
      A.dispose();
      assert.equal(seg.disposed, false, 'a shared segmenter is not disposed with the operator');
    });

    it('names the shapes for a non-RGB input and for a segmenter whose logits do not fit', () => {
      const A = segmentationOperator(seg, { name: 'φ' });
      assert.throws(() => A.outputShape([1, 4, 4, 1]), /φ: input shape \[1, 4, 4, 1\] is invalid: the segmenter takes RGB images \[b, h, w, 3\], got 1 channel/);
      const liar: SegmenterLike = { classes: 4, logits: (t) => seg.logits(t) };
      const B2 = segmentationOperator(liar, { name: 'liar' });
      assert.throws(() => B2.forward(x), /liar: input shape \[2, 4, 5, 3\] is invalid: the segmenter maps it to \[2, 4, 5, 3\], expected \[2, 4, 5, 4\]/);
      assert.throws(() => segmentationOperator({ classes: 1, logits: (t) => t }), /classes must be an integer >= 2, got 1/);
      assert.throws(() => segmentationOperator({ classes: 3, logits: (t) => t }, { own: true }), /own: true needs a segmenter with a dispose\(\) method/);
    });

    it('disposes the segmenter only when it owns it', () => {
      const mine = TinySegmenter.random(1);
      segmentationOperator(mine).dispose();
      assert.equal(mine.disposed, false);
      segmentationOperator(mine, { own: true }).dispose();
      assert.equal(mine.disposed, true);
    });

    it('argmaxLabels gives the most likely class as a [b, h, w, 1] float32 label map', () => {
      const z = tf.tensor4d([0, 2, 1, 5, -1, 0], [1, 1, 2, 3]);
      const l = argmaxLabels(z);
      assert.deepEqual(l.shape, [1, 1, 2, 1]);
      assert.equal(l.dtype, 'float32');
      assert.deepEqual(Array.from(l.dataSync()), [1, 0]);
      tf.dispose([z, l]);
    });
  });

  describe('categoricalLikelihood', () => {
    /** value, per-image values and gradient against float64 references, finite differences and autodiff. */
    function check(weights?: number[]): void {
      const A = segmentationOperator(seg, { name: 'φ' });
      const lik = categoricalLikelihood(A, { ignoreLabel: IGNORE, classWeights: weights });
      const nll64 = (t: Float64Array) => ce64(seg.logits64(t, SHAPE), labels, weights);
      const ref = nll64(x64);
      const perImage = lik.valuePerImage(x, y);
      const value = lik.value(x, y);
      assert.deepEqual(perImage.shape, [B]);
      const pi = perImage.dataSync();
      for (let n = 0; n < B; n++) assert.ok(Math.abs(pi[n] - ref[n]) <= 1e-5 * Math.abs(ref[n]), `image ${n}: ${pi[n]} vs float64 ${ref[n]}`);
      assert.ok(Math.abs(value.dataSync()[0] - (ref[0] + ref[1])) <= 1e-5 * (ref[0] + ref[1]));
      const g = lik.grad(x, y);
      assert.deepEqual(g.shape, SHAPE);
      const fd = centralDifferences((t) => nll64(t).reduce((a, b) => a + b, 0), x64);
      const err = relativeError(Array.from(g.dataSync()), fd);
      assert.ok(err < 1e-4, `grad vs finite differences: ${err}`);
      const auto = tf.tidy(() => tf.grad((t: tf.Tensor) => lik.value(t as tf.Tensor4D, y))(x));
      assert.ok(relativeError(Array.from(g.dataSync()), Array.from(auto.dataSync())) < 1e-4);
      tf.dispose([perImage, value, g, auto]);
    }

    it('value is the cross-entropy summed over labelled pixels per image; grad matches finite differences and autodiff', () => {
      check();
    });

    it('weights each pixel by the class weight of its label', () => {
      check([0.5, 2, 1.25]);
    });

    it('ignore-label pixels add nothing to the value or the gradient', () => {
      const lik = categoricalLikelihood(segmentationOperator(seg), { ignoreLabel: IGNORE });
      const none = tf.fill([B, H, W, 1], IGNORE) as tf.Tensor4D;
      const v = lik.valuePerImage(x, none);
      const g = lik.grad(x, none);
      assert.ok(v.dataSync().every((e) => e === 0) && v.size === B);
      assert.ok(g.dataSync().every((e) => e === 0));
      // one labelled pixel: the value is that pixel's CE alone, whatever the others' labels were
      const one = tf.tidy(() => tf.tensor4d(labels.map((l, i) => (i === 6 ? l : IGNORE)), [B, H, W, 1]));
      const v1t = lik.value(x, one);
      const v1 = v1t.dataSync()[0];
      const expected = ce64(seg.logits64(x64, SHAPE), labels.map((l, i) => (i === 6 ? l : IGNORE)));
      assert.ok(labels[6] !== IGNORE && Math.abs(v1 - expected[0]) < 1e-5 * expected[0] && expected[1] === 0);
      tf.dispose([none, v, g, one, v1t]);
    });

    it('accepts an ignore label inside 0..K−1 (that class then counts nowhere)', () => {
      const lik = categoricalLikelihood(segmentationOperator(seg), { ignoreLabel: 0 });
      const zeroed = labels.map((l) => (l === IGNORE ? 0 : l)); // 0 is now the ignore label, 11 an unknown class
      const y0 = tf.tensor4d(zeroed, [B, H, W, 1]);
      const v = lik.valuePerImage(x, y0);
      const ref = ce64(seg.logits64(x64, SHAPE), zeroed.map((l) => (l === 0 ? IGNORE : l)));
      const pi = v.dataSync();
      for (let n = 0; n < B; n++) assert.ok(Math.abs(pi[n] - ref[n]) < 1e-5 * ref[n], `image ${n}: ${pi[n]} vs ${ref[n]}`);
      assert.throws(() => lik.value(x, y), /y holds label 11 at image 0, row 0, column 3: expected a class 0\.\.2 or the ignore label 0/);
      tf.dispose([v, y0]);
    });

    it('names the shapes when y is not a label map of the image size', () => {
      const lik = categoricalLikelihood(segmentationOperator(seg, { name: 'φ' }));
      const wrong = [tf.zeros([B, H, W, K]), tf.zeros([B, H + 1, W, 1])] as tf.Tensor4D[];
      assert.throws(() => lik.value(x, wrong[0]), /y has shape \[2, 4, 5, 3\] but A = φ maps x \[2, 4, 5, 3\] to \[2, 4, 5, 3\], whose measurement has shape \[2, 4, 5, 1\]/);
      assert.throws(() => lik.grad(x, wrong[1]), /y has shape \[2, 5, 5, 1\] but A = φ maps x \[2, 4, 5, 3\]/);
      tf.dispose(wrong);
    });

    it('names the offending label value and its pixel (unknown class, non-integer), and bad class weights', () => {
      const lik = categoricalLikelihood(segmentationOperator(seg, { name: 'φ' }));
      const bad = tf.tidy(() => tf.tensor4d(labels.map((l, i) => (i === H * W + 7 ? 5 : l)), [B, H, W, 1]));
      const half = tf.tidy(() => tf.tensor4d(labels.map((l, i) => (i === 2 ? 1.5 : l)), [B, H, W, 1]));
      assert.throws(() => lik.value(x, bad), /categorical\(ignore=11\) ∘ φ: y holds label 5 at image 1, row 1, column 2: expected a class 0\.\.2 or the ignore label 11/);
      assert.throws(() => lik.grad(x, half), /y holds label 1\.5 at image 0, row 0, column 2/);
      assert.throws(() => categoricalLikelihood(segmentationOperator(seg), { classWeights: [1, -1, 1] }), /classWeights must be finite, >= 0 and not all 0/);
      const four = categoricalLikelihood(segmentationOperator(seg, { name: 'φ' }), { classWeights: [1, 1, 1, 1] });
      assert.throws(() => four.value(x, y), /classWeights has 4 values but A gives 3 classes/);
      tf.dispose([bad, half]);
    });

    it('gives the Gauss–Newton weight ½·max w, which bounds the softmax Fisher w(diag p − ppᵀ) at every pixel', () => {
      const A = segmentationOperator(seg);
      const w1 = categoricalLikelihood(A).gaussNewtonWeight(x);
      const w2 = categoricalLikelihood(A, { classWeights: [1, 3, 2] }).gaussNewtonWeight(x);
      assert.deepEqual(w1.shape, []);
      assert.deepEqual(Array.from(w1.dataSync()), [0.5]);
      assert.deepEqual(Array.from(w2.dataSync()), [1.5]);
      // vᵀ(diag p − ppᵀ)v ≤ ½‖v‖² for random softmax vectors p and directions v, and nearly ½ for the worst case
      const r = rand(4);
      let worst = 0;
      for (let trial = 0; trial < 2000; trial++) {
        const z = Array.from({ length: K }, () => (r() - 0.5) * 8);
        const e = z.map((zi) => Math.exp(zi));
        const s = e.reduce((a, b) => a + b, 0);
        const p = e.map((ei) => ei / s);
        const v = Array.from({ length: K }, () => r() - 0.5);
        const pv = p.reduce((a, pi, i) => a + pi * v[i], 0);
        const quad = p.reduce((a, pi, i) => a + pi * v[i] * v[i], 0) - pv * pv;
        worst = Math.max(worst, quad / v.reduce((a, vi) => a + vi * vi, 0));
      }
      assert.ok(worst <= 0.5 && worst > 0.4, `largest Rayleigh quotient ${worst}`);
      // the learned solvers' weight on the image grid is that finite scalar
      const onGrid = fisherWeightOnImageGrid(categoricalLikelihood(A), x);
      const ng = normalisedDataGradient(categoricalLikelihood(A), x, y);
      const g = categoricalLikelihood(A).grad(x, y);
      assert.ok(relativeError(Array.from(ng.dataSync()), Array.from(g.dataSync(), (v) => 2 * v)) < 1e-6);
      assert.deepEqual(Array.from(onGrid.dataSync()), [0.5]);
      tf.dispose([w1, w2, onGrid, ng, g]);
    });

    it('samples labels from the softmax, reproducibly for a seed (0 included), never the ignore label', () => {
      const probs = [0.6, 0.3, 0.1];
      const constant: SegmenterLike = { classes: 3, logits: (t) => tf.tidy(() => tf.add(tf.zeros([...t.shape.slice(0, 3), 3]), tf.tensor1d(probs.map(Math.log))) as tf.Tensor4D) };
      const lik = categoricalLikelihood(segmentationOperator(constant));
      const big = tf.zeros([2, 64, 64, 3]) as tf.Tensor4D;
      const a = lik.sample(big, 7);
      const b = lik.sample(big, 7);
      const c = lik.sample(big, 8);
      const z0 = lik.sample(big, 0);
      const z1 = lik.sample(big, 0);
      const fromRng = lik.sample(big, { next: rand(3) });
      assert.deepEqual(a.shape, [2, 64, 64, 1]);
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
      assert.deepEqual(Array.from(z0.dataSync()), Array.from(z1.dataSync()));
      assert.notDeepEqual(Array.from(a.dataSync()), Array.from(c.dataSync()));
      const d = a.dataSync();
      const counts = [0, 0, 0];
      for (const v of d) counts[v]++;
      counts.forEach((n, k) => assert.ok(Math.abs(n / d.length - probs[k]) < 0.02, `class ${k}: frequency ${n / d.length} vs ${probs[k]}`));
      // a sample is a valid measurement of the likelihood
      const v = lik.value(big, a);
      assert.ok(Number.isFinite(v.dataSync()[0]));
      tf.dispose([big, a, b, c, z0, z1, fromRng, v]);
    });

    it('joins a Problem: y is the label map, checkInput names the shapes', () => {
      const lik = categoricalLikelihood(segmentationOperator(seg, { name: 'φ' }));
      const problem = createProblem({ likelihood: lik, y, box: [0, 1] });
      problem.checkInput(x, 'x0');
      const f = problem.objective(x);
      assert.ok(Math.abs(f - ce64(seg.logits64(x64, SHAPE), labels).reduce((s, v) => s + v, 0)) < 1e-4 * f);
      const small = tf.zeros([B, H - 1, W, 3]);
      assert.throws(() => problem.checkInput(small, 'x0'), /problem: y has shape \[2, 4, 5, 1\] but A = φ maps x \[2, 3, 5, 3\] to \[2, 3, 5, 3\], whose measurement has shape \[2, 3, 5, 1\] \(x0 has shape \[2, 3, 5, 3\]\)/);
      small.dispose();
    });
  });
});
