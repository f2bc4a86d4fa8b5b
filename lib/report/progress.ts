/**
 * Sparse text progress lines for long loops in notebooks and scripts:
 * `BSD68 σ=25 [████······] 12/68 test012 TV 27.31 dB · 0:41 elapsed, ~2:10 left`.
 *
 * Notebook outputs are committed, so a line per item would bury the results: a line is printed
 * for the first item, then at most once per `intervalMs`, and always for the last one.
 */

/**
 * Options of {@link progress}.
 * @example
 * progress(68, { label: 'BSD68 σ=25', intervalMs: 30_000 });
 */
export interface ProgressOptions {
  /** Prefix of every line, e.g. `'BSD68 σ=25'`. */
  label?: string;
  /** Minimum time between two printed lines in ms (default 30 000; 0 prints every item). */
  intervalMs?: number;
  /** Width of the bar in characters (default 12; 0 for no bar). */
  width?: number;
  /** Where lines go (default `console.log`). */
  log?: (line: string) => void;
}

/**
 * A progress reporter returned by {@link progress}.
 * @example
 * const bar = progress(images.length, { label: 'BSD68' });
 * for (const im of images) { ...; bar.tick(`${im.name} ${psnr.toFixed(2)} dB`); }
 */
export interface Progress {
  /** Marks one more item done; `message` describes it (printed only when a line is due). */
  tick(message?: string): void;
  /** Items done so far. */
  readonly done: number;
  /** Seconds since {@link progress} was called. */
  elapsed(): number;
}

/** `m:ss` (or `h:mm:ss`) of a duration in seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** A text bar `[████······]` for a fraction in [0, 1]. */
export function textBar(fraction: number, width = 12): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'█'.repeat(full)}${'·'.repeat(width - full)}]`;
}

/**
 * Starts a progress reporter for `total` items. Each printed line shows the label, a bar,
 * `done/total`, the last item's message, the elapsed time and the remaining time estimated
 * from the mean time per item so far.
 * @param total number of items (≥ 0)
 * @param options label, print interval, bar width, sink
 * @example
 * const bar = progress(3, { label: 'demo', intervalMs: 0 });
 * bar.tick('a'); // "demo [████········] 1/3 a · 0:00 elapsed, ~0:00 left"
 */
export function progress(total: number, options: ProgressOptions = {}): Progress {
  if (!Number.isInteger(total) || total < 0) throw new Error(`progress: total must be an integer >= 0, got ${total}`);
  const interval = options.intervalMs ?? 30_000;
  const width = options.width ?? 12;
  const log = options.log ?? ((line: string) => console.log(line));
  const start = performance.now();
  let last = -Infinity;
  let done = 0;
  const elapsed = () => (performance.now() - start) / 1000;
  return {
    get done() {
      return done;
    },
    elapsed,
    tick(message?: string) {
      done++;
      const now = performance.now();
      if (done !== 1 && done < total && now - last < interval) return;
      last = now;
      const t = elapsed();
      const left = done < total ? `, ~${formatDuration((t / done) * (total - done))} left` : '';
      const parts = [
        options.label,
        width > 0 ? textBar(total > 0 ? done / total : 1, width) : undefined,
        `${done}/${total}`,
        message,
      ].filter((p) => p !== undefined && p !== '');
      log(`${parts.join(' ')} · ${formatDuration(t)} elapsed${left}`);
    },
  };
}
