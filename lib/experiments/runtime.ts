/**
 * Run-time estimates: the cost of iterative restoration grows with (pixels × iterations), so a
 * quick run measures seconds per unit of that work and extrapolates to the full-size run.
 */
import sharp from 'sharp';
import { listImages, ListOptions } from '../io/datasets';

/**
 * Counts the images of a set and their pixels (height × width, from the file headers; no decoding).
 * @param name the set
 * @param options as `listImages` (scale/kind for Set5/Set14, limit)
 * @example
 * await datasetPixels('BSD68'); // { images: 68, pixels: 10498488 }
 */
export async function datasetPixels(name: string, options: ListOptions = {}): Promise<{ images: number; pixels: number }> {
  const files = listImages(name, options);
  let pixels = 0;
  for (const file of files) {
    const meta = await sharp(file).metadata();
    pixels += (meta.width ?? 0) * (meta.height ?? 0);
  }
  return { images: files.length, pixels };
}

/**
 * One part of a run for {@link estimateRuntime}.
 * @example
 * const part: RuntimePart = { name: 'denoise', seconds: 12, work: 3e6, fullWork: 6e8 };
 */
export interface RuntimePart {
  name: string;
  /** Seconds measured for this part in this run. */
  seconds: number;
  /** Work done in this run (Σ optimised values × iterations); gives the rate `seconds / work`. */
  work?: number;
  /** Seconds per unit of work, when measured elsewhere (e.g. on a full-size image); overrides `seconds / work`. */
  rate?: number;
  /** Work of the same part at full size; omit for parts whose cost does not scale (taken as measured). */
  fullWork?: number;
}

/** A part's estimate. */
export interface RuntimeEstimateRow extends RuntimePart {
  /** Microseconds per unit of work used (0 when not scaled). */
  microsecondsPerUnit: number;
  /** Estimated full-size seconds. */
  fullSeconds: number;
}

/**
 * Extrapolates each part to its full-size work, `fullSeconds = rate · fullWork` with
 * `rate = part.rate ?? seconds / work`; parts without `fullWork` (or any rate) count as measured.
 * Small quick-run images carry a larger share of per-operation overhead, so rates measured on them
 * overestimate; measure the rate on one full-size image instead.
 * @example
 * const { rows, totalSeconds } = estimateRuntime([{ name: 'denoise', seconds: 10, work: 1e6, fullWork: 1e8 }]);
 * totalSeconds; // 1000
 */
export function estimateRuntime(parts: readonly RuntimePart[]): { rows: RuntimeEstimateRow[]; totalSeconds: number } {
  const rows = parts.map((p) => {
    const rate = p.rate ?? (p.work && p.work > 0 ? p.seconds / p.work : undefined);
    const fullSeconds = p.fullWork === undefined || rate === undefined ? p.seconds : rate * p.fullWork;
    return { ...p, microsecondsPerUnit: (rate ?? 0) * 1e6, fullSeconds };
  });
  return { rows, totalSeconds: rows.reduce((s, r) => s + r.fullSeconds, 0) };
}
