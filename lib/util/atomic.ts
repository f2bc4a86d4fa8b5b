/**
 * Atomic, durable writes of files and folders, and the clean-up of what an interrupted write
 * leaves behind.
 *
 * A write goes to a temporary sibling (`<file>.<pid>.<ms>.tmp`, or the folder
 * `.<name>.tmp-<pid>-<ms>-<rand>`), whose data is flushed to disk (`fsync`) before it is renamed
 * into place; the parent folder is flushed after the rename, so the new name survives a power
 * cut too. A reader, or a crash at any moment, sees the old contents or the new ones, never a
 * mixture — only a leftover temporary, which {@link pruneTemporaries} removes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatSha256Sums } from './checksums';

/** Files of a folder to write: name to contents (no sub-folders). */
export type FolderFiles = Record<string, string | Uint8Array>;

/**
 * Flushes a folder's entries (new names, renames) to disk. A no-op where the platform cannot open
 * folders for syncing (Windows).
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes `data` to `file` and flushes it to disk before returning. */
export function writeFileDurable(file: string, data: string | Uint8Array, flag = 'w'): void {
  const fd = fs.openSync(file, flag);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a file atomically and durably: a temp file in the same folder, flushed, then renamed
 * over `file` (and the folder flushed), so a reader or a crash never sees a half-written result
 * or checkpoint. Creates the folder.
 * @example
 * writeFileAtomic('results/runs/x/latest.json', JSON.stringify({ step: 100 }));
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileDurable(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

function checkFileName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name === 'SHA256SUMS') {
    throw new Error(`invalid file name ${JSON.stringify(name)} for a checksummed folder (letters, digits, '.', '_', '-'; not SHA256SUMS)`);
  }
}

/**
 * Writes `files` plus a `SHA256SUMS` of them as the folder `dir`, atomically and durably: into a
 * sibling temporary folder first (every file and the folder flushed), which then replaces `dir`
 * (an existing `dir` is moved aside to `.<name>.old-…` and removed only after the new one is in
 * place; {@link pruneTemporaries} moves it back if a crash came in between).
 * @returns the paths written
 * @example
 * writeFolderAtomic('results/models/x', { 'config.json': '{}' });
 */
export function writeFolderAtomic(dir: string, files: FolderFiles): string[] {
  const names = Object.keys(files).sort();
  names.forEach(checkFileName);
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const stamp = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${stamp}`);
  const old = path.join(parent, `.${path.basename(dir)}.old-${stamp}`);
  try {
    fs.mkdirSync(tmp);
    for (const name of names) writeFileDurable(path.join(tmp, name), files[name]);
    writeFileDurable(path.join(tmp, 'SHA256SUMS'), formatSha256Sums(Object.fromEntries(names.map((n) => [n, files[n]]))));
    fsyncDir(tmp);
    const existed = fs.existsSync(dir);
    if (existed) fs.renameSync(dir, old);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      if (existed) fs.renameSync(old, dir);
      throw err;
    }
    fsyncDir(parent);
    if (existed) fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return [...names, 'SHA256SUMS'].map((n) => path.join(dir, n));
}

/** What {@link pruneTemporaries} did. */
export interface PruneReport {
  /** Leftover temporaries deleted (names inside the folder). */
  removed: string[];
  /** Folders moved back from `.<name>.old-…` because `<name>` was missing (a crash mid-replace). */
  restored: string[];
}

const TMP_FILE = /^(.+)\.(\d+)\.(\d+)\.tmp$/;
const TMP_DIR = /^\.(.+)\.(tmp|old)-(\d+)-\d+-[a-z0-9]*$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // this process has no write in flight while it prunes (writes are synchronous)
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries that interrupted {@link writeFileAtomic} / {@link writeFolderAtomic}
 * calls left in `dir` (not recursive), skipping those of another process still running. A folder
 * moved aside as `.<name>.old-…` whose replacement never arrived is renamed back to `<name>`.
 * @example
 * const { removed } = pruneTemporaries('results/runs/rim_gray/checkpoints');
 */
export function pruneTemporaries(dir: string): PruneReport {
  const report: PruneReport = { removed: [], restored: [] };
  if (!fs.existsSync(dir)) return report;
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const file = TMP_FILE.exec(name);
    const folder = TMP_DIR.exec(name);
    const pid = file ? Number(file[2]) : folder ? Number(folder[3]) : undefined;
    if (pid === undefined || processAlive(pid)) continue;
    if (folder && folder[2] === 'old' && !fs.existsSync(path.join(dir, folder[1]))) {
      fs.renameSync(full, path.join(dir, folder[1]));
      report.restored.push(folder[1]);
      continue;
    }
    fs.rmSync(full, { recursive: true, force: true });
    report.removed.push(name);
  }
  if (report.removed.length || report.restored.length) fsyncDir(dir);
  return report;
}
