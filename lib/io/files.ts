import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes a file atomically: a temp file in the same folder, then a rename, so a reader (or a
 * crash) never sees a half-written result or checkpoint. Creates the folder.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
