/**
 * Saving and loading segmenters: a model folder like the learned solvers' (`lib/solvers/learned/io.ts`):
 * `model.json` (format, kind, paramCount, the tfjs `weightsManifest`), `weights.bin`, `config.json`
 * (the network's configuration, which {@link createSegmenter} rebuilds), any extra files
 * (`train.json`, `log.jsonl` ...) and `SHA256SUMS` over all of them, written atomically.
 * Loading verifies every checksum first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { decodeWeightFiles, encodeWeightFiles } from '../solvers/learned/io';
import { FolderFiles, writeFolderAtomic } from '../util/atomic';
import { verifyChecksums } from '../util/checksums';
import { createSegmenter, Segmenter, SegmenterConfigInput } from './networks';

/** The `format` tag of a segmenter's model.json. */
export const SEGMENTER_FORMAT = 'lgd-workspace/segmenter@1';

/**
 * Saves a segmenter to the folder `dir` (replacing it atomically).
 * @param extraFiles more files for the folder (e.g. `train.json`)
 * @returns the paths written
 * @example
 * await saveSegmenter(phi, 'results/models/seg_phi', { 'train.json': JSON.stringify(info) });
 */
export async function saveSegmenter(segmenter: Segmenter, dir: string, extraFiles: FolderFiles = {}): Promise<string[]> {
  const weights = segmenter.getWeights();
  try {
    const { manifest, data } = await encodeWeightFiles(weights, 'weights.bin');
    const model = { format: SEGMENTER_FORMAT, kind: segmenter.kind, paramCount: segmenter.paramCount(), weightsManifest: manifest };
    return writeFolderAtomic(dir, {
      ...extraFiles,
      'model.json': JSON.stringify(model, null, 1),
      'weights.bin': data,
      'config.json': JSON.stringify(segmenter.config, null, 2),
    });
  } finally {
    tf.dispose(weights.map((w) => w.tensor));
  }
}

/**
 * Loads a segmenter saved by {@link saveSegmenter} (or a training checkpoint folder): checks
 * `SHA256SUMS`, rebuilds the network from `config.json`, sets its weights.
 * @throws naming the folder when it is missing, and the file when a checksum fails
 * @example
 * const phi = await loadSegmenter('results/models/seg_phi');
 */
export async function loadSegmenter(dir: string): Promise<Segmenter> {
  if (!fs.existsSync(dir)) throw new Error(`segmenter folder not found: ${dir} (train it with scripts/train-segmenter.ts)`);
  verifyChecksums(dir);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as SegmenterConfigInput;
  const segmenter = createSegmenter(config);
  const weights = decodeWeightFiles(dir);
  try {
    segmenter.setWeights(weights);
  } catch (err) {
    segmenter.dispose();
    throw new Error(`${dir}: ${(err as Error).message}`);
  } finally {
    tf.dispose(Object.values(weights));
  }
  return segmenter;
}
