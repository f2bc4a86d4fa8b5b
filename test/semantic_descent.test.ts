import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import { categoricalLikelihood } from '../lib/likelihoods/categorical';
import { segmentationOperator } from '../lib/operators/segmentation';
import { createSegmenter } from '../lib/segmentation';
import { Rim } from '../lib/solvers/learned';
import { createProblem } from '../lib/tasks/problem';

/**
 * A learned solver trained through ∇ₓ L(φ(x), y) backpropagates through the segmenter's gradient
 * (second derivatives of φ): φ must be built from ops whose gradients tfjs can differentiate again.
 */
describe('learned descent through a segmenter (second derivatives of φ)', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ quiet: true });
  });

  const lossGrads = (pool: 'avg' | 'max') => {
    const seg = createSegmenter({ kind: 'unet', width: 4, levels: 2, pool, seed: 1 });
    const op = segmentationOperator({ classes: 11, logits: (x: tf.Tensor4D) => seg.logits(x) });
    const likelihood = categoricalLikelihood(op, { ignoreLabel: 11 });
    const x0 = tf.randomUniform([1, 20, 12, 3], 0, 1, 'float32', 1) as tf.Tensor4D; // 20: not a multiple of 4 (mirror padding)
    const y = tf.tidy(() => tf.floor(tf.randomUniform([1, 20, 12, 1], 0, 12, 'float32', 2))) as tf.Tensor4D; // 11 = ignored
    const clean = tf.randomUniform([1, 20, 12, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const rim = new Rim({ channels: 3, features: 4, steps: 2, seed: 4 });
    const problem = createProblem({ likelihood, y });
    try {
      const { value, grads } = tf.variableGrads(() => {
        const xs = rim.run(y, problem, { x0 });
        return tf.mean(tf.squaredDifference(xs[1], clean)) as tf.Scalar;
      }, rim.trainableVariables());
      const finite = Object.values(grads).every((g) => Number.isFinite(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0])));
      const nonzero = Object.values(grads).some((g) => tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]) > 0);
      tf.dispose([value, ...Object.values(grads)]);
      return { finite, nonzero };
    } finally {
      tf.dispose([x0, y, clean]);
      rim.dispose();
      seg.dispose();
    }
  };

  it("φ's default U-Net (average pooling as reshape + mean) trains a RIM through its gradient", () => {
    const before = tf.memory().numTensors;
    const r = lossGrads('avg');
    assert.ok(r.finite && r.nonzero);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  });

  it('max pooling cannot: tfjs has no gradient for MaxPoolGrad (why the default is avg)', () => {
    assert.throws(() => lossGrads('max'), /gradient function not found for MaxPoolGrad/);
  });
});
