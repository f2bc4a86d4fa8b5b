/**
 * Saving and loading learned solvers in the tfjs weights format, checksummed and atomic.
 *
 * A model folder holds:
 * - `model.json`: `{ format, kind, paramCount, weightsManifest: [{ paths: ['weights.bin'], weights }] }`
 *   (the `weightsManifest` of tfjs' model.json, so `tf.io.decodeWeights` reads it);
 * - `weights.bin`: the float32 weights, concatenated (`tf.io.encodeWeights`);
 * - `config.json`: the solver configuration ({@link createLearnedSolver} rebuilds it);
 * - any extra files the caller adds (training log, command line ...);
 * - `SHA256SUMS`: `sha256sum`-compatible lines `<hex>  <file>` for every other file
 *   (check by hand with `cd <dir> && sha256sum -c SHA256SUMS`).
 *
 * The folder is written next to its final place, flushed to disk and renamed into it
 * (`writeFolderAtomic` of `lib/util`), so a crash leaves either the old folder or the new one,
 * never a mixture. Loading verifies every checksum first and names the
 * file that does not match.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatShape, sameShape } from '../../engine/shapes';
import { tf } from '../../engine/tf';
import { FolderFiles, writeFolderAtomic } from '../../util/atomic';
import { readSha256Sums, verifyChecksums } from '../../util/checksums';
import { createLearnedSolver, LearnedSolverConfig } from './factory';
import { NamedTensor } from './params';
import { LearnedSolver } from './types';

/** The `format` tag of this library's model.json files. */
export const MODEL_FORMAT = 'lgd-workspace/learned-solver@1';

// Checksums and atomic folders live in the utilities module; re-exported here for older imports.
export { sha256, verifyChecksums } from '../../util/checksums';
export { writeFolderAtomic } from '../../util/atomic';
export type { FolderFiles } from '../../util/atomic';

/**
 * Encodes named tensors as a tfjs weights manifest and its binary file.
 * @param weights tensors to encode (not disposed)
 * @param binName name of the binary file the manifest points to
 */
export async function encodeWeightFiles(weights: NamedTensor[], binName: string): Promise<{ manifest: tf.io.WeightsManifestConfig; data: Uint8Array }> {
  const { data, specs } = await tf.io.encodeWeights(weights);
  return { manifest: [{ paths: [binName], weights: specs }], data: new Uint8Array(data) };
}

/**
 * Decodes the weights of `<dir>/<jsonName>` (a model.json-style file with `weightsManifest`)
 * from the binary files it lists. The caller disposes the returned tensors.
 */
export function decodeWeightFiles(dir: string, jsonName = 'model.json'): tf.NamedTensorMap {
  const json = JSON.parse(fs.readFileSync(path.join(dir, jsonName), 'utf8')) as { weightsManifest?: tf.io.WeightsManifestConfig };
  if (!Array.isArray(json.weightsManifest)) throw new Error(`${path.join(dir, jsonName)} has no weightsManifest`);
  const out: tf.NamedTensorMap = {};
  for (const group of json.weightsManifest) {
    const buffers = group.paths.map((p) => fs.readFileSync(path.join(dir, p)));
    const all = Buffer.concat(buffers);
    const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
    Object.assign(out, tf.io.decodeWeights(ab, group.weights));
  }
  return out;
}

/**
 * Saves a solver to the folder `dir` (model.json, weights.bin, config.json, extra files,
 * SHA256SUMS), atomically.
 * @param extraFiles more files for the folder (e.g. `training_log.csv`)
 * @returns the paths written
 * @example
 * await saveLearnedSolver(rim, 'results/models/rim_gray', { 'train.json': JSON.stringify(info) });
 */
export async function saveLearnedSolver(solver: LearnedSolver, dir: string, extraFiles: FolderFiles = {}): Promise<string[]> {
  const weights = solver.getWeights();
  try {
    const { manifest, data } = await encodeWeightFiles(weights, 'weights.bin');
    const model = { format: MODEL_FORMAT, kind: solver.kind, paramCount: solver.paramCount(), weightsManifest: manifest };
    return writeFolderAtomic(dir, {
      ...extraFiles,
      'model.json': JSON.stringify(model, null, 1),
      'weights.bin': data,
      'config.json': JSON.stringify(solver.config, null, 2),
    });
  } finally {
    tf.dispose(weights.map((w) => w.tensor));
  }
}

