/** One optimizer step of a learned solver: loss over iterates, gradients, clipping, NaN check, Adam. */
import { tf } from '../engine/tf';
import { createProblem } from '../tasks/problem';
import { TrainingGroup } from '../tasks/types';
import { LearnedSolver } from '../solvers/learned/types';
import { clipByGlobalNorm } from './clip';
import { iterateDataTerm, iterateLoss } from './loss';
import { mixSeed } from './noise';

/** Options of {@link trainStep}. */
export interface TrainStepOptions {
  /** Learning rate of this step (set on the optimizer before the update). */
  lr: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clipNorm: number;
  /** Loss weights `w_t` (default all 1). */
  stepWeights?: readonly number[];
  /** Weight of the data term `L(y, x_t)` per measurement entry added to the MSE ({@link iterateDataTerm}); default 0 (none). */
  dataWeight?: number;
  /**
   * The data term at `x_t + sigma·n` instead of `x_t` (`n` standard Gaussian, a fresh draw per group and
   * iterate from `seed`, so a step is reproducible); absent: at `x_t`. Only with `dataWeight`.
   */
  dataNoise?: { sigma: number; seed: number };
}

/** What {@link trainStep} measured. */
export interface TrainStepResult {
  /** The loss of the batch before the update. */
  loss: number;
  /** The global gradient norm before clipping. */
  gradNorm: number;
  /** False when the loss or the norm was not finite: then nothing was updated. */
  applied: boolean;
}

/**
 * One step: `L = Σ_g (b_g/b) Σ_t w_t MSE(x_t, x)/Σ w_t` over `solver.run(y_g, problem_g)` for
 * each group of the batch (one group: plain `Σ_t w_t MSE/Σ w_t`), its gradients with respect to
 * every trainable variable (zeros for any the loss does not reach, so Adam's moments keep their
 * positions), clipping by global norm, and — only when loss and norm are finite — the Adam update
 * with learning rate `lr`. No tensors survive the call (the groups stay the caller's).
 * @example
 * const { loss } = trainStep(rim, adam, task.degradeBatch(clean, params, seed), { lr: 1e-3, clipNorm: 1 });
 */
export function trainStep(solver: LearnedSolver, optimizer: tf.AdamOptimizer, groups: readonly TrainingGroup[], options: TrainStepOptions): TrainStepResult {
  if (groups.length === 0) throw new Error('trainStep: no training groups');
  const total = groups.reduce((a, g) => a + g.clean.shape[0], 0);
  const problems = groups.map((g) => createProblem({ likelihood: g.likelihood, y: g.y }));
  return optimizerStep(optimizer, solver.trainableVariables(), () => {
    const terms = groups.map((g, i) => {
      const xs = solver.run(g.y, problems[i], g.x0 ? { x0: g.x0 } : {});
      let loss = iterateLoss(xs, g.clean, options.stepWeights);
      if (options.dataWeight) {
        let draw = 0;
        const noise = options.dataNoise;
        const at = (x: tf.Tensor4D): tf.Tensor4D => (noise && noise.sigma > 0 ? (tf.add(x, tf.randomNormal(x.shape, 0, noise.sigma, 'float32', mixSeed(noise.seed, i, draw++))) as tf.Tensor4D) : x);
        loss = tf.add(loss, tf.mul(iterateDataTerm(xs, (x) => g.likelihood.value(at(x), g.y), g.y.size, options.stepWeights), options.dataWeight)) as tf.Scalar;
      }
      return groups.length === 1 ? loss : tf.mul(loss, g.clean.shape[0] / total);
    });
    return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
  }, options);
}

/**
 * One optimizer step of any model: the loss and its gradients with respect to `vars` (zeros for
 * any the loss does not reach, so Adam's moments keep their positions), clipping by global norm
 * (`clipNorm` 0: none), and — only when loss and norm are finite — the Adam update with rate
 * `lr`. No tensors survive the call.
 * @example
 * const { loss, applied } = optimizerStep(adam, net.trainableVariables(), () => lossOf(net), { lr: 1e-3, clipNorm: 1 });
 */
export function optimizerStep(optimizer: tf.AdamOptimizer, vars: tf.Variable[], loss: () => tf.Scalar, options: { lr: number; clipNorm: number }): TrainStepResult {
  const { value, grads } = tf.variableGrads(loss, vars);
  const ordered: tf.NamedTensorMap = {};
  for (const v of vars) ordered[v.name] = grads[v.name] ?? tf.zerosLike(v);
  const { grads: clipped, norm } = clipByGlobalNorm(ordered, options.clipNorm);
  try {
    const lossValue = value.dataSync()[0];
    const gradNorm = norm.dataSync()[0];
    const applied = Number.isFinite(lossValue) && Number.isFinite(gradNorm);
    if (applied) {
      (optimizer as unknown as { learningRate: number }).learningRate = options.lr;
      optimizer.applyGradients(clipped as unknown as Parameters<typeof optimizer.applyGradients>[0]);
    }
    return { loss: lossValue, gradNorm, applied };
  } finally {
    tf.dispose([...new Set([value, norm, ...Object.values(grads), ...Object.values(ordered), ...Object.values(clipped)])]);
  }
}
