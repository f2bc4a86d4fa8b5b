/**
 * Makes the tiny test fixtures under `test/fixtures/` from the data mirror, so the unit tests run
 * without it:
 *
 * - `test/fixtures/mirror/`: a miniature data mirror with the real mirror's layout and its own
 *   `SHA256SUMS` (tests materialise it with `ensureData({ mirror })` into a temporary `data/`):
 *   central crops of two images of BSD68, CBSD68, Set12, Train400 (48×48), one T91 image written
 *   as a 24-bit BMP (21×13: its rows need padding), and SR pairs of Set5 (x2, x3, x4) and Set14
 *   (x2, with the gray img_003): a 48×48 HR crop and its LR made by the library's MATLAB-compatible
 *   `imresize(hr, 1/s, { quantize: true })`.
 * - `test/fixtures/sr_matlab/`: a 48×48 crop of Set5 img_001 HR and the matching crop of MATLAB's
 *   own LR file at each scale (the crop starts on a multiple of 12, so both grids align), to check
 *   `imresize` against MATLAB away from the crop's border without the mirror.
 *
 *   npx tsx scripts/make-test-fixtures.ts [--mirror ../shared/data]
 *
 * Deterministic: rerunning it on the same mirror rewrites the same bytes.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { initEngine, tf } from '../lib/engine';
import { encodePng, RawImage, readRaw, toUint8, writeFileAtomic } from '../lib/io';
import { dataMirror, projectPath } from '../lib/io/paths';
import { imresize } from '../lib/operators/imresize';

/** The crop `[top, left, h, w]` of a raw image (HWC). */
function crop(img: RawImage, top: number, left: number, h: number, w: number): RawImage {
  if (top < 0 || left < 0 || top + h > img.height || left + w > img.width) {
    throw new Error(`crop [${top}, ${left}, ${h}, ${w}] is outside the ${img.height}×${img.width} image`);
  }
  const c = img.channels;
  const data = new Uint8Array(h * w * c);
  for (let i = 0; i < h; i++) data.set(img.data.subarray(((top + i) * img.width + left) * c, ((top + i) * img.width + left + w) * c), i * w * c);
  return { data, height: h, width: w, channels: c };
}

/** A central crop whose top-left corner is on a multiple of `align`. */
function centre(img: RawImage, h: number, w: number, align = 1): RawImage {
  const top = Math.floor((img.height - h) / 2 / align) * align;
  const left = Math.floor((img.width - w) / 2 / align) * align;
  return crop(img, top, left, h, w);
}

