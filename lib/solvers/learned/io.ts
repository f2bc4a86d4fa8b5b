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
 * The folder is written next to its final place and renamed into it, so a crash leaves either the
 * old folder or the new one, never a mixture. Loading verifies every checksum first and names the
 * file that does not match.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { createLearnedSolver, LearnedSolverConfig } from './factory';
import { NamedTensor } from './params';
import { LearnedSolver } from './types';

/** The `format` tag of this library's model.json files. */
export const MODEL_FORMAT = 'lgd-workspace/learned-solver@1';

/** Hex SHA-256 of bytes or a string (UTF-8). */
export function sha256(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Files of a folder to write: name to contents (no sub-folders). */
export type FolderFiles = Record<string, string | Uint8Array>;

function checkFileName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name === 'SHA256SUMS') {
    throw new Error(`invalid file name ${JSON.stringify(name)} for a model folder (letters, digits, '.', '_', '-'; not SHA256SUMS)`);
  }
}

/**
 * Writes `files` plus a `SHA256SUMS` of them as the folder `dir`, atomically: into a sibling
 * temporary folder first, which then replaces `dir` (an existing `dir` is moved aside and removed
 * only after the new one is in place).
 * @returns the paths written
 * @example
 * writeFolderAtomic('results/models/x', { 'config.json': '{}' });
 */
export function writeFolderAtomic(dir: string, files: FolderFiles): string[] {
  const names = Object.keys(files).sort();
  names.forEach(checkFileName);
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const stamp = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${stamp}`);
  const old = path.join(parent, `.${path.basename(dir)}.old-${stamp}`);
  try {
    fs.mkdirSync(tmp);
    const sums: string[] = [];
    for (const name of names) {
      const data = files[name];
      fs.writeFileSync(path.join(tmp, name), data);
      sums.push(`${sha256(data)}  ${name}`);
    }
    fs.writeFileSync(path.join(tmp, 'SHA256SUMS'), sums.join('\n') + '\n');
    const existed = fs.existsSync(dir);
    if (existed) fs.renameSync(dir, old);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      if (existed) fs.renameSync(old, dir);
      throw err;
    }
    if (existed) fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return [...names, 'SHA256SUMS'].map((n) => path.join(dir, n));
}

/**
 * Checks every file listed in `<dir>/SHA256SUMS`; throws an error naming the first file that is
 * missing or whose SHA-256 differs (and the expected and actual hashes).
 * @param required files that must be listed (default `model.json`, `weights.bin`, `config.json`)
 */
export function verifyChecksums(dir: string, required: string[] = ['model.json', 'weights.bin', 'config.json']): void {
  const sumsFile = path.join(dir, 'SHA256SUMS');
  if (!fs.existsSync(sumsFile)) throw new Error(`no SHA256SUMS in ${dir}: not a saved model folder, or written incompletely`);
  const listed = new Map<string, string>();
  for (const line of fs.readFileSync(sumsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (!m) throw new Error(`${sumsFile}: malformed line ${JSON.stringify(line)}`);
    listed.set(m[2], m[1]);
  }
  for (const name of required) {
    if (!listed.has(name)) throw new Error(`${sumsFile} does not list ${name}`);
  }
  for (const [name, expected] of listed) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new Error(`checksum check: ${file} is missing (listed in ${sumsFile})`);
    const actual = sha256(fs.readFileSync(file));
    if (actual !== expected) throw new Error(`checksum mismatch for ${file}: expected ${expected}, got ${actual} (the file was changed or corrupted)`);
  }
}

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
