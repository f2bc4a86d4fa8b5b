/** Loading subsets of the image sets (training images for λ searches, quick-run crops) and freeing them. */
import * as path from 'path';
import { tf } from '../engine/tf';
import { datasetInfo, listImages, NamedImage } from '../io/datasets';
import { Channels, readImage } from '../io/image';
import { centerCrop } from './sr';

/**
 * Options of {@link loadImageSubset}.
 * @example
 * loadImageSubset('Train400', { count: 8, pick: 'spread', crop: 128 });
 */
export interface ImageSubsetOptions {
  /** How many images (default all). */
  count?: number;
  /** 'first' (default): the first `count` in name order; 'spread': evenly spaced over the set. */
  pick?: 'first' | 'spread';
  /** Central crop side (default none). */
  crop?: number;
  /** Crop offset and sides are multiples of this (e.g. the SR scale; default 1). */
  multiple?: number;
  /** 1 = gray (full-range BT.601 luma of color files, as MATLAB's `rgb2gray`: `rgbToGray8` of lib/io/image; gray files as they are), 3 = RGB; default the set's benchmark channels. */
  channels?: Channels;
}

/**
 * Loads some images of a set as float32 `[1, h, w, c]` tensors in [0, 1], optionally centrally
 * cropped (quick runs, λ search on crops). The caller disposes the images.
 * @example
 * const train = await loadImageSubset('BSD400', { count: 8, pick: 'spread', crop: 128, channels: 1 });
 */
export async function loadImageSubset(name: string, options: ImageSubsetOptions = {}): Promise<NamedImage[]> {
  const files = listImages(name);
  const count = Math.min(options.count ?? files.length, files.length);
  const picked =
    options.pick === 'spread'
      ? Array.from({ length: count }, (_, i) => files[Math.floor((i * files.length) / count)])
      : files.slice(0, count);
  const channels = options.channels ?? datasetInfo(name).channels;
  const out: NamedImage[] = [];
  for (const file of picked) {
    let image = await readImage(file, { channels });
    if (options.crop) {
      const cropped = centerCrop(image, options.crop, options.multiple ?? 1);
      image.dispose();
      image = cropped;
    }
    out.push({ name: path.basename(file).replace(/\.[a-z]+$/i, ''), file, image });
  }
  return out;
}

/**
 * Disposes the tensors of loaded images (anything with an `image`, or `hr`/`lr` tensors).
 * @example
 * disposeImages(bsd68);
 */
export function disposeImages(images: ReadonlyArray<{ image?: tf.Tensor; hr?: tf.Tensor; lr?: tf.Tensor }>): void {
  for (const im of images) tf.dispose([im.image, im.hr, im.lr].filter((t): t is tf.Tensor => t !== undefined));
}
