/**
 * What the headless notebook runner remembers between runs, in `<out>/runner-state.json`
 * (results/notebooks/ by default, git-ignored):
 *
 * - per notebook and mode (`full` / `quick`): the hash of its source, when it finished, how long
 *   it took and each cell's time — the ETA of the next run;
 * - per mode, the run still open: a run is opened when it starts and closed when every notebook
 *   it was given has finished. A run that failed or was interrupted stays open, and the next
 *   one resumes it: notebooks that finished in it, with their source unchanged and their executed
 *   copy present, are skipped. `--restart` closes it first.
 *
 * Only the runner (scripts/run-notebooks.ts) uses this; the functions are pure apart from
 * {@link loadState} / {@link saveState}, so they are tested without Jupyter.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** The two sizes a notebook runs at. */
export type RunMode = 'full' | 'quick';

/** One notebook's last finished run in one mode. */
export interface NotebookRecord {
  /** {@link notebookHash} of the source notebook that ran. */
  sha256: string;
  /** When it finished (ISO 8601). */
  finished: string;
  /** Wall time of the whole notebook, kernel start included. */
  seconds: number;
  /** Seconds per executed cell, by cell index. */
  cells: Record<string, number>;
  /** The id of the run it finished in ({@link OpenRun.id}). */
  run: string;
}

/** A run that started and has not finished all its notebooks yet. */
export interface OpenRun {
  id: string;
  started: string;
}

/** The whole state file. */
export interface RunnerState {
  version: 1;
  notebooks: Record<string, Partial<Record<RunMode, NotebookRecord>>>;
  open: Partial<Record<RunMode, OpenRun>>;
}

/** The state file's name inside the runner's output folder. */
export const STATE_FILE = 'runner-state.json';

/** An empty state. */
export function emptyState(): RunnerState {
  return { version: 1, notebooks: {}, open: {} };
}

/**
 * SHA-256 of what a notebook *is*: its cells' types and sources, in order. Outputs, execution
 * counts, cell ids and metadata do not count, so stripping or re-saving a notebook keeps its hash.
 * @example
 * notebookHash('notebooks/00_quickstart.ipynb'); // '3f1c…' (64 hex digits)
 */
export function notebookHash(file: string): string {
  let nb: { cells?: { cell_type?: string; source?: string | string[] }[] };
  try {
    nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not a readable notebook (${(e as Error).message})`);
  }
  if (!Array.isArray(nb.cells)) throw new Error(`${file}: not an nbformat 4 notebook (no cells array)`);
  const cells = nb.cells.map((c) => [c.cell_type ?? '', Array.isArray(c.source) ? c.source.join('') : c.source ?? '']);
  return createHash('sha256').update(JSON.stringify(cells)).digest('hex');
}

/**
 * Reads `<dir>/runner-state.json`; an absent file gives an empty state, an unreadable one too,
 * after one `warn` line naming it (the state only saves time: losing it costs a full rerun).
 */
export function loadState(dir: string, warn: (line: string) => void = console.warn): RunnerState {
  const file = path.join(dir, STATE_FILE);
  if (!fs.existsSync(file)) return emptyState();
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as RunnerState;
    if (s && s.version === 1 && typeof s.notebooks === 'object' && s.notebooks && typeof s.open === 'object' && s.open) return s;
    warn(`run-notebooks: ignoring ${file}: not a version-1 runner state (every notebook runs)`);
  } catch (e) {
    warn(`run-notebooks: ignoring ${file}: ${(e as Error).message} (every notebook runs)`);
  }
  return emptyState();
}

/** Writes the state atomically (temporary file, flushed, renamed into place). */
export function saveState(dir: string, state: RunnerState): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, STATE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(state, null, 1) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Begins a run in `mode`: resumes the open one when `resume` is set and there is one, else opens
 * a new one (replacing any open run of that mode).
 * @example
 * const { run, resumed } = startRun(state, 'full', true);
 */
export function startRun(state: RunnerState, mode: RunMode, resume: boolean, now = new Date()): { run: OpenRun; resumed: boolean } {
  const open = state.open[mode];
  if (resume && open) return { run: open, resumed: true };
  const run = { id: now.toISOString(), started: now.toISOString() };
  state.open[mode] = run;
  return { run, resumed: false };
}

/**
 * The record that lets a resumed run skip a notebook: it finished in this very run, with the same
 * source hash, and its executed copy `output` still exists. Undefined when it must run.
 */
export function finishedInRun(state: RunnerState, run: OpenRun, name: string, mode: RunMode, sha256: string, output: string): NotebookRecord | undefined {
  const rec = state.notebooks[name]?.[mode];
  if (!rec || rec.run !== run.id || rec.sha256 !== sha256 || !fs.existsSync(output)) return undefined;
  return rec;
}

/** Notes that a notebook finished in `run`. */
export function recordFinished(state: RunnerState, run: OpenRun, name: string, mode: RunMode, rec: Omit<NotebookRecord, 'run'>): void {
  state.notebooks[name] = { ...state.notebooks[name], [mode]: { ...rec, run: run.id } };
}

/** Closes the open run of `mode` (all its notebooks finished, or `--restart`). */
export function closeRun(state: RunnerState, mode: RunMode): void {
  delete state.open[mode];
}

/** The last recorded wall time of a notebook in `mode` (any run), if any. */
export function previousSeconds(state: RunnerState, name: string, mode: RunMode): number | undefined {
  return state.notebooks[name]?.[mode]?.seconds;
}

/** The last recorded per-cell times of a notebook in `mode`, by cell index ({} when none). */
export function previousCells(state: RunnerState, name: string, mode: RunMode): Record<string, number> {
  return state.notebooks[name]?.[mode]?.cells ?? {};
}
