/**
 * CamVid as the SegNet tutorial ships it, downsampled 2x to 240×180 (see `../shared/data/README.md`):
 * `data/semantic/CamVid/{train,val,test}/*.png` (RGB) with `{train,val,test}annot/*.png` label maps
 * of the same names, values 0..10 for the 11 classes and 11 for Unlabelled (ignored in losses and
 * metrics). Loads raw pixels (cheap, what augmentation reads) and batches them as tensors; colours
 * label maps with the SegNet palette for figures.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { tf } from '../engine/tf';
import { readRaw, RawImage } from '../io/image';
import { dataDir } from '../io/paths';

/** The 11 CamVid classes, in label order (0 = Sky ... 10 = Bicyclist). */
export const CAMVID_CLASSES = ['Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree', 'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist'] as const;
/** Number of real classes (11). */
export const CAMVID_NUM_CLASSES = CAMVID_CLASSES.length;
/** The Unlabelled label value, ignored in losses and metrics (11). */
export const CAMVID_IGNORE = 11;

/**
 * SegNet's colours for labels 0..11 (RGB). `camvid12_palette.png` of the data set lists 13
 * colours including Road_marking (255, 69, 0) at index 3, which the 11-class labels merge into
 * Road; like SegNet's own visualisation (its `label_colours`), Road_marking is left out, so label
 * 3 (Road) is purple (128, 64, 128) and 11 (Unlabelled) black.
 */
export const CAMVID_PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [128, 128, 128], // Sky
  [128, 0, 0], // Building
  [192, 192, 128], // Pole
  [128, 64, 128], // Road
  [60, 40, 222], // Pavement
  [128, 128, 0], // Tree
  [192, 128, 128], // SignSymbol
  [64, 64, 128], // Fence
  [64, 0, 128], // Car
  [64, 64, 0], // Pedestrian
  [0, 128, 192], // Bicyclist
  [0, 0, 0], // Unlabelled
];

/** A split of the data set. */
export type CamVidSplit = 'train' | 'val' | 'test';
/** The splits, in order. */
export const CAMVID_SPLITS: readonly CamVidSplit[] = ['train', 'val', 'test'];

/** One image with its label map (raw pixels). */
export interface CamVidSample {
  /** File name (the same in the image and label folders). */
  name: string;
  /** RGB, 8-bit, HWC. */
  image: RawImage;
  /** One label a pixel, 0..11, row-major `[h, w]`. */
  labels: Uint8Array;
}

/** The CamVid folder: `<LGD_DATA_DIR or data>/semantic/CamVid`. */
export function camvidDir(): string {
  return path.join(dataDir(), 'semantic', 'CamVid');
}

/**
 * Reads a label PNG (one channel, values 0..11) and checks its values.
 * @throws naming the file on a value above 11 (an unknown class) or an unreadable file
 */
export async function readLabelMap(file: string): Promise<{ labels: Uint8Array; height: number; width: number }> {
  if (!fs.existsSync(file)) throw new Error(`label map not found: ${file}`);
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await sharp(file, { failOn: 'error' }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`cannot read label map ${file}: ${(err as Error).message}`);
  }
  const labels = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length).slice();
  checkLabels(labels, file);
  return { labels, height: out.info.height, width: out.info.width };
}

/**
 * Throws, naming `where`, when a label is above {@link CAMVID_IGNORE} (not a CamVid class).
 * @example
 * checkLabels(Uint8Array.of(0, 11), 'x.png'); // fine
 * checkLabels(Uint8Array.of(12), 'x.png');    // throws: x.png: label 12 at pixel 0 is not a CamVid class (0..10) nor Unlabelled (11)
 */
export function checkLabels(labels: ArrayLike<number>, where: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > CAMVID_IGNORE) throw new Error(`${where}: label ${labels[i]} at pixel ${i} is not a CamVid class (0..10) nor Unlabelled (11)`);
  }
}

/** Options of {@link loadCamVid}. */
export interface LoadCamVidOptions {
  /** Only the first N images of the split (sorted by name). */
  limit?: number;
  /** The CamVid folder (default {@link camvidDir}). */
  dir?: string;
}

/**
 * Loads one split: every `<split>/*.png` with its `<split>annot/*.png`, sorted by name.
 * @throws naming the folder when it is missing (run `npm run data`), or the file at fault when a
 *   label map is missing, holds an unknown class, or differs in size from its image
 * @example
 * const train = await loadCamVid('train');         // 367 samples of 240×180
 * const val = await loadCamVid('val', { limit: 8 });
 */
export async function loadCamVid(split: CamVidSplit, options: LoadCamVidOptions = {}): Promise<CamVidSample[]> {
  if (!CAMVID_SPLITS.includes(split)) throw new Error(`loadCamVid: unknown split ${JSON.stringify(split)}; expected one of ${CAMVID_SPLITS.join(', ')}`);
  const root = options.dir ?? camvidDir();
  const imageDir = path.join(root, split);
  const labelDir = path.join(root, `${split}annot`);
  if (!fs.existsSync(imageDir)) throw new Error(`CamVid ${split} images not found: ${imageDir} (run \`npm run data\`, or set LGD_DATA_DIR)`);
  let names = fs.readdirSync(imageDir).filter((f) => /\.png$/i.test(f)).sort();
  if (options.limit !== undefined) names = names.slice(0, options.limit);
  return Promise.all(
    names.map(async (name) => {
      const image = await readRaw(path.join(imageDir, name), { channels: 3 });
      const labelFile = path.join(labelDir, name);
      const map = await readLabelMap(labelFile);
      if (map.height !== image.height || map.width !== image.width) {
        throw new Error(`CamVid ${split}: label map ${labelFile} is ${map.width}×${map.height} but its image ${path.join(imageDir, name)} is ${image.width}×${image.height}`);
      }
      return { name, image, labels: map.labels };
    }),
  );
}