/** A 24-bit bottom-up BMP (BITMAPINFOHEADER, rows padded to 4 bytes, BGR). */
function encodeBmp24(img: RawImage): Buffer {
  if (img.channels !== 3) throw new Error('encodeBmp24: needs 3 channels');
  const stride = Math.ceil((img.width * 3) / 4) * 4;
  const offset = 14 + 40;
  const out = Buffer.alloc(offset + stride * img.height);
  out.write('BM', 0, 'ascii');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(img.width, 18);
  out.writeInt32LE(img.height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(stride * img.height, 34);
  for (let i = 0; i < img.height; i++) {
    const row = offset + (img.height - 1 - i) * stride;
    for (let j = 0; j < img.width; j++) {
      const p = (i * img.width + j) * 3;
      out[row + 3 * j] = img.data[p + 2];
      out[row + 3 * j + 1] = img.data[p + 1];
      out[row + 3 * j + 2] = img.data[p];
    }
  }
  return out;
}

/** MATLAB-compatible 8-bit downscaling by an integer factor (the library's imresize). */
function shrink(hr: RawImage, s: number): RawImage {
  const lr = tf.tidy(() => imresize(tf.tensor4d(Float32Array.from(hr.data, (v) => v / 255), [1, hr.height, hr.width, hr.channels]), 1 / s, { quantize: true }));
  const raw = toUint8(lr);
  lr.dispose();
  return raw;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mirror: { type: 'string' } } });
  const mirror = path.resolve(values.mirror ?? dataMirror());
  if (!fs.existsSync(path.join(mirror, 'SHA256SUMS'))) throw new Error(`make-test-fixtures: no data mirror at ${mirror} (give --mirror)`);
  await initEngine({ quiet: true });
  const outMirror = projectPath('test', 'fixtures', 'mirror');
  const outMatlab = projectPath('test', 'fixtures', 'sr_matlab');
  fs.rmSync(outMirror, { recursive: true, force: true });
  fs.rmSync(outMatlab, { recursive: true, force: true });
  const written: string[] = [];
  const put = (rel: string, bytes: Uint8Array): void => {
    writeFileAtomic(path.join(outMirror, rel), bytes);
    written.push(rel);
  };
  const src = (rel: string) => path.join(mirror, rel);

  for (const [dir, files] of [
    ['denoise/test/BSD68', ['test001.png', 'test002.png']],
    ['denoise/test/CBSD68', ['101085.png', '101087.png']],
    ['denoise/test/Set12', ['01.png', '02.png']],
    ['denoise/train/Train400', ['test_001.png', 'test_002.png']],
  ] as const) {
    for (const f of files) put(`${dir}/${f}`, await encodePng(centre(await readRaw(src(`${dir}/${f}`)), 48, 48)));
  }
  const t91 = fs.readdirSync(src('sr/train/T91')).filter((f) => /\.bmp$/i.test(f)).sort()[0];
  put(`sr/train/T91/${t91}`, encodeBmp24(centre(await readRaw(src(`sr/train/T91/${t91}`)), 13, 21)));
  for (const [set, scales, names] of [
    ['Set5', [2, 3, 4], ['img_001', 'img_002']],
    ['Set14', [2], ['img_001', 'img_002', 'img_003']],
  ] as const) {
    for (const s of scales) {
      for (const name of names) {
        const hr = centre(await readRaw(src(`sr/test/${set}/x${s}/${name}_SRF_${s}_HR.png`)), 48, 48, 12);
        put(`sr/test/${set}/x${s}/${name}_SRF_${s}_HR.png`, await encodePng(hr));
        put(`sr/test/${set}/x${s}/${name}_SRF_${s}_LR.png`, await encodePng(shrink(hr, s)));
      }
    }
  }
  const sums = written
    .sort()
    .map((rel) => `${crypto.createHash('sha256').update(fs.readFileSync(path.join(outMirror, rel))).digest('hex')}  ${rel}`);
  writeFileAtomic(path.join(outMirror, 'SHA256SUMS'), sums.join('\n') + '\n');

  // MATLAB's own LR crops, aligned with an HR crop (top-left on a multiple of 12 = lcm(2, 3, 4)).
  const manifest: Record<string, unknown> = { source: 'Set5 img_001 (sr/test/Set5/x{s}), central 48×48 HR crop', crops: {} };
  for (const s of [2, 3, 4]) {
    const hrFull = await readRaw(src(`sr/test/Set5/x${s}/img_001_SRF_${s}_HR.png`), { channels: 3 });
    const lrFull = await readRaw(src(`sr/test/Set5/x${s}/img_001_SRF_${s}_LR.png`), { channels: 3 });
    const top = Math.floor((hrFull.height - 48) / 2 / 12) * 12;
    const left = Math.floor((hrFull.width - 48) / 2 / 12) * 12;
    writeFileAtomic(path.join(outMatlab, `x${s}_HR.png`), await encodePng(crop(hrFull, top, left, 48, 48)));
    writeFileAtomic(path.join(outMatlab, `x${s}_LR.png`), await encodePng(crop(lrFull, top / s, left / s, 48 / s, 48 / s)));
    (manifest.crops as Record<string, unknown>)[`x${s}`] = { hrTopLeft: [top, left], lrTopLeft: [top / s, left / s] };
  }
  writeFileAtomic(path.join(outMatlab, 'crops.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`wrote ${written.length} files to ${path.relative(process.cwd(), outMirror)} and 6 to ${path.relative(process.cwd(), outMatlab)}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
