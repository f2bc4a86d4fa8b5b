import * as fs from 'fs';
import sharp from 'sharp';
import { tf } from '../engine/tf';
import { BT601_Y } from '../metrics/color';
import { decodeBmp } from './bmp';
import { writeFileAtomic } from './files';

/** Re-exported for convenience: see {@link ./files}. */
export { writeFileAtomic };



/** Number of channels of a loaded image: 1 = gray, 3 = color (RGB). */
export type Channels = 1 | 3;

/** Options of {@link readImage}. */
export interface ReadImageOptions {
  /**
   * 1 = gray, 3 = RGB; default: the file's own (gray files stay gray). A color file read as gray
   * becomes its full-range BT.601 luma, rounded to 8 bits ({@link rgbToGray8}, MATLAB's
   * `rgb2gray`); a gray file read as gray keeps its own values.
   */
  channels?: Channels;
}

/** Raw 8-bit pixels of an image file, HWC order. */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: Channels;
}

/**
 * Full-range BT.601 luma of 8-bit RGB pixels, rounded to 8 bits: with the library's BT.601
 * weights ({@link BT601_Y}, the Y of MATLAB's `rgb2ycbcr` that the SR metrics use) stretched from
 * studio swing [16, 235] to [0, 255],
 * `Y' = round((65.481 R + 128.553 G + 24.966 B) / 219) = round(0.299 R + 0.587 G + 0.114 B)`,
 * which is MATLAB's `rgb2gray` (0.2989, 0.5870, 0.1140) up to its fifth digit.
 * @param rgb interleaved R, G, B values (length a multiple of 3)
 * @returns one gray value per pixel
 * @throws if the length is not a multiple of 3
 * @example
 * rgbToGray8(Uint8Array.of(255, 0, 0, 100, 150, 200)); // Uint8Array [76, 141]
 */
export function rgbToGray8(rgb: Uint8Array): Uint8Array {
  if (rgb.length % 3 !== 0) throw new Error(`rgbToGray8: expected interleaved RGB (a length that is a multiple of 3), got ${rgb.length} values`);
  const range = BT601_Y.r + BT601_Y.g + BT601_Y.b; // 219: the studio-swing span of Y
  const wr = BT601_Y.r / range;
  const wg = BT601_Y.g / range;
  const wb = BT601_Y.b / range;
  const out = new Uint8Array(rgb.length / 3);
  for (let i = 0, j = 0; i < out.length; i++, j += 3) {
    out[i] = Math.min(255, Math.round(wr * rgb[j] + wg * rgb[j + 1] + wb * rgb[j + 2]));
  }
  return out;
}

/**
 * Decodes an image file (png, jpg, bmp, ...) to 8-bit HWC pixels.
 * A missing, unreadable or corrupt file is an error that names the file.
 */
export async function readRaw(file: string, options: ReadImageOptions = {}): Promise<RawImage> {
  if (!fs.existsSync(file)) throw new Error(`image file not found: ${file}`);
  try {
    let img: sharp.Sharp;
    if (/\.bmp$/i.test(file)) {
      const bmp = decodeBmp(fs.readFileSync(file), file); // libvips cannot read BMP
      img = sharp(Buffer.from(bmp.data), { raw: { width: bmp.width, height: bmp.height, channels: 3 } });
    } else {
      img = sharp(file, { failOn: 'error' });
    }
    const meta = await img.metadata();
    const fileChannels: Channels = (meta.channels ?? 3) <= 2 && !meta.isPalette ? 1 : 3;
    const channels = options.channels ?? fileChannels;
    img = img.removeAlpha();
    // A gray file stays as it is ('b-w' of one channel); a color file is decoded as sRGB and, when
    // gray is asked for, converted here with BT.601 (libvips's 'b-w' would give Rec. 709
    // luminance computed in linear light, not luma).
    const toGray = channels === 1 && fileChannels === 3;
    img = channels === 1 && !toGray ? img.toColourspace('b-w') : img.toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    const decoded = toGray ? 3 : channels;
    if (info.channels !== decoded) {
      throw new Error(`decoded ${info.channels} channels, expected ${decoded}`);
    }
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return { data: toGray ? rgbToGray8(pixels) : pixels, height: info.height, width: info.width, channels };
  } catch (err) {
    throw new Error(`cannot decode image ${file}: ${(err as Error).message}`);
  }
}

/**
 * Reads an image file as a float32 NHWC tensor `[1, h, w, c]` with values in [0, 1].
 * @example
 * const x = await readImage('data/denoise/test/BSD68/test001.png', { channels: 1 }); // [1, 321, 481, 1]
 */
export async function readImage(file: string, options: ReadImageOptions = {}): Promise<tf.Tensor4D> {
  const raw = await readRaw(file, options);
  const values = new Float32Array(raw.data.length);
  for (let i = 0; i < values.length; i++) values[i] = raw.data[i] / 255;
  return tf.tensor4d(values, [1, raw.height, raw.width, raw.channels]);
}

/**
 * Rounds an image in [0, 1] to 8-bit levels, `round(255·clip(x, 0, 1)) / 255`, as saving it as
 * a PNG (or MATLAB's uint8 output) does. Returns a new tensor.
 * @example
 * to8bit(tf.tensor4d([0.1234, 1.2], [1, 1, 2, 1])); // [31/255, 1]
 */
export function to8bit(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(x, 0, 1), 255)), 255) as tf.Tensor4D);
}

/** Converts a `[h, w, c]` or `[1, h, w, c]` tensor in [0, 1] to 8-bit pixels (rounded, clipped). */
export function toUint8(image: tf.Tensor): RawImage {
  const shape = image.shape;
  const [h, w, c] = shape.length === 4 ? shape.slice(1) : shape;
  if ((shape.length !== 3 && !(shape.length === 4 && shape[0] === 1)) || (c !== 1 && c !== 3)) {
    throw new Error(`toUint8: expected an image [h, w, c] or [1, h, w, c] with c = 1 or 3, got [${shape.join(', ')}]`);
  }
  const src = image.dataSync();
  const data = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(src[i] * 255)));
  return { data, height: h, width: w, channels: c as Channels };
}

/** Encodes 8-bit pixels as PNG. */
export async function encodePng(raw: RawImage): Promise<Buffer> {
  const img = sharp(Buffer.from(raw.data), { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
  // sharp would write 1-channel raw input as RGB; keep gray images gray.
  return (raw.channels === 1 ? img.toColourspace('b-w') : img).png().toBuffer();
}

/** Writes a `[h, w, c]` or `[1, h, w, c]` tensor in [0, 1] as an 8-bit PNG (atomically). */
export async function writeImage(image: tf.Tensor, file: string): Promise<void> {
  writeFileAtomic(file, await encodePng(toUint8(image)));
}
