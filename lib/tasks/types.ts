/**
 * A task is a degradation: a forward operator, a noise model (the likelihood) and the range of
 * its parameters. Training draws degraded batches from it; methods (TV, a learned solver,
 * bicubic …) restore what it makes. Nothing here knows about any solver.
 */
import { z } from 'zod';
import { tf } from '../engine/tf';
import { Rng } from '../io/rng';
import { RawImage } from '../io/image';
import { Likelihood } from '../likelihoods/types';

/**
 * One group of a degraded training batch: patches that share an operator (e.g. one SR scale).
 * A batch may have several groups (scales mixed in every batch); the training loss weights each
 * group by its share of the batch.
 */
export interface TrainingGroup {
  /** The targets `[b_g, p, p, c]` (what the solver should recover; e.g. the luma for SR). */
  clean: tf.Tensor4D;
  /** The measurement `y = A(clean) + noise`. */
  y: tf.Tensor4D;
  /** The data term with the operator of this group (and its per-patch σ). */
  likelihood: Likelihood;
  /** The start point of the solvers (default: what `startPoint` makes, e.g. `y` or `Aᵀy`). */
  x0?: tf.Tensor4D;
  /** What was drawn, for error messages: e.g. `x3, σ·255 = [0.4, 1.9]`. */
  describe: string;
}

/**
 * A degradation that training samples from, registered by its `kind` ({@link registerTask}) and
 * chosen in a training config by `task: { kind, ...params }`.
 * @example
 * const inpaint: TaskDefinition<{ keep: number }> = {
 *   kind: 'inpaint',
 *   description: 'random pixel masks',
 *   params: z.object({ keep: z.number().min(0).max(1).default(0.5) }).strict(),
 *   degradeBatch(clean, p, seed) { ... },
 * };
 */
export interface TaskDefinition<P extends object = object, C = unknown> {
  /** The name in configs: `task.kind`. */
  readonly kind: string;
  /** One line for logs and the README. */
  readonly description: string;
  /** The parameters (strict: unknown keys are errors; defaults filled in). */
  readonly params: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Channels of the solver for training images with `dataChannels` (default the same; SR on luma: 1). */
  modelChannels?(dataChannels: number, params: P): number;
  /** Patch sides must be multiples of this (SR: every scale divides the patch). */
  patchMultiple?(params: P): number;
  /** Batch sizes must be multiples of this (SR: the number of scales, one group each). */
  batchMultiple?(params: P): number;
  /**
   * Loads the training images itself instead of `data.dataset` (e.g. images with their label maps
   * stacked as a fourth channel, which the patch sampler crops and flips together).
   */
  loadImages?(params: P, options: { limit?: number }): Promise<RawImage[]>;
  /** Once before training, with the training images: e.g. load a frozen network, compute statistics. Its result is `context`. */
  prepare?(params: P, images: readonly RawImage[]): Promise<C>;
  /** After training: releases what `prepare` made. */
  release?(context: C): void;
  /**
   * Degrades a clean batch `[b, p, p, c]` (in [0, 1]); everything random comes from `seed`, so
   * the batch of step t is the same in a resumed run. The groups are new tensors (release them
   * with {@link disposeGroups}); `clean` is not disposed.
   */
  degradeBatch(clean: tf.Tensor4D, params: P, seed: number, context?: C): TrainingGroup[];
  /** The parameter ranges in words, for the training's first line (e.g. `σ ∈ [5, 55]/255`). */
  summary?(params: P): string;
}

/** A task as a config names it: the definition and its checked parameters. */
export interface ResolvedTask {
  definition: TaskDefinition;
  /** The parameters with defaults, `kind` included. */
  params: { kind: string } & Record<string, unknown>;
}

/** Disposes the tensors of training groups (and their operators). */
export function disposeGroups(groups: readonly TrainingGroup[]): void {
  for (const g of groups) {
    tf.dispose([g.clean, g.y, ...(g.x0 ? [g.x0] : [])]);
    g.likelihood.operator.dispose();
  }
}

/** σ per patch, `U[min, max]/255` from the generator. */
export function drawSigmas(rng: Rng, n: number, min: number, max: number): number[] {
  return Array.from({ length: n }, () => rng.uniform(min, max) / 255);
}

/** A seed for tfjs-side sampling from a generator (never 0: tfjs reads a seed of 0 as "no seed"). */
export function drawSeed(rng: Rng): number {
  return Math.floor(rng.next() * 2147483647) || 1;
}
