/**
 * Data for tests, without the data mirror and without touching the project's `data/`.
 *
 * - {@link useFixtureData}: unit tests read the committed miniature mirror `test/fixtures/mirror/`
 *   (48×48 crops with the real mirror's layout and its own SHA256SUMS; made by
 *   `npx tsx scripts/make-test-fixtures.ts`), materialised by the library's own `ensureData` into
 *   a temporary data folder (`LGD_DATA_DIR`) for the suite.
 * - {@link useMirrorData}: a *data test* (full Set5/Set14 against published numbers, MATLAB's LR
 *   files) reads the real mirror; when the mirror lacks a set, the suite is skipped with one line
 *   saying which set and where it looked. The sets go into a temporary data folder too.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { datasetInfo, ensureData } from '../../lib/io/datasets';
import { dataMirror } from '../../lib/io/paths';

/** The committed miniature mirror. */
export const FIXTURE_MIRROR = path.resolve(__dirname, '..', 'fixtures', 'mirror');

/** The committed fixtures folder. */
export const FIXTURES = path.resolve(__dirname, '..', 'fixtures');

/**
 * Points `LGD_DATA_DIR` at a new temporary folder; returns a function that restores the previous
 * value and deletes the folder.
 */
export function temporaryDataDir(): () => void {
  const before = process.env.LGD_DATA_DIR;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lgd-test-data-'));
  process.env.LGD_DATA_DIR = dir;
  return () => {
    if (before === undefined) delete process.env.LGD_DATA_DIR;
    else process.env.LGD_DATA_DIR = before;
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * Mocha hooks for the current `describe`: the given sets of the fixture mirror, materialised into
 * a temporary data folder before its tests and removed after.
 * @example
 * describe('io', () => { useFixtureData(['BSD68', 'Set5']); it('...', async () => { await loadImages('BSD68'); }); });
 */
export function useFixtureData(sets: string[]): void {
  let restore: (() => void) | undefined;
  before(async () => {
    restore = temporaryDataDir();
    await ensureData({ mirror: FIXTURE_MIRROR, sets, log: () => undefined });
  });
  after(() => restore?.());
}

/** The sets of `sets` the mirror lacks (no folder, or no SHA256SUMS at its root). */
export function missingMirrorSets(sets: string[], mirror = dataMirror()): string[] {
  if (!fs.existsSync(path.join(mirror, 'SHA256SUMS'))) return [...sets];
  return sets.filter((s) => !fs.existsSync(path.join(mirror, datasetInfo(s).dir)));
}

/**
 * Mocha hooks for a data test: skips the `describe` (printing which sets are missing from which
 * mirror) when the data mirror (`LGD_DATA_MIRROR`, default `../shared/data`) lacks any of the
 * sets; otherwise verifies and links them into a temporary data folder, removed after.
 */
export function useMirrorData(sets: string[]): void {
  let restore: (() => void) | undefined;
  before(async function () {
    const missing = missingMirrorSets(sets);
    if (missing.length > 0) {
      console.log(`      skipped (data test): the data mirror ${dataMirror()} lacks ${missing.join(', ')}; set LGD_DATA_MIRROR to run it`);
      this.skip();
    }
    restore = temporaryDataDir();
    await ensureData({ sets, log: () => undefined });
  });
  after(() => restore?.());
}
