/**
 * Three Adam steps of a small RIM on a fixed denoising batch; prints one JSON line with the
 * engine's native state and the losses. Run in a child process by test/native.test.ts to check
 * the LGD_NATIVE=0 fallback against the native kernels in a fresh engine.
 */
import { initEngine, tf } from '../../lib/engine';
import { gruGateKernelsActive, nativeKernelsActive } from '../../lib/engine/native';
import { Rim } from '../../lib/solvers/learned';
import { blindNoise, trainStep } from '../../lib/training';

(async () => {
  await initEngine({ quiet: true });
  const rim = new Rim({ features: 8, steps: 3, seed: 5, epsilon: { learn: false, init: 0 } });
  const optimizer = tf.train.adam(1e-3);
  const clean = tf.randomUniform([2, 12, 10, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const noisy = blindNoise(clean, 25, 25, 1);
  const losses: number[] = [];
  const step = () => losses.push(trainStep(rim, optimizer, [{ clean, y: noisy.y, likelihood: noisy.likelihood, describe: 'test' }], { lr: 1e-3, clipNorm: 0 }).loss);
  step(); // creates Adam's moments
  const tensors = tf.memory().numTensors;
  step();
  step();
  const leaked = tf.memory().numTensors - tensors;
  console.log(JSON.stringify({ native: nativeKernelsActive(), gru: gruGateKernelsActive(), losses, leaked }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
