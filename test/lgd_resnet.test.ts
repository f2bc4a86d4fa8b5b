import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import { gaussianLikelihood } from '../lib/likelihoods';
import { identity } from '../lib/operators';
import { Lgd } from '../lib/solvers/learned';
import { createProblem } from '../lib/tasks/problem';

describe('LGD with a residual update network (blocks > 0)', function () {
  this.timeout(60_000);
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('matches the RIM-sized budget, runs, and keeps the published net when blocks = 0', () => {
    const small = new Lgd({});
    const large = new Lgd({ features: 40, blocks: 4 });
    assert.equal(small.paramCount(), 13318, 'blocks 0: the three-conv net of lgd_gray (its weights still load)');
    assert.equal(large.paramCount(), 120606, 'about the RIM-bench cell’s 122k');
    assert.ok(large.getWeights().some((w) => { const n = w.name; w.tensor.dispose(); return n === 'net/block3/conv2/kernel'; }));
    const y = tf.randomUniform([1, 12, 12, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const problem = createProblem({ likelihood: gaussianLikelihood(identity(), { sigma: 0.1 }), y });
    const before = tf.memory().numTensors;
    const xs = large.run(y, problem, { steps: 3 });
    assert.equal(xs.length, 3);
    assert.ok(xs.every((x) => x.shape.join() === '1,12,12,1'));
    tf.dispose(xs);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.throws(() => new Lgd({ blocks: -1 }), /blocks must be an integer >= 0/);
    [small, large].forEach((s) => s.dispose());
    y.dispose();
  });
});
