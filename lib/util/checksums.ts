/**
 * SHA-256 checksums and `SHA256SUMS` files (the format of GNU `sha256sum`: one line
 * `<64 hex digits>  <name>` per file, or `<hex> *<name>` in binary mode), used by model folders,
 * training checkpoints and the data mirror. This is the one parser of that format in the library.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Hex SHA-256 of bytes or a string (UTF-8).
 * @example
 * sha256('abc'); // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 */
export function sha256(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Hex SHA-256 of a file's bytes. */
export function sha256File(file: string): string {
  return sha256(fs.readFileSync(file));
}

const SUM_LINE = /^([0-9a-fA-F]{64}) [ *](.+)$/;

/**
 * Parses the text of a `SHA256SUMS` file into name → lower-case hex digest (names as written,
 * e.g. `./denoise/x.png`; blank lines skipped). A malformed line or a name listed twice is an
 * error naming `source` (the file, for messages) and the line number.
 * @example
 * parseSha256Sums(`${'a'.repeat(64)}  weights.bin\n`, 'm/SHA256SUMS').get('weights.bin'); // 'aaaa…'
 */
export function parseSha256Sums(text: string, source = 'SHA256SUMS'): Map<string, string> {
  const sums = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    const m = SUM_LINE.exec(line);
    if (!m) throw new Error(`${source}:${i + 1}: malformed line ${JSON.stringify(line)} (expected '<64 hex digits>  <file>')`);
    if (sums.has(m[2])) throw new Error(`${source}:${i + 1}: ${m[2]} is listed twice`);
    sums.set(m[2], m[1].toLowerCase());
  });
  return sums;
}

/** Reads and parses a `SHA256SUMS` file ({@link parseSha256Sums}). */
export function readSha256Sums(file: string): Map<string, string> {
  return parseSha256Sums(fs.readFileSync(file, 'utf8'), file);
}

/**
 * The text of a `SHA256SUMS` file for `files` (name → contents), in the order given.
 * @example
 * formatSha256Sums({ 'a.txt': 'abc' }); // 'ba7816bf…  a.txt\n'
 */
export function formatSha256Sums(files: Record<string, string | Uint8Array>): string {
  return Object.entries(files)
    .map(([name, data]) => `${sha256(data)}  ${name}\n`)
    .join('');
}

/**
 * Checks every file listed in `<dir>/SHA256SUMS`; throws an error naming the first file that is
 * missing or whose SHA-256 differs (with the expected and actual hashes).
 * @param required files that must be listed (default `model.json`, `weights.bin`, `config.json`)
 * @example
 * verifyChecksums('results/models/rim_gray');
 */
export function verifyChecksums(dir: string, required: readonly string[] = ['model.json', 'weights.bin', 'config.json']): void {
  const sumsFile = path.join(dir, 'SHA256SUMS');
  if (!fs.existsSync(sumsFile)) throw new Error(`no SHA256SUMS in ${dir}: not a saved model folder, or written incompletely`);
  const listed = readSha256Sums(sumsFile);
  for (const name of required) {
    if (!listed.has(name)) throw new Error(`${sumsFile} does not list ${name}`);
  }
  for (const [name, expected] of listed) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new Error(`checksum check: ${file} is missing (listed in ${sumsFile})`);
    const actual = sha256File(file);
    if (actual !== expected) throw new Error(`checksum mismatch for ${file}: expected ${expected}, got ${actual} (the file was changed or corrupted)`);
  }
}
