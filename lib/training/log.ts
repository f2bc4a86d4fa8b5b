/**
 * The training log: one entry per optimizer step. A run folder keeps it as `log.jsonl` (one JSON
 * entry a line, appended and flushed before each checkpoint: {@link RunLog}), and as `log.csv` /
 * `log.json` when a session ends. Training only writes data; the training-curve figure is drawn
 * by the report layer (`trainingCurve` in `lib/report/training_curve.ts`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic, writeFileDurable } from '../util/atomic';

/** One optimizer step. */
export interface LogEntry {
  /** 1-based step number (steps done after this one). */
  step: number;
  /** The training loss of the step's batch (before the update). */
  loss: number;
  /** The learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Seconds since the run started (resumed runs continue the count). */
  wallTime: number;
  /** Seconds this step took. */
  stepTime: number;
  /** The tfjs backend. */
  engine: string;
  /** Validation PSNR (dB) after this step, on the steps that validate. */
  valPsnr?: number;
}

const COLUMNS: Array<[string, keyof LogEntry]> = [
  ['step', 'step'],
  ['loss', 'loss'],
  ['lr', 'lr'],
  ['grad_norm', 'gradNorm'],
  ['wall_time_s', 'wallTime'],
  ['step_time_s', 'stepTime'],
  ['engine', 'engine'],
  ['val_psnr', 'valPsnr'],
];

/**
 * The log as CSV: `step,loss,lr,grad_norm,wall_time_s,step_time_s,engine`, plus `val_psnr` when the
 * run validated (empty on the other steps), numbers at full precision (the losses round-trip exactly).
 */
export function logToCsv(entries: readonly LogEntry[]): string {
  const validated = entries.some((e) => e.valPsnr !== undefined);
  const columns = COLUMNS.filter(([, k]) => k !== 'valPsnr' || validated); // runs without validation keep the older columns
  const lines = [columns.map(([h]) => h).join(',')];
  for (const e of entries) lines.push(columns.map(([, k]) => (e[k] === undefined ? '' : String(e[k]))).join(','));
  return lines.join('\n') + '\n';
}

/** The log as JSON: `{ run, entries }` (with any extra top-level fields given). */
export function logToJson(entries: readonly LogEntry[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...extra, entries }, null, 1);
}

/** Writes `<dir>/log.csv` and `<dir>/log.json` atomically. */
export function writeLog(dir: string, entries: readonly LogEntry[], extra: Record<string, unknown> = {}): void {
  writeFileAtomic(path.join(dir, 'log.csv'), logToCsv(entries));
  writeFileAtomic(path.join(dir, 'log.json'), logToJson(entries, extra));
}

/**
 * The running mean of the last `window` values (fewer at the start).
 * @example
 * runningMean([4, 2, 0, 2], 2); // [4, 3, 1, 1]
 */
export function runningMean(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += values[i];
    if (i >= window) acc -= values[i - window];
    out.push(acc / Math.min(i + 1, window));
  }
  return out;
}

/** The name of the appended log in a run folder. */
export const LOG_JSONL = 'log.jsonl';

function entryError(file: string, line: number, why: string): Error {
  return new Error(`${file}:${line}: ${why}`);
}

/**
 * Reads a JSONL training log, keeping the entries up to step `upToStep` (later ones come from
 * steps a resumed run will redo). An unfinished last line (a crash mid-append) is ignored; a bad
 * line before the end, or steps out of order, is an error naming the file and line.
 * @example
 * const log = readLogJsonl('results/runs/rim_gray/log.jsonl', 4000); // entries of steps 1..4000
 */
export function readLogJsonl(file: string, upToStep = Infinity): LogEntry[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: LogEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let entry: LogEntry;
    try {
      entry = JSON.parse(lines[i]) as LogEntry;
    } catch {
      if (lines.slice(i + 1).every((l) => !l.trim())) break; // the last line, cut short by a crash
      throw entryError(file, i + 1, 'not valid JSON (and not the last line, so not an interrupted append)');
    }
    if (!Number.isInteger(entry?.step)) throw entryError(file, i + 1, 'entry without an integer step');
    if (out.length && entry.step <= out[out.length - 1].step) throw entryError(file, i + 1, `step ${entry.step} after step ${out[out.length - 1].step}`);
    if (entry.step > upToStep) break;
    out.push(entry);
  }
  return out;
}

/**
 * The JSONL log of a run folder (`<run>/log.jsonl`), appended rather than rewritten: each
 * {@link RunLog.append} adds the entries not yet on disk and flushes them (`fsync`), so a
 * checkpoint written after it always finds its steps in the file.
 * @example
 * const runLog = new RunLog(runDir);
 * runLog.reset(resumedEntries); // once per session: the file holds exactly these
 * runLog.append(log);           // before each checkpoint: adds log[written..]
 */
export class RunLog {
  /** The file, `<runDir>/log.jsonl`. */
  readonly file: string;
  private written = 0;

  constructor(runDir: string) {
    this.file = path.join(runDir, LOG_JSONL);
  }

  /** Entries on disk. */
  get length(): number {
    return this.written;
  }

  /** Replaces the file (atomically) by `entries`: a fresh run (none), or a resumed one truncated to its checkpoint. */
  reset(entries: readonly LogEntry[]): void {
    writeFileAtomic(this.file, entries.map((e) => JSON.stringify(e) + '\n').join(''));
    this.written = entries.length;
  }

  /** Appends `entries[length..]` (the entries before are on disk already) and flushes the file. */
  append(entries: readonly LogEntry[]): void {
    if (entries.length < this.written) {
      throw new Error(`RunLog.append: ${this.file} holds ${this.written} entries but only ${entries.length} were given (reset it first)`);
    }
    if (entries.length === this.written) return;
    writeFileDurable(this.file, entries.slice(this.written).map((e) => JSON.stringify(e) + '\n').join(''), 'a');
    this.written = entries.length;
  }
}
