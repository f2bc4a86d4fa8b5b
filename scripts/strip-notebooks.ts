/**
 * Removes outputs, execution counts and execution timing metadata from source notebooks, so they
 * are committed without outputs (executed copies live in results/notebooks/), and gives every cell
 * an id (nbformat 4.5: Jupyter warns `MissingIDFieldWarning` on cells without one). An existing id
 * is kept; a missing or invalid one is derived from the cell's position and source, so two people
 * stripping the same notebook get the same ids.
 *
 *   tsx scripts/strip-notebooks.ts [--check] [NOTEBOOK|DIR ...]    (default: notebooks/*.ipynb)
 *
 * --check: change nothing; list notebooks that carry outputs or lack cell ids and exit 1 if any do.
 * Files are rewritten only when something changed, in nbformat's layout (1-space indent,
 * sorted keys, trailing newline) so that Jupyter's own saves produce no diff noise.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseCommandLineOrThrow, UsageError } from './cli';

const NOTEBOOKS_DIR = path.resolve(__dirname, '..', 'notebooks');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Cell {
  cell_type: string;
  id?: string;
  metadata?: Record<string, Json>;
  outputs?: Json[];
  execution_count?: number | null;
  [key: string]: unknown;
}
interface Notebook {
  cells: Cell[];
  nbformat?: number;
  nbformat_minor?: number;
  [key: string]: unknown;
}

/** Cell metadata written by execution (nbclient's `execution`, the ExecuteTime extension). */
const EXEC_METADATA = ['execution', 'ExecuteTime'];

/** A valid nbformat 4.5 cell id: 1-64 letters, digits, `-` or `_`. */
export const CELL_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/** Why a notebook's cell ids are not in order: missing, invalid or repeated ids, an nbformat below 4.5. */
export function idProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  if ((nb.nbformat ?? 4) === 4 && (nb.nbformat_minor ?? 0) < 5) problems.push(`nbformat 4.${nb.nbformat_minor ?? 0} (cell ids need 4.5)`);
  const seen = new Set<string>();
  const missing = nb.cells.map((cell, i) => (typeof cell.id === 'string' ? -1 : i)).filter((i) => i >= 0);
  if (missing.length) problems.push(`${missing.length} cell(s) without an id (cell ${missing.length > 6 ? `${missing.slice(0, 6).join(', ')}, ...` : missing.join(', ')})`);
  nb.cells.forEach((cell, i) => {
    if (typeof cell.id !== 'string') return;
    if (!CELL_ID.test(cell.id)) problems.push(`cell ${i}: invalid id ${JSON.stringify(cell.id)}`);
    else if (seen.has(cell.id)) problems.push(`cell ${i}: id ${cell.id} repeats an earlier cell's`);
    if (typeof cell.id === 'string') seen.add(cell.id);
  });
  return problems;
}

/**
 * Gives every cell a valid, unique id and sets nbformat 4.5; keeps the ids that are valid and
 * unique. A new id is the first 8 hex digits of SHA-256 over the cell's index and source (plus a
 * counter on the rare clash), so it is the same wherever the notebook is stripped.
 * @example
 * assignCellIds({ cells: [{ cell_type: 'code', source: '1 + 1' }] }).cells[0].id; // e.g. 'a3f09c12'
 */
export function assignCellIds(nb: Notebook): Notebook {
  if ((nb.nbformat ?? 4) === 4 && (nb.nbformat_minor ?? 0) < 5) nb.nbformat_minor = 5;
  const taken = new Set<string>();
  const keep = nb.cells.map((cell) => {
    const ok = typeof cell.id === 'string' && CELL_ID.test(cell.id) && !taken.has(cell.id);
    if (ok) taken.add(cell.id as string);
    return ok;
  });
  nb.cells.forEach((cell, i) => {
    if (keep[i]) return;
    const source = Array.isArray(cell.source) ? (cell.source as string[]).join('') : String(cell.source ?? '');
    for (let salt = 0; ; salt++) {
      const id = createHash('sha256').update(`${i}\n${salt}\n${source}`).digest('hex').slice(0, 8);
      if (!taken.has(id)) {
        cell.id = id;
        taken.add(id);
        break;
      }
    }
  });
  return nb;
}

