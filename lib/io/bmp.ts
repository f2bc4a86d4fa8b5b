/**
 * A small decoder for uncompressed Windows BMP files (24- and 32-bit BI_RGB, 32-bit BI_BITFIELDS
 * in B, G, R order, 8-bit paletted), which sharp/libvips cannot read. The T91 super-resolution training set ships as 24-bit BMP.
 */

const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/** Decoded RGB pixels, HWC order, top row first. */
export interface DecodedBmp {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes a BMP file's bytes to 8-bit RGB (a 32-bit file's fourth byte is ignored); an
 * unsupported, truncated or inconsistent file (e.g. a palette index past the palette) is an error
 * that names `file` and what is wrong.
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
  if (compression === 3) {
    // BI_BITFIELDS: only the usual B, G, R byte order (masks after the 40-byte header part)
    if (bytes.length < 66) fail('truncated: no room for the BI_BITFIELDS masks');
    const [r, g, b] = [view.getUint32(54, true), view.getUint32(58, true), view.getUint32(62, true)];
    if (r !== 0x00ff0000 || g !== 0x0000ff00 || b !== 0x000000ff) {
      fail(`BI_BITFIELDS masks R ${hex(r)}, G ${hex(g)}, B ${hex(b)} are not supported (only 0x00ff0000, 0x0000ff00, 0x000000ff)`);
    }
  }
  let palette: Uint8Array | undefined;
  let colors = 0;
  if (bpp === 8) {
    colors = view.getUint32(46, true) || 256;
    if (colors > 256) fail(`palette of ${colors} colors (an 8-bit BMP has at most 256)`);
    const start = 14 + headerSize;
    if (start + 4 * colors > Math.min(offset, bytes.length)) {
      fail(`truncated palette: ${colors} colors need bytes ${start}..${start + 4 * colors} but the pixel data start at ${offset}`);
    }
    palette = bytes.subarray(start, start + 4 * colors);
  }
  const data = new Uint8Array(width * height * 3);
  const step = bpp / 8;
  for (let y = 0; y < height; y++) {
    const row = offset + (bottomUp ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const index = bytes[row + x];
        if (index >= colors) fail(`pixel (${x}, ${y}) has palette index ${index} but the palette has ${colors} colors`);
        const p = index * 4;
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
