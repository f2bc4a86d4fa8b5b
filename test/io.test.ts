import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, tf } from '../lib/engine';
import { datasetDir, ensureData, listImages, loadImages, loadSrPairs, PatchSampler, readImage, readRaw, Rng, writeImage } from '../lib/io';
import { FIXTURE_MIRROR, useFixtureData } from './helpers/data';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-io-'));
}

/** A tiny mirror with one set (Set12) copied from the committed fixture mirror, in a temp folder (tests may corrupt it). */
function miniMirror(): string {
  const real = FIXTURE_MIRROR;
  const dir = tmpdir();
  const set = 'denoise/test/Set12';
  fs.mkdirSync(path.join(dir, set), { recursive: true });
  const sums: string[] = [];
  for (const line of fs.readFileSync(path.join(real, 'SHA256SUMS'), 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64})\s+(.+)$/.exec(line);
    if (m && path.normalize(m[2]).startsWith(set + '/')) {
      fs.copyFileSync(path.join(real, m[2]), path.join(dir, m[2]));
      sums.push(line);
    }
  }
  fs.writeFileSync(path.join(dir, 'SHA256SUMS'), sums.join('\n') + '\n');
  return dir;
}

describe('io', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });
  useFixtureData(['BSD68', 'CBSD68', 'Set5', 'Set14', 'T91', 'Train400']);

  it('loads a gray BSD68 image as float32 [1, h, w, 1] in [0, 1]', async () => {
    const [first] = await loadImages('BSD68', { limit: 1 });
    assert.equal(first.image.dtype, 'float32');
    assert.equal(first.image.shape[0], 1);
    assert.equal(first.image.shape[3], 1);
    assert.deepEqual(first.image.shape.slice(1, 3), [48, 48]); // the fixture's crop
    const v = first.image.dataSync();
    assert.ok(v.every((p) => p >= 0 && p <= 1));
    assert.ok(v.some((p) => p > 0.5));
    first.image.dispose();
  });

  it('loads color CBSD68 as 3 channels and can convert it to gray', async () => {
    const file = listImages('CBSD68', { limit: 1 })[0];
    const color = await readImage(file);
    const gray = await readImage(file, { channels: 1 });
    assert.equal(color.shape[3], 3);
    assert.equal(gray.shape[3], 1);
    tf.dispose([color, gray]);
  });

  it('loads SR pairs whose HR is scale x LR', async () => {
    const pairs = await loadSrPairs('Set5', 3, { limit: 2 });
    assert.equal(pairs.length, 2);
    for (const p of pairs) {
      assert.equal(p.hr.shape[1], 3 * p.lr.shape[1]);
      assert.equal(p.hr.shape[2], 3 * p.lr.shape[2]);
      tf.dispose([p.hr, p.lr]);
    }
  });

  it('keeps a gray SR test file gray (Set14 img_003) and its LR too', async () => {
    const pairs = await loadSrPairs('Set14', 2, { limit: 3 });
    assert.deepEqual(pairs.map((p) => p.hr.shape[3]), [3, 3, 1]);
    assert.deepEqual(pairs.map((p) => p.lr.shape[3]), [3, 3, 1]);
    tf.dispose(pairs.flatMap((p) => [p.hr, p.lr]));
  });

  it('decodes the 24-bit BMP files of T91 (which sharp cannot read)', async () => {
    const file = listImages('T91', { limit: 1 })[0];
    const raw = await readRaw(file);
    assert.equal(raw.channels, 3);
    assert.equal(raw.data.length, raw.width * raw.height * 3);
    const bytes = fs.readFileSync(file);
    const offset = bytes.readUInt32LE(10), stride = Math.ceil((raw.width * 3) / 4) * 4;
    const lastRowFirstPixel = [bytes[offset + 2], bytes[offset + 1], bytes[offset]]; // bottom-up: the file's first row is the image's last
    assert.deepEqual(Array.from(raw.data.subarray((raw.height - 1) * raw.width * 3, (raw.height - 1) * raw.width * 3 + 3)), lastRowFirstPixel);
    assert.ok(stride >= raw.width * 3);
    const gray = await readImage(file, { channels: 1 });
    assert.equal(gray.shape[3], 1);
    gray.dispose();
    const broken = path.join(tmpdir(), 'broken.bmp');
    fs.writeFileSync(broken, bytes.subarray(0, 100));
    await assert.rejects(readImage(broken), (e: Error) => e.message.includes(broken) && /truncated/.test(e.message));
  });

  it('round-trips an image through PNG exactly (8-bit values)', async () => {
    const dir = tmpdir();
    const raw = await readRaw(listImages('BSD68', { limit: 1 })[0]);
    const x = await readImage(listImages('BSD68', { limit: 1 })[0]);
    await writeImage(x, path.join(dir, 'a.png'));
    const back = await readRaw(path.join(dir, 'a.png'));
    assert.deepEqual(Buffer.from(back.data), Buffer.from(raw.data));
    x.dispose();
  });

  it('a corrupt image file is an error naming the file', async () => {
    const file = path.join(tmpdir(), 'broken.png');
    const good = fs.readFileSync(listImages('BSD68', { limit: 1 })[0]);
    fs.writeFileSync(file, good.subarray(0, 200));
    await assert.rejects(readImage(file), (e: Error) => e.message.includes(file) && /cannot decode image/.test(e.message));
    await assert.rejects(readImage(path.join(tmpdir(), 'nope.png')), /image file not found: .*nope\.png/);
  });

  it('a missing mirror is an error naming the folder and the variable to set', async () => {
    await assert.rejects(ensureData({ mirror: '/nonexistent/mirror', sets: ['BSD68'], log: () => undefined }), /data mirror not found: \/nonexistent\/mirror\. Set LGD_DATA_MIRROR/);
  });

  it('a set absent from the mirror is an error naming the set and its source', async () => {
    const mirror = miniMirror();
    await assert.rejects(ensureData({ mirror, sets: ['BSD68'], log: () => undefined }), /data set BSD68 is missing: folder not found.*Source: cszn\/DnCNN : testsets\/BSD68/);
  });

  it('a corrupt mirror file fails its checksum, naming the file and set', async () => {
    const mirror = miniMirror();
    const dataDirBefore = process.env.LGD_DATA_DIR;
    process.env.LGD_DATA_DIR = tmpdir();
    try {
      await ensureData({ mirror, sets: ['Set12'], log: () => undefined });
      assert.ok(fs.existsSync(datasetDir('Set12')));
      const victim = path.join(mirror, 'denoise/test/Set12', fs.readdirSync(path.join(mirror, 'denoise/test/Set12'))[0]);
      fs.appendFileSync(victim, 'x');
      await assert.rejects(ensureData({ mirror, sets: ['Set12'], log: () => undefined }), (e: Error) => e.message.includes(`checksum mismatch for ${victim} (data set Set12)`));
    } finally {
      if (dataDirBefore === undefined) delete process.env.LGD_DATA_DIR;
      else process.env.LGD_DATA_DIR = dataDirBefore;
    }
  });

  it('an unknown set name lists the known ones', () => {
    assert.throws(() => listImages('BSD69'), /unknown data set "BSD69"; known sets: .*BSD68/);
  });

  describe('PatchSampler', () => {
    const img = { data: Uint8Array.from({ length: 6 * 5 }, (_, i) => i), height: 6, width: 5, channels: 1 as const };

    it('is deterministic for a seed and resumes exactly from its state', () => {
      const a = new PatchSampler([img], { patchSize: 3, batchSize: 4, seed: 7 });
      const b = new PatchSampler([img], { patchSize: 3, batchSize: 4, seed: 7 });
      const a1 = a.next();
      const state = a.state;
      const a2 = a.next();
      b.next().dispose();
      const c = new PatchSampler([img], { patchSize: 3, batchSize: 4, seed: 123 });
      c.state = state;
      const c2 = c.next();
      assert.deepEqual(Array.from(c2.dataSync()), Array.from(a2.dataSync()));
      tf.dispose([a1, a2, c2]);
    });

    it('produces only the 8 dihedral transforms of real crops', () => {
      const s = new PatchSampler([img], { patchSize: 2, batchSize: 64, seed: 1 });
      const batch = s.next();
      const v = Array.from(batch.dataSync()).map((x) => Math.round(x * 255));
      const crops = new Set<string>();
      for (let y = 0; y + 2 <= 6; y++)
        for (let x = 0; x + 2 <= 5; x++) {
          const a = y * 5 + x, b = a + 1, c = a + 5, d = a + 6; // [[a b] [c d]]
          for (const q of [[a, b, c, d], [a, c, b, d], [c, d, a, b], [b, a, d, c], [d, c, b, a], [b, d, a, c], [c, a, d, b], [d, b, c, a]]) crops.add(q.join(','));
        }
      const seen = new Set<string>();
      for (let n = 0; n < 64; n++) {
        const q = v.slice(n * 4, n * 4 + 4).join(',');
        assert.ok(crops.has(q), `patch ${q} is not a flip/rotation of a crop`);
        seen.add(q);
      }
      assert.ok(seen.size > 20);
      batch.dispose();
    });

    it('rejects a patch larger than an image, naming the sizes', () => {
      assert.throws(() => new PatchSampler([img], { patchSize: 7, batchSize: 1 }), /image 0 \(6x5\) is smaller than the patch size 7/);
    });
  });

  it('Rng gives the same sequence for the same seed', () => {
    const a = new Rng(3), b = new Rng(3);
    for (let i = 0; i < 5; i++) assert.equal(a.next(), b.next());
  });
});
