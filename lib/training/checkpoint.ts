/**
 * Checkpoints of a training run, for exact resumption: the solver's weights, Adam's state
 * (`optimizer.getWeights()`: the step count and both moments, plus the running powers β₁ᵗ, β₂ᵗ,
 * which `setWeights` would otherwise recompute as `pow(β, t)` and so differ in the last bit), the
 * patch sampler's RNG state, the step, the noise seed and the log so far.
 *
 * Layout of a run folder:
 * ```
 * <run>/config.json                     the training configuration
 * <run>/checkpoints/step-000100/        model.json, weights.bin, config.json, optimizer.json,
 *                                       optimizer.bin, state.json, SHA256SUMS (written atomically)
 * <run>/latest.json                     { step, dir } of the newest checkpoint (written last)
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { writeFileAtomic } from '../io/files';
import { decodeWeightFiles, encodeWeightFiles, verifyChecksums, writeFolderAtomic } from '../solvers/learned/io';
import { LearnedSolver } from '../solvers/learned/types';
import { LogEntry } from './log';

/** Everything besides tensors that a resumed run needs. */
export interface CheckpointState {
  /** Optimizer steps done. */
  step: number;
  /** The patch sampler's RNG state after the last batch. */
  samplerState: number;
  /** The run's seed (noise of step t comes from (seed, t)). */
  seed: number;
  /** Seconds of training so far. */
  wallTime: number;
  /** The canonical config of the numerics (see `numericsKey`). */
  configKey: string;
  /** The log up to `step`. */
  log: LogEntry[];
  engine: string;
  /** Changes of the cosine schedule's horizon on resumption (absent when there were none). */
  horizons?: HorizonChange[];
}

/** From step `fromStep` on, the schedule ran towards `steps` total steps. */
export interface HorizonChange {
  fromStep: number;
  steps: number;
}

interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

/** The folder name of step `step`'s checkpoint. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** The newest checkpoint of a run folder (from `latest.json`), or undefined. */
export function latestCheckpoint(runDir: string): { step: number; dir: string } | undefined {
  const file = path.join(runDir, 'latest.json');
  if (!fs.existsSync(file)) return undefined;
  const latest = JSON.parse(fs.readFileSync(file, 'utf8')) as { step: number; dir: string };
  return { step: latest.step, dir: path.join(runDir, latest.dir) };
}

/**
 * Writes the checkpoint of `state.step` into `<runDir>/checkpoints/`, then points `latest.json` at
 * it and deletes all but the newest `keep` checkpoints.
 * @returns the checkpoint folder
 */
export async function writeCheckpoint(
  runDir: string,
  solver: LearnedSolver,
  optimizer: tf.AdamOptimizer,
  state: CheckpointState,
  keep: number,
): Promise<string> {
  const name = checkpointName(state.step);
  const dir = path.join(runDir, 'checkpoints', name);
  const weights = solver.getWeights();
  const optWeights = await optimizer.getWeights(); // [iter, m_1..m_n, v_1..v_n]; iter is a new tensor
  try {
    const model = await encodeWeightFiles(weights, 'weights.bin');
    const opt = await encodeWeightFiles(optWeights, 'optimizer.bin');
    const { accBeta1, accBeta2 } = optimizer as unknown as AdamInternals;
    const optimizerJson = {
      config: optimizer.getConfig(),
      accBeta1: accBeta1.dataSync()[0],
      accBeta2: accBeta2.dataSync()[0],
      weightsManifest: opt.manifest,
    };
    writeFolderAtomic(dir, {
      'model.json': JSON.stringify({ kind: solver.kind, paramCount: solver.paramCount(), weightsManifest: model.manifest }),
      'weights.bin': model.data,
      'config.json': JSON.stringify(solver.config, null, 2),
      'optimizer.json': JSON.stringify(optimizerJson),
      'optimizer.bin': opt.data,
      'state.json': JSON.stringify(state),
    });
  } finally {
    tf.dispose(weights.map((w) => w.tensor));
    optWeights[0].tensor.dispose();
  }
  writeFileAtomic(path.join(runDir, 'latest.json'), JSON.stringify({ step: state.step, dir: path.join('checkpoints', name) }) + '\n');
  const all = fs
    .readdirSync(path.join(runDir, 'checkpoints'))
    .filter((d) => /^step-\d+$/.test(d))
    .sort();
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    if (old !== name) fs.rmSync(path.join(runDir, 'checkpoints', old), { recursive: true, force: true });
  }
  return dir;
}

/**
 * Restores a checkpoint into a freshly built solver (same config) and a fresh Adam optimizer,
 * after verifying its checksums.
 * @returns the non-tensor state
 */
export async function readCheckpoint(dir: string, solver: LearnedSolver, optimizer: tf.AdamOptimizer): Promise<CheckpointState> {
  verifyChecksums(dir, ['model.json', 'weights.bin', 'config.json', 'optimizer.json', 'optimizer.bin', 'state.json']);
  const weights = decodeWeightFiles(dir, 'model.json');
  try {
    solver.setWeights(weights);
  } finally {
    tf.dispose(Object.values(weights));
  }
  const optJson = JSON.parse(fs.readFileSync(path.join(dir, 'optimizer.json'), 'utf8')) as {
    accBeta1: number;
    accBeta2: number;
    weightsManifest: tf.io.WeightsManifestConfig;
  };
  const optMap = decodeWeightFiles(dir, 'optimizer.json');
  // decodeWeights keeps the manifest order: iter, first moments, second moments.
  const list = optJson.weightsManifest.flatMap((g) => g.weights.map((s) => ({ name: s.name, tensor: optMap[s.name] })));
  try {
    await optimizer.setWeights(list);
    const internals = optimizer as unknown as AdamInternals;
    tf.tidy(() => {
      internals.accBeta1.assign(tf.scalar(optJson.accBeta1));
      internals.accBeta2.assign(tf.scalar(optJson.accBeta2));
    });
  } finally {
    tf.dispose(Object.values(optMap));
  }
  return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
}