/** Why a notebook is not clean: one line per offending cell (outputs, then ids); empty when clean. */
export function outputProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  nb.cells.forEach((cell, i) => {
    const what: string[] = [];
    if (cell.cell_type === 'code') {
      if (cell.outputs && cell.outputs.length) what.push(`${cell.outputs.length} output(s)`);
      if (cell.execution_count != null) what.push(`execution_count ${cell.execution_count}`);
    }
    const meta = EXEC_METADATA.filter((k) => cell.metadata && k in cell.metadata);
    if (meta.length) what.push(`metadata ${meta.join(', ')}`);
    if (what.length) problems.push(`cell ${i}: ${what.join(', ')}`);
  });
  return [...problems, ...idProblems(nb)];
}

/** Strips a notebook in place (and assigns missing cell ids, {@link assignCellIds}); returns it. */
export function stripNotebook(nb: Notebook): Notebook {
  assignCellIds(nb);
  for (const cell of nb.cells) {
    if (cell.cell_type === 'code') {
      cell.outputs = [];
      cell.execution_count = null;
    }
    if (cell.metadata) for (const k of EXEC_METADATA) delete cell.metadata[k];
  }
  return nb;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeys(o[k])]));
  }
  return v;
}

/** Serialises like nbformat.write: indent 1, sorted keys, trailing newline. */
export function formatNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeys(nb), null, 1) + '\n';
}

export function readNotebook(file: string): Notebook {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
  if (!nb || !Array.isArray(nb.cells)) throw new Error(`${file}: not an nbformat 4 notebook (no cells array)`);
  return nb;
}

/** notebooks/*.ipynb, or the files / folders given. */
export function notebookFiles(targets: string[] = []): string[] {
  const inDir = (dir: string) =>
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ipynb') && !f.startsWith('.'))
      .sort()
      .map((f) => path.join(dir, f));
  if (targets.length === 0) return fs.existsSync(NOTEBOOKS_DIR) ? inDir(NOTEBOOKS_DIR) : [];
  return targets.flatMap((t) => (fs.statSync(t).isDirectory() ? inDir(t) : [path.resolve(t)]));
}

function main(argv: string[]): number {
  let cli;
  try {
    cli = parseCommandLineOrThrow({
      command: 'strip-notebooks',
      usage: 'usage: tsx scripts/strip-notebooks.ts [--check] [NOTEBOOK|DIR ...]',
      argv,
      positionals: true,
      options: { check: { type: 'boolean' } },
      checkEnv: false,
    });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    (err.exitCode === 0 ? console.log : console.error)(err.message);
    return err.exitCode;
  }
  const check = cli.values.check ?? false;
  const files = notebookFiles(cli.positionals);
  let dirty = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const nb = readNotebook(file);
    const rel = path.relative(process.cwd(), file) || file;
    if (check) {
      const problems = outputProblems(nb);
      if (problems.length) {
        dirty++;
        console.log(`${rel}: ${problems.join('; ')}`);
      }
      continue;
    }
    const out = formatNotebook(stripNotebook(nb));
    if (out === text) continue;
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, out);
    fs.renameSync(tmp, file);
    dirty++;
    console.log(`stripped ${rel}`);
  }
  if (check) {
    if (dirty) console.log(`strip-notebooks: ${dirty} notebook(s) carry outputs or lack cell ids; run: npx tsx scripts/strip-notebooks.ts`);
    else console.log(`strip-notebooks: ${files.length} notebook(s) clean`);
    return dirty ? 1 : 0;
  }
  console.log(`strip-notebooks: ${dirty} rewritten, ${files.length - dirty} unchanged`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
