/**
 * The arithmetic mean of a list of numbers (per-image PSNR/SSIM to a table row, benchmark
 * timings): `Σ v / n`, NaN for an empty list (no value to report rather than a made-up 0).
 * @param values the numbers
 * @example
 * mean([30.1, 28.4, 29.0]); // 29.1666…
 * mean([]);                 // NaN
 */
export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
