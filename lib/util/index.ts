/**
 * Utilities shared by every layer: the seeded {@link Rng}, atomic and durable writes of files and
 * folders ({@link writeFileAtomic}, {@link writeFolderAtomic}, {@link pruneTemporaries}), and
 * SHA-256 checksums with the one `SHA256SUMS` parser ({@link parseSha256Sums},
 * {@link verifyChecksums}). `lib/io/files.ts`, `lib/io/rng.ts` and `lib/solvers/learned/io.ts`
 * re-export them under their older import paths.
 * @example
 * import { Rng, writeFileAtomic, sha256 } from 'lgd-workspace';
 */
export * from './rng';
export * from './atomic';
export * from './checksums';
export * from './objects';
