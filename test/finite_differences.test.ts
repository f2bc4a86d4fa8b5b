import { strict as assert } from 'assert';
import { initEngine, tf } from '../lib/engine';
import { imageGradient, imageGradientAdjoint } from '../lib/priors/finite_differences';

/** The strided reference: x[:, :, 1:] − x[:, :, :−1], zero last column; its adjoint. */
function widthReference(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => tf.pad(tf.sub(tf.slice(x, [0, 0, 1, 0], [b, h, w - 1, c]), tf.slice(x, [0, 0, 0, 0], [b, h, w - 1, c])), [[0, 0], [0, 0], [0, 1], [0, 0]]) as tf.Tensor4D);
}
function widthAdjointReference(p: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = p.shape;
  return tf.tidy(() => {
    const head = tf.slice(p, [0, 0, 0, 0], [b, h, w - 1, c]);
    return tf.sub(tf.pad(head, [[0, 0], [0, 0], [1, 0], [0, 0]]), tf.pad(head, [[0, 0], [0, 0], [0, 1], [0, 0]])) as tf.Tensor4D;
  });
}

describe('finite differences along the width (flattened, masked)', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });
  it('equal the strided form exactly (float32 values), for every shape, and leak nothing', () => {
    for (const shape of [[1, 31, 47, 1], [2, 7, 9, 3], [1, 4, 2, 1], [3, 1, 5, 2]] as [number, number, number, number][]) {
      const x = tf.randomUniform(shape, 0, 1, 'float32', 1) as tf.Tensor4D;
      const p = tf.randomUniform(shape, -1, 1, 'float32', 2) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const [dv, dh] = imageGradient(x);
      const adj = imageGradientAdjoint(tf.zerosLike(p) as tf.Tensor4D, p);
      const ref = widthReference(x);
      const refAdj = widthAdjointReference(p);
      // Equal as numbers (===: the masked zeros of the flat form may carry a sign, −0 === 0).
      const same = (a: tf.Tensor, b: tf.Tensor) => { const u = a.dataSync(); const v = b.dataSync(); return u.length === v.length && u.every((q, i) => q === v[i]); };
      assert.ok(same(dh, ref), `D_h ${shape}`);
      assert.ok(same(adj, refAdj), `D_hᵀ ${shape}`);
      tf.dispose([dv, dh, adj, ref, refAdj]);
      assert.ok(tf.memory().numTensors <= before + 1, 'no tensors kept (one zerosLike of the call)');
      tf.dispose([x, p]);
    }
  });
});