/**
 * The centred `size`×`size` crop of a sample (image and labels alike); the sample itself when
 * `size` is absent.
 * @throws naming the sample when it is smaller than the crop
 * @example
 * const small = cropCamVidSample(sample, 64); // 64×64 image and labels
 */
export function cropCamVidSample(sample: CamVidSample, size?: number): CamVidSample {
  if (size === undefined) return sample;
  const { height: h, width: w } = sample.image;
  if (!Number.isInteger(size) || size < 1) throw new Error(`cropCamVidSample: size must be a positive integer, got ${size}`);
  if (size > h || size > w) throw new Error(`cropCamVidSample: ${sample.name} is ${w}×${h}, smaller than the ${size}×${size} crop`);
  const top = Math.floor((h - size) / 2);
  const left = Math.floor((w - size) / 2);
  const c = sample.image.channels;
  const data = new Uint8Array(size * size * c);
  const labels = new Uint8Array(size * size);
  for (let i = 0; i < size; i++) {
    const row = (top + i) * w + left;
    labels.set(sample.labels.subarray(row, row + size), i * size);
    data.set(sample.image.data.subarray(row * c, (row + size) * c), i * size * c);
  }
  return { name: sample.name, image: { ...sample.image, height: size, width: size, data }, labels };
}

/**
 * The evaluation subset of the notebooks: every `every`-th sample, with `first` of them spread
 * evenly over the subset moved to its front (in order), so that "the first n" span the whole set
 * (both CamVid test sequences), not its start.
 * @example
 * evaluationSubset(test, { every: 4, first: 8 }).slice(0, 8); // 8 images spread over the test set
 */
export function evaluationSubset<T>(items: readonly T[], options: { every?: number; first?: number } = {}): T[] {
  const every = options.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new Error(`evaluationSubset: every must be a positive integer, got ${every}`);
  const xs = items.filter((_, i) => i % every === 0);
  const m = Math.min(options.first ?? 0, xs.length);
  const pick = new Set(Array.from({ length: m }, (_, j) => Math.floor((j * xs.length) / m)));
  return [...xs.filter((_, i) => pick.has(i)), ...xs.filter((_, i) => !pick.has(i))];
}

/** True when the CamVid folder holds the split (tests skip without it). */
export function hasCamVid(split: CamVidSplit = 'test', dir = camvidDir()): boolean {
  return fs.existsSync(path.join(dir, split)) && fs.existsSync(path.join(dir, `${split}annot`));
}

/**
 * Samples as tensors: images `[b, h, w, 3]` in [0, 1] and labels `[b, h, w]` int32. All samples
 * must have one size.
 * @example
 * const { x, labels } = camvidTensors(samples.slice(0, 4)); // caller disposes both
 */
export function camvidTensors(samples: readonly CamVidSample[]): { x: tf.Tensor4D; labels: tf.Tensor3D } {
  if (samples.length === 0) throw new Error('camvidTensors: no samples');
  const { height: h, width: w } = samples[0].image;
  const pixels = new Float32Array(samples.length * h * w * 3);
  const labels = new Int32Array(samples.length * h * w);
  samples.forEach((s, i) => {
    if (s.image.height !== h || s.image.width !== w || s.image.channels !== 3) {
      throw new Error(`camvidTensors: ${s.name} is ${s.image.width}×${s.image.height}×${s.image.channels}, expected ${w}×${h}×3 like ${samples[0].name}`);
    }
    if (s.labels.length !== h * w) throw new Error(`camvidTensors: ${s.name} has ${s.labels.length} labels for ${w}×${h} pixels`);
    for (let k = 0; k < h * w * 3; k++) pixels[i * h * w * 3 + k] = s.image.data[k] / 255;
    labels.set(s.labels, i * h * w);
  });
  return { x: tf.tensor4d(pixels, [samples.length, h, w, 3]), labels: tf.tensor3d(labels, [samples.length, h, w], 'int32') };
}

/**
 * Colours a label map with {@link CAMVID_PALETTE} (for figures).
 * @param labels one label a pixel, row-major
 * @returns an RGB {@link RawImage}
 * @example
 * const rgb = colorizeLabels(sample.labels, 180, 240); // writeImage-able
 */
export function colorizeLabels(labels: ArrayLike<number>, height: number, width: number): RawImage {
  if (labels.length !== height * width) throw new Error(`colorizeLabels: ${labels.length} labels for ${width}×${height} pixels`);
  const data = new Uint8Array(height * width * 3);
  for (let i = 0; i < labels.length; i++) {
    const c = CAMVID_PALETTE[labels[i]];
    if (!c) throw new Error(`colorizeLabels: label ${labels[i]} at pixel ${i} has no colour (0..11)`);
    data[3 * i] = c[0];
    data[3 * i + 1] = c[1];
    data[3 * i + 2] = c[2];
  }
  return { data, height, width, channels: 3 };
}