/**
 * Loads a solver saved by {@link saveLearnedSolver}: verifies `SHA256SUMS` (an error names the
 * file on mismatch), rebuilds the solver from `config.json` and sets its weights.
 * @example
 * const rim = await loadLearnedSolver('results/models/rim_gray');
 */
export async function loadLearnedSolver(dir: string): Promise<LearnedSolver> {
  verifyChecksums(dir);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as LearnedSolverConfig;
  const weights = decodeWeightFiles(dir);
  const solver = createLearnedSolver(config);
  try {
    solver.setWeights(weights);
  } catch (err) {
    solver.dispose();
    throw new Error(`${dir}: ${(err as Error).message}`);
  } finally {
    tf.dispose(Object.values(weights));
  }
  return solver;
}

/**
 * How {@link initialiseFromModel} adapts a saved model to a solver of a related architecture.
 */
export interface InitAdaptation {
  /**
   * Per weight name, the solver's input channels (axis 2 of a 4-D conv kernel `[kh, kw, in, out]`)
   * taken from the saved kernel's input channels: entry i is the saved channel that becomes channel
   * i, or `null` for a channel the saved model does not have (its weights zero, so the network
   * computes what the saved one did until training moves them). E.g. a learned Gauss–Newton
   * (`[x, δ, g]`) from a RIM (`[x, g]`): `{ 'cell/c1/kernel': [0, null, 1] }`.
   */
  inputChannels?: Record<string, (number | null)[]>;
  /** Weights the saved model lacks keep their seeded initialisation (default false: an error names them). */
  keepMissing?: boolean;
  /**
   * The solver is a wider version of the saved model (more feature channels, same layers): each
   * saved weight goes into the leading block of the solver's larger one. New output channels (new
   * units) keep their seeded values; weights from new input channels are zero, so every new unit
   * starts without influence and the network computes what the saved one did until training
   * moves it. A conv kernel is `[kh, kw, in, out]`, a bias `[out]`; the ConvGRU's kernels and
   * biases (`…/ih/…`, `…/hh/…`) hold their outputs in three gate blocks (r, z, n), widened block
   * by block. Applied after `inputChannels`.
   */
  widen?: boolean;
}

