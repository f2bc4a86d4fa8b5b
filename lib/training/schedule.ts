/** Learning-rate schedules: constant, step decay and cosine, each with an optional linear warm-up. */
import { ScheduleConfig } from './config';

/**
 * The learning rate of optimizer step `step` (0-based) out of `total`:
 * - `constant`: `lr`;
 * - `step`: `lr · gamma^⌊step / every⌋`;
 * - `cosine`: `minLr + ½(lr − minLr)(1 + cos(π · step / total))`;
 * times `(step + 1)/warmup` during the first `warmup` steps.
 * @example
 * learningRate({ type: 'cosine', minLr: 0 }, 1e-3, 50, 100); // 5e-4
 */
export function learningRate(schedule: ScheduleConfig, lr: number, step: number, total: number): number {
  let rate: number;
  if (schedule.type === 'step') rate = lr * Math.pow(schedule.gamma, Math.floor(step / schedule.every));
  else if (schedule.type === 'cosine') rate = schedule.minLr + 0.5 * (lr - schedule.minLr) * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
  else rate = lr;
  const warmup = schedule.warmup ?? 0;
  return warmup > 0 && step < warmup ? (rate * (step + 1)) / warmup : rate;
}
