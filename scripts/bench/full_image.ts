/**
 * Full-size inference: the RIM-bench network (F features, T steps) restoring one 481×321 image —
 * denoising at that size, and ×4 super-resolution with its state at the HR size 480×320 (the
 * likelihood gradient through the bicubic operator) — timed, with the peak of the wasm heap.
 */
import { tf } from '../../lib/engine/tf';
import { gaussianLikelihood } from '../../lib/likelihoods';
import { downsample, identity } from '../../lib/operators';
import { Rim } from '../../lib/solvers/learned';
import { createProblem } from '../../lib/tasks/problem';
import { median } from './common';

/** One full-image case. */
export interface FullImageCase {
  name: 'denoise 481x321' | 'sr x4 480x320';
  /** The image the network's state has (HR for SR). */
  height: number;
  width: number;
  scale: number;
}

export const FULL_IMAGE_CASES: readonly FullImageCase[] = [
  { name: 'denoise 481x321', height: 321, width: 481, scale: 1 },
  { name: 'sr x4 480x320', height: 320, width: 480, scale: 4 },
];

/** The size of the wasm heap in bytes (it only grows: after a run, the peak), or undefined off wasm. */
export function wasmHeapBytes(): number | undefined {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.length;
}

/**
 * Times T forward steps of the RIM on one full image (median of `iters` after `warmup`), the
 * output read back; reports the wasm heap before and after (it never shrinks: after = the peak).
 */
export function timeFullImage(c: FullImageCase, o: { features: number; steps: number; iters: number; warmup: number; clock: () => number }) {
  const rim = new Rim({ features: o.features, steps: o.steps, epsilon: { learn: false, init: 1e-3 } });
  const operator = c.scale === 1 ? identity() : downsample(c.scale);
  const likelihood = gaussianLikelihood(operator, { sigma: c.scale === 1 ? 25 / 255 : 1 / 255 });
  const x = tf.randomUniform([1, c.height, c.width, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  const y = tf.tidy(() => (c.scale === 1 ? tf.add(x, tf.randomNormal(x.shape, 0, 25 / 255, 'float32', 8)) : operator.forward(x))) as tf.Tensor4D;
  const x0 = tf.tidy(() => (c.scale === 1 ? y.clone() : tf.image.resizeBilinear(y, [c.height, c.width]))) as tf.Tensor4D;
  const problem = createProblem({ likelihood, y });
  const heapBefore = wasmHeapBytes();
  const run = () => {
    const xs = tf.tidy(() => rim.run(y, problem, { x0 }));
    xs[xs.length - 1].dataSync();
    tf.dispose(xs);
  };
  try {
    for (let i = 0; i < o.warmup; i++) run();
    const t: number[] = [];
    for (let i = 0; i < o.iters; i++) {
      const t0 = o.clock();
      run();
      t.push(o.clock() - t0);
    }
    return { forward_ms: median(t), heap_mb_before: heapBefore ? heapBefore / 2 ** 20 : undefined, heap_mb_peak: (wasmHeapBytes() ?? 0) / 2 ** 20 || undefined, params: rim.paramCount() };
  } finally {
    tf.dispose([x, y, x0]);
    operator.dispose();
    rim.dispose();
  }
}