/** Gate blocks along the output axis of a weight: 3 for the ConvGRU's (`…/ih/…`, `…/hh/…`), else 1. */
const outputGroups = (name: string): number => (/\/(ih|hh)\//.test(name) ? 3 : 1);

/**
 * `saved` placed into a tensor of the solver's shape (see {@link InitAdaptation.widen}): the input
 * axis (2 of a 4-D kernel) padded with zeros, the output axis (last) filled block by block from
 * `seeded` where the saved weight has no entry. Disposes nothing it was given.
 */
function widenWeight(name: string, saved: tf.Tensor, seeded: tf.Tensor, dir: string): tf.Tensor {
  const from = saved.shape;
  const to = seeded.shape;
  const fits = from.length === to.length && (from.length === 4 || from.length === 1) && from.every((n, i) => n <= to[i]!) && (from.length === 1 || (from[0] === to[0] && from[1] === to[1]));
  if (!fits) throw new Error(`init: ${dir}: cannot widen ${name} from ${formatShape(from)} to ${formatShape(to)} (a wider model keeps each layer's kernel size and grows its channels)`);
  const groups = outputGroups(name);
  const outAxis = from.length - 1;
  const [oldOut, newOut] = [from[outAxis]!, to[outAxis]!];
  if (oldOut % groups !== 0 || newOut % groups !== 0) throw new Error(`init: ${dir}: ${name}: ${oldOut} → ${newOut} outputs do not split into ${groups} gate blocks`);
  return tf.tidy(() => {
    let w = saved;
    if (from.length === 4 && from[2]! < to[2]!) {
      w = tf.concat([w, tf.zeros([from[0]!, from[1]!, to[2]! - from[2]!, oldOut])], 2); // no weight from a new input channel
    }
    const [gOld, gNew] = [oldOut / groups, newOut / groups];
    if (gOld === gNew) return w.clone();
    const blocks: tf.Tensor[] = [];
    for (let g = 0; g < groups; g++) {
      blocks.push(tf.slice(w, [...w.shape.slice(0, outAxis).map(() => 0), g * gOld], [...w.shape.slice(0, outAxis), gOld]));
      const begin = [...to.slice(0, outAxis).map(() => 0), g * gNew + gOld];
      blocks.push(tf.slice(seeded, begin, [...to.slice(0, outAxis), gNew - gOld])); // new units: their seeded weights
    }
    return tf.concat(blocks, outAxis);
  });
}

/** A kernel's input channels rearranged by `from` (null: a zero channel). Disposes nothing it was given. */
function remapInputChannels(name: string, kernel: tf.Tensor, from: (number | null)[], dir: string): tf.Tensor {
  if (kernel.rank !== 4) throw new Error(`init: ${dir}: inputChannels names ${name}, which has shape ${formatShape(kernel.shape)}, not a 4-D conv kernel`);
  const [kh, kw, saved, out] = kernel.shape as [number, number, number, number];
  from.forEach((c, i) => {
    if (c !== null && !(Number.isInteger(c) && c >= 0 && c < saved)) {
      throw new Error(`init: ${dir}: inputChannels of ${name}: entry ${i} is ${JSON.stringify(c)}, not a channel of the saved kernel (0..${saved - 1}) or null`);
    }
  });
  return tf.tidy(() => {
    const padded = tf.concat([kernel, tf.zeros([kh, kw, 1, out])], 2); // channel `saved` is the zero channel
    return tf.gather(padded, from.map((c) => (c === null ? saved : c)), 2);
  });
}

/**
 * Sets a solver's weights to those of a saved model (fine-tuning, or a warm start of a related
 * task): the folder's `SHA256SUMS` are verified and every weight must exist with the same shape
 * (the error names the folder and the weight), unless `adapt` says how a related architecture
 * takes them (new input channels, a wider model, weights the saved model lacks). Returns the SHA-256 of the
 * model's `weights.bin`.
 * @example
 * initialiseFromModel(solver, 'results/models/rim_gray'); // a deblurring RIM starts from the denoiser
 * initialiseFromModel(lgn, 'results/models/rim_sr', { inputChannels: { 'cell/c1/kernel': [0, null, 1] }, keepMissing: true });
 * initialiseFromModel(new Rim({ features: 48 }), 'results/models/rim_sr', { widen: true }); // F = 32 → 48
 */
export function initialiseFromModel(solver: LearnedSolver, dir: string, adapt: InitAdaptation = {}): string {
  if (!fs.existsSync(path.join(dir, 'model.json'))) throw new Error(`init: no saved model in ${dir} (no model.json)`);
  verifyChecksums(dir);
  const weights = decodeWeightFiles(dir);
  const owned: tf.Tensor[] = [];
  try {
    for (const [name, from] of Object.entries(adapt.inputChannels ?? {})) {
      if (!weights[name]) throw new Error(`init: ${dir} has no weight ${name} (named in inputChannels)`);
      const remapped = remapInputChannels(name, weights[name], from, dir);
      owned.push(weights[name]); // the saved kernel, now out of the map
      weights[name] = remapped;
    }
    if (adapt.keepMissing || adapt.widen) {
      for (const w of solver.getWeights()) {
        owned.push(w.tensor);
        const saved = weights[w.name];
        if (!saved) {
          if (adapt.keepMissing) weights[w.name] = w.tensor;
        } else if (adapt.widen && !sameShape(saved.shape, w.tensor.shape)) {
          const wide = widenWeight(w.name, saved, w.tensor, dir);
          owned.push(saved); // the saved weight, now out of the map
          owned.push(wide);
          weights[w.name] = wide;
        }
      }
    }
    solver.setWeights(weights);
  } catch (err) {
    if ((err as Error).message.startsWith('init:')) throw err;
    throw new Error(`init: ${dir} does not fit this ${solver.kind} (${solver.paramCount()} parameters): ${(err as Error).message}`);
  } finally {
    tf.dispose([...Object.values(weights), ...owned]);
  }
  return readSha256Sums(path.join(dir, 'SHA256SUMS')).get('weights.bin') ?? '';
}
