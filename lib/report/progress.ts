/**
 * Progress reporting for long loops, one implementation for training and evaluation:
 * `label [#####.......]  42% 420/1000 | loss 0.0123 | 2.10 steps/s | ETA 4m36s`, drawn the way the
 * output can take it:
 * - a TTY: one line redrawn in place (at most 10 times a second);
 * - anything else (a notebook, a log file, CI, a `log` sink): a plain line for the first update,
 *   then at most one per interval (default 30 s), plus the last — committed outputs stay short;
 * - on request (`mode: 'notebook'`), a tslab output updated in place (`tslab.newDisplay()`), at most
 *   twice a second. Not the default: those updates can collide with tslab's own messages on its
 *   socket (EBUSY) and kill the kernel during long cells.
 *
 * {@link ProgressBar} takes absolute counts and fields (training: the step, the loss);
 * {@link progress} is the per-item form for evaluation loops (`tick(message)` after each image).
 */
import { isNotebook } from './display';

/** Where a {@link ProgressBar} draws. */
export type ProgressMode = 'tty' | 'notebook' | 'lines' | 'silent';

/** Options of {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** The total count (e.g. training steps). */
  total: number;
  /** A label in front of the bar. */
  label?: string;
  /** The count already done when the bar starts (e.g. the step a run resumes from); rates count from here. */
  start?: number;
  /** Unit of the rate (default 'steps'). */
  unit?: string;
  /** Default: a TTY when the stream is one, else lines (also in notebooks, see the file header). */
  mode?: ProgressMode;
  /** Stream for 'tty' and 'lines' (default process.stdout). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** In 'lines' mode, the interval between lines in ms (default 30 000). */
  lineEveryMs?: number;
  /** Bar width in characters (default 24). */
  width?: number;
  /** A sink for whole lines instead of a stream (implies 'lines' mode unless `mode` is given). */
  log?: (line: string) => void;
}

/**
 * A duration in seconds as `1h02m`, `3m05s` or `12.3s`.
 * @example
 * formatEta(185); // "3m05s"
 */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(r).padStart(2, '0')}s`;
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}

interface TslabDisplayLike {
  text(s: string): void;
}

/**
 * A progress bar: `label [#####.......] 42% 420/1000 | loss 0.0123 | 2.10 steps/s | ETA 4m36s`.
 * @example
 * const bar = new ProgressBar({ total: 1000, label: 'train' });
 * for (let step = 1; step <= 1000; step++) bar.update(step, { loss });
 * bar.done();
 */
export class ProgressBar {
  readonly mode: ProgressMode;
  private readonly opts: Required<Omit<ProgressBarOptions, 'stream' | 'mode' | 'log'>> & { stream: NonNullable<ProgressBarOptions['stream']> };
  private readonly log?: (line: string) => void;
  private readonly t0 = Date.now();
  private lastDraw = 0;
  private lastLine = '';
  private display?: TslabDisplayLike;
  private finished = false;

  constructor(options: ProgressBarOptions) {
    const { log, mode: requested, ...rest } = options;
    const stream = options.stream ?? process.stdout;
    this.opts = { label: '', start: 0, unit: 'steps', lineEveryMs: 30000, width: 24, ...rest, stream };
    this.log = log;
    // In a notebook the default is lines too: tslab's in-place display updates can collide with its
    // own messages on the ZMQ socket ("Socket is busy writing", EBUSY) and kill the kernel in long
    // cells; 'notebook' mode stays available on request.
    let mode = requested ?? (log || isNotebook() ? 'lines' : stream.isTTY ? 'tty' : 'lines');
    if (mode === 'notebook') {
      try {
        const hook = (globalThis as { __tslab__?: { require(id: string): { newDisplay(): TslabDisplayLike } } }).__tslab__;
        this.display = hook?.require('tslab').newDisplay();
      } catch {
        this.display = undefined;
      }
      if (!this.display) mode = 'lines';
    }
    this.mode = mode;
  }

  /** The text of the bar for `done` items, the given fields and an optional message (e.g. the last item). */
  render(done: number, fields: Record<string, number | string> = {}, message?: string): string {
    const { total, label, start, unit, width } = this.opts;
    const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
    const filled = Math.round(frac * width);
    const elapsed = (Date.now() - this.t0) / 1000;
    const rate = done > start && elapsed > 0 ? (done - start) / elapsed : 0; // 0: not known yet
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const parts = [
      `${label ? label + ' ' : ''}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total}`,
      ...(message ? [message] : []),
      ...Object.entries(fields).map(([k, v]) => `${k} ${formatValue(v)}`),
      rate === 0 ? `? ${unit}/s` : rate >= 1 ? `${rate.toFixed(2)} ${unit}/s` : `${(1 / rate).toFixed(2)} s/${unit.replace(/s$/, '')}`,
      done >= total ? `took ${formatEta(elapsed)}` : `ETA ${formatEta(eta)}`,
    ];
    return parts.join(' | ');
  }

  /**
   * Reports progress; draws when the mode's interval has passed (always at the end).
   * @param done items done so far (absolute, e.g. the step number)
   * @param fields shown after the bar, e.g. `{ loss: 0.0123, lr: 1e-3 }`
   * @param message shown before the fields, e.g. the item just done
   */
  update(done: number, fields: Record<string, number | string> = {}, message?: string): void {
    if (this.mode === 'silent' || this.finished) return;
    const now = Date.now();
    const last = done >= this.opts.total;
    const interval = this.mode === 'tty' ? 100 : this.mode === 'notebook' ? 500 : this.opts.lineEveryMs;
    if (!last && this.lastDraw !== 0 && now - this.lastDraw < interval) return;
    this.lastDraw = now;
    this.draw(this.render(done, fields, message));
  }

  private draw(line: string): void {
    this.lastLine = line;
    if (this.mode === 'tty') {
      const cols = this.opts.stream.columns ?? 120;
      this.opts.stream.write(`\r${line.length > cols - 1 ? line.slice(0, cols - 1) : line}\x1b[K`);
    } else if (this.mode === 'notebook') {
      try {
        this.display?.text(line);
      } catch {
        /* not inside a running cell: skip */
      }
    } else if (this.log) {
      this.log(line);
    } else {
      this.opts.stream.write(line + '\n');
    }
  }

  /** Ends the bar (a TTY line gets its newline); an optional message is printed after it. */
  done(message?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'tty' && this.lastLine) this.opts.stream.write('\n');
    if (message && this.mode !== 'silent') {
      if (this.mode === 'notebook') {
        try {
          this.display?.text(`${this.lastLine}\n${message}`);
        } catch {
          /* not inside a running cell */
        }
      } else if (this.log) this.log(message);
      else this.opts.stream.write(message + '\n');
    }
  }
}

