/**
 * Removes outputs, execution counts and execution timing metadata from source notebooks, so they
 * are committed without outputs (executed copies live in results/notebooks/).
 *
 *   tsx scripts/strip-notebooks.ts [--check] [NOTEBOOK|DIR ...]    (default: notebooks/*.ipynb)
 *
 * --check: change nothing; list notebooks that carry outputs and exit 1 if any do.
 * Files are rewritten only when something changed, in nbformat's layout (1-space indent,
 * sorted keys, trailing newline) so that Jupyter's own saves produce no diff noise.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseCommandLineOrThrow, UsageError } from './cli';

const NOTEBOOKS_DIR = path.resolve(__dirname, '..', 'notebooks');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Cell {
  cell_type: string;
  metadata?: Record<string, Json>;
  outputs?: Json[];
  execution_count?: number | null;
  [key: string]: unknown;
}
interface Notebook {
  cells: Cell[];
  [key: string]: unknown;
}

/** Cell metadata written by execution (nbclient's `execution`, the ExecuteTime extension). */
const EXEC_METADATA = ['execution', 'ExecuteTime'];

/** Why a notebook is not clean: one line per offending cell; empty when clean. */
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
  return problems;
}

/** Strips a notebook in place; returns it. */
export function stripNotebook(nb: Notebook): Notebook {
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
    if (dirty) console.log(`strip-notebooks: ${dirty} notebook(s) carry outputs; run: npx tsx scripts/strip-notebooks.ts`);
    else console.log(`strip-notebooks: ${files.length} notebook(s) clean`);
    return dirty ? 1 : 0;
  }
  console.log(`strip-notebooks: ${dirty} rewritten, ${files.length - dirty} unchanged`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
