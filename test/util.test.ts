import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng as IoRng } from '../lib/io/rng';
import { writeFileAtomic as ioWriteFileAtomic } from '../lib/io/files';
import { sha256 as learnedSha256, verifyChecksums as learnedVerify } from '../lib/solvers/learned/io';
import { formatSha256Sums, parseSha256Sums, pruneTemporaries, Rng, sha256, verifyChecksums, writeFileAtomic, writeFolderAtomic } from '../lib/util';

describe('util: one module for Rng, atomic writes and checksums', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-util-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the older import paths give the same functions', () => {
    assert.equal(IoRng, Rng);
    assert.equal(ioWriteFileAtomic, writeFileAtomic);
    assert.equal(learnedSha256, sha256);
    assert.equal(learnedVerify, verifyChecksums);
  });

  it('sha256 matches the FIPS 180-2 test vector', () => {
    assert.equal(sha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('parses SHA256SUMS in text and binary mode, and names the line of a malformed or repeated entry', () => {
    const h = 'A'.repeat(64);
    const sums = parseSha256Sums(`${h}  ./a/b.png\n\n${'b'.repeat(64)} *c.bin\r\n`, 'x/SHA256SUMS');
    assert.deepEqual([...sums], [
      ['./a/b.png', 'a'.repeat(64)],
      ['c.bin', 'b'.repeat(64)],
    ]);
    assert.throws(() => parseSha256Sums(`${h}  a\nnot a sum\n`, 'x/SHA256SUMS'), /x\/SHA256SUMS:2: malformed line "not a sum"/);
    assert.throws(() => parseSha256Sums(`${h}  a\n${h}  a\n`, 'S'), /S:2: a is listed twice/);
    assert.deepEqual([...parseSha256Sums(formatSha256Sums({ 'a.txt': 'abc' }))], [['a.txt', sha256('abc')]]);
  });

  it('writeFolderAtomic writes a checksummed folder, replaces an old one, and verifyChecksums names a corrupted file', () => {
    const out = path.join(dir, 'model');
    writeFolderAtomic(out, { 'a.json': '{"v":1}', 'b.bin': new Uint8Array([1, 2, 3]) });
    verifyChecksums(out, ['a.json', 'b.bin']);
    writeFolderAtomic(out, { 'a.json': '{"v":2}' });
    assert.deepEqual(fs.readdirSync(out).sort(), ['SHA256SUMS', 'a.json']);
    assert.deepEqual(fs.readdirSync(dir), ['model'], 'no temporaries or old folder left');
    fs.writeFileSync(path.join(out, 'a.json'), '{"v":3}');
    assert.throws(() => verifyChecksums(out, ['a.json']), /checksum mismatch for .*a\.json/);
    assert.throws(() => verifyChecksums(out, ['a.json', 'b.bin']), /does not list b\.bin/);
    assert.throws(() => writeFolderAtomic(out, { SHA256SUMS: 'x' }), /invalid file name "SHA256SUMS"/);
  });

  it('pruneTemporaries removes what interrupted writes left, restores a folder set aside, keeps the rest', () => {
    const me = process.pid;
    writeFileAtomic(path.join(dir, 'latest.json'), '{}');
    fs.writeFileSync(path.join(dir, `latest.json.${me}.1700000000000.tmp`), '{"st');
    fs.mkdirSync(path.join(dir, `.step-000004.tmp-${me}-1700000000000-abc123`));
    fs.mkdirSync(path.join(dir, `.step-000002.old-${me}-1700000000000-abc123`)); // step-000002 itself is gone
    fs.mkdirSync(path.join(dir, 'step-000006'));
    fs.mkdirSync(path.join(dir, `.step-000006.old-${me}-1700000000000-abc123`)); // step-000006 is in place
    fs.writeFileSync(path.join(dir, 'notes.tmp'), 'not ours');
    const report = pruneTemporaries(dir);
    assert.deepEqual(report.restored, ['step-000002']);
    assert.equal(report.removed.length, 3);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['latest.json', 'notes.tmp', 'step-000002', 'step-000006']);
    assert.deepEqual(pruneTemporaries(dir), { removed: [], restored: [] });
  });

  it('the temporaries of a live process are left alone', () => {
    const parent = process.ppid; // alive while this test runs
    const name = `x.json.${parent}.1700000000000.tmp`;
    fs.writeFileSync(path.join(dir, name), '');
    assert.deepEqual(pruneTemporaries(dir).removed, []);
    assert.ok(fs.existsSync(path.join(dir, name)));
  });
});
