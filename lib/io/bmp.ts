/**
 * A small decoder for uncompressed Windows BMP files (24- and 32-bit BI_RGB, 8-bit paletted),
 * which sharp/libvips cannot read. The T91 super-resolution training set ships as 24-bit BMP.
 */

/** Decoded RGB pixels, HWC order, top row first. */
export interface DecodedBmp {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes a BMP file's bytes to 8-bit RGB; an unsupported or truncated file is an error that
 * names `file` and what is wrong.
 * @example
 * const { data, width, height } = decodeBmp(fs.readFileSync('data/sr/train/T91/t1.bmp'), 't1.bmp');
 */
export function decodeBmp(bytes: Uint8Array, file = 'BMP'): DecodedBmp {
  const fail = (why: string): never => {
    throw new Error(`cannot decode BMP ${file}: ${why}`);
  };
  if (bytes.length < 54 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) fail('not a BMP file (no "BM" header)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize < 40) fail(`unsupported header size ${headerSize}`);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bpp = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  if (width <= 0 || rawHeight === 0) fail(`bad size ${width}x${rawHeight}`);
  if (compression !== 0 && !(compression === 3 && bpp === 32)) fail(`compression ${compression} is not supported`);
  if (bpp !== 24 && bpp !== 32 && bpp !== 8) fail(`${bpp} bits per pixel is not supported`);
  const height = Math.abs(rawHeight);
  const bottomUp = rawHeight > 0;
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (offset + stride * height > bytes.length) fail(`truncated: ${bytes.length} bytes, pixel data needs ${offset + stride * height}`);
  let palette: Uint8Array | undefined;
  if (bpp === 8) {
    const colors = view.getUint32(46, true) || 256;
    palette = bytes.subarray(14 + headerSize, 14 + headerSize + 4 * colors);
  }
  const data = new Uint8Array(width * height * 3);
  const step = bpp / 8;
  for (let y = 0; y < height; y++) {
    const row = offset + (bottomUp ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const p = bytes[row + x] * 4;
        data[o] = palette[p + 2];
        data[o + 1] = palette[p + 1];
        data[o + 2] = palette[p];
      } else {
        const s = row + x * step;
        data[o] = bytes[s + 2];
        data[o + 1] = bytes[s + 1];
        data[o + 2] = bytes[s];
      }
    }
  }
  return { data, width, height };
}