/**
 * Options of {@link progress}.
 * @example
 * progress(68, { label: 'BSD68 σ=25', intervalMs: 30_000 });
 */
export interface ProgressOptions {
  /** Prefix of every line, e.g. `'BSD68 σ=25'`. */
  label?: string;
  /** In lines mode, the minimum time between two lines in ms (default 30 000; 0 prints every item). */
  intervalMs?: number;
  /** Width of the bar in characters (default 12). */
  width?: number;
  /** Where lines go (default: in place in a notebook or terminal, else lines on stdout). */
  log?: (line: string) => void;
  /** The stream to draw on when there is no `log` (default process.stdout): in place when it is a TTY, else lines. */
  stream?: ProgressBarOptions['stream'];
}

/**
 * A per-item progress reporter returned by {@link progress}.
 * @example
 * const bar = progress(images.length, { label: 'BSD68' });
 * for (const im of images) { ...; bar.tick(`${im.name} ${psnr.toFixed(2)} dB`); }
 */
export interface Progress {
  /** Marks one more item done; `message` describes it (shown when a line is drawn). */
  tick(message?: string): void;
  /** Items done so far. */
  readonly done: number;
  /** Seconds since {@link progress} was called. */
  elapsed(): number;
}

/**
 * Starts a {@link ProgressBar} over `total` items for an evaluation loop: each `tick` counts one
 * item and shows its message, the rate in items/s and the ETA.
 * @param total number of items (≥ 0)
 * @example
 * const bar = progress(3, { label: 'demo', intervalMs: 0, log: console.log });
 * bar.tick('a'); // "demo [####........]  33% 1/3 | a | 2.00 items/s | ETA 1.0s"
 */
export function progress(total: number, options: ProgressOptions = {}): Progress {
  if (!Number.isInteger(total) || total < 0) throw new Error(`progress: total must be an integer >= 0, got ${total}`);
  const bar = new ProgressBar({ total, label: options.label, unit: 'items', width: options.width ?? 12, lineEveryMs: options.intervalMs ?? 30_000, log: options.log, ...(options.stream ? { stream: options.stream } : {}) });
  const start = performance.now();
  let done = 0;
  return {
    get done() {
      return done;
    },
    elapsed: () => (performance.now() - start) / 1000,
    tick(message?: string) {
      done++;
      bar.update(done, {}, message);
      if (done >= total) bar.done();
    },
  };
}
