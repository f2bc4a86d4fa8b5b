/**
 * Compatibility path: atomic writes live in the utilities module (`lib/util/atomic.ts`); this
 * file re-exports them for the modules and scripts that import `io/files`.
 */
export { fsyncDir, pruneTemporaries, writeFileAtomic, writeFileDurable, writeFolderAtomic } from '../util/atomic';
export type { FolderFiles, PruneReport } from '../util/atomic';
