/**
 * Results tables: long-form rows (one per task/dataset/setting/method/source), saved as CSV and as a
 * readable pivoted Markdown table.
 *
 * Plain typed rows, not a data-frame library: every table here has seven known columns, and what
 * the notebooks need of it — validation, CSV I/O, the pivot to Markdown/HTML — is a few dozen
 * lines below. danfojs (which the design guide first named) was dropped: it loaded a second tfjs
 * bundle that re-registered the engine's kernels and gradients, needed an npm alias of
 * `@tensorflow/tfjs-node` and an `xlsx` override to install, and its `toCSV` does not quote
 * fields (a source such as `Zhang et al., 2017` would break the file). Filter, group and average
 * rows with ordinary array methods.
 * @example
 * saveTable(rows, 'denoising');                      // results/tables/denoising.{csv,md}
 * const rim = readTable('denoising').filter((r) => r.method === 'RIM');
 */
import * as fs from 'fs';
import * as path from 'path';
import { resultsDir } from '../io/paths';
import { writeFileAtomic } from '../io/image';
import { escapeHtml, isNotebook, showBundle } from './display';
import { checkName } from './figures';

/** The seven core columns of a results table, in file order (the CSV adds {@link PARAMS_COLUMN} last). */
export const TABLE_COLUMNS = ['task', 'dataset', 'setting', 'method', 'psnr', 'ssim', 'source'] as const;

/** The optional last CSV column: a method's chosen settings for the row (e.g. `λ=8`); empty when none. */
export const PARAMS_COLUMN = 'params';

/** A column of a results table. */
export type TableColumn = (typeof TABLE_COLUMNS)[number];

/** `source` of a result computed in this workspace (anything else names the paper quoted). */
export const MEASURED = 'measured';

/** One result: long form, one row per (task, dataset, setting, method, source). */
export interface ResultRow {
  /** E.g. `'denoise'`, `'deblur'`, `'super-resolution'`. */
  task: string;
  /** E.g. `'BSD68'`, `'Set12'`. */
  dataset: string;
  /** E.g. `'sigma=25'`, `'x4'`. */
  setting: string;
  /** E.g. `'LGD'`, `'DnCNN'`. */
  method: string;
  /** Mean PSNR in dB, or null if not reported. */
  psnr: number | null;
  /** Mean SSIM, or null if not reported. */
  ssim: number | null;
  /** `'measured'` or the paper quoted, e.g. `'Zhang et al. 2017, Table 3'`. */
  source: string;
  /**
   * The method's chosen settings for this row, e.g. `'λ=8'` for TV (the weight found on training
   * images). Optional; shown in the Markdown cell as `27.45 / 0.7501 (λ=8)`.
   */
  params?: string;
}

/** Default folder of saved tables. */
/** Where tables go by default: `results/tables` of the project (whatever the cwd; see `resultsDir`). */
export function tablesDir(): string {
  return path.join(resultsDir(), 'tables');
}

const STRING_COLUMNS = ['task', 'dataset', 'setting', 'method', 'source'] as const;

/**
 * Checks rows and returns them normalized (numbers as numbers, missing metrics as null).
 * @throws An error naming the row (index and method) and the bad column: unknown or missing
 *   columns, empty or non-string text, non-finite/out-of-range PSNR or SSIM, both metrics missing,
 *   duplicate (task, dataset, setting, method, source).
 */
export function validateRows(rows: readonly ResultRow[], what = 'table'): ResultRow[] {
  if (!Array.isArray(rows)) throw new Error(`${what}: rows must be an array of { ${TABLE_COLUMNS.join(', ')} }`);
  const seen = new Map<string, number>();
  return rows.map((row, i) => {
    const where = (): string => {
      const m = row && typeof (row as ResultRow).method === 'string' ? ` (method "${(row as ResultRow).method}")` : '';
      return `${what}: row ${i}${m}`;
    };
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new Error(`${what}: row ${i} is not an object`);
    for (const key of Object.keys(row)) {
      if (!(TABLE_COLUMNS as readonly string[]).includes(key) && key !== PARAMS_COLUMN) {
        throw new Error(`${where()}: unknown column "${key}" (columns are ${[...TABLE_COLUMNS, PARAMS_COLUMN].join(',')})`);
      }
    }
    const params = (row as ResultRow).params;
    if (params !== undefined && (typeof params !== 'string' || /[\r\n]/.test(params))) {
      throw new Error(`${where()}: column "params" must be a one-line string or absent, got ${JSON.stringify(params)}`);
    }
    for (const col of STRING_COLUMNS) {
      if (!(col in row)) throw new Error(`${where()}: missing column "${col}"`);
      const v = (row as unknown as Record<string, unknown>)[col];
      if (typeof v !== 'string' || v.trim() === '') {
        throw new Error(`${where()}: column "${col}" must be a non-empty string, got ${JSON.stringify(v)}`);
      }
      if (/[\r\n]/.test(v)) throw new Error(`${where()}: column "${col}" must be one line, got ${JSON.stringify(v)}`);
    }
    const metric = (col: 'psnr' | 'ssim', lo: number, hi: number): number | null => {
      const v = (row as unknown as Record<string, unknown>)[col];
      if (v === null || v === undefined) return null;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`${where()}: column "${col}" must be a finite number or null, got ${JSON.stringify(v)}`);
      }
      if (v < lo || v > hi) throw new Error(`${where()}: column "${col}" = ${v} is outside [${lo}, ${hi}]`);
      return v;
    };
    const psnr = metric('psnr', 0, 200);
    const ssim = metric('ssim', -1, 1);
    if (psnr === null && ssim === null) throw new Error(`${where()}: columns "psnr" and "ssim" are both missing; give at least one`);
    const out: ResultRow = {
      task: row.task,
      dataset: row.dataset,
      setting: row.setting,
      method: row.method,
      psnr,
      ssim,
      source: row.source,
    };
    if (params) out.params = params;
    const key = JSON.stringify([out.task, out.dataset, out.setting, out.method, out.source]);
    const prev = seen.get(key);
    if (prev !== undefined) throw new Error(`${where()}: duplicate of row ${prev} (same task, dataset, setting, method, source)`);
    seen.set(key, i);
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

/** A CSV field, quoted (RFC 4180) when it holds a quote, comma, line break or edge space. */
export function csvField(v: string): string {
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The seven core columns of a row as CSV fields (quoted where needed; an empty field for a missing metric). */
export function rowCsvFields(r: ResultRow): string[] {
  return TABLE_COLUMNS.map((c) => (c === 'psnr' || c === 'ssim' ? (r[c] === null ? '' : String(r[c])) : csvField(r[c])));
}

/**
 * A row from the seven core fields of a parsed CSV record (metrics parsed, not yet validated).
 * @param where the file and line for errors, e.g. `results/tables/x.csv: line 3`
 * @throws naming `where` and the column when a metric is not a number
 */
export function rowFromCsvFields(fields: readonly string[], where: string): ResultRow {
  const num = (s: string, col: string): number | null => {
    if (s.trim() === '') return null;
    const v = Number(s);
    if (!Number.isFinite(v)) throw new Error(`${where}: column "${col}" is not a number: ${JSON.stringify(s)}`);
    return v;
  };
  const [task, dataset, setting, method, psnr, ssim, source] = fields;
  return { task, dataset, setting, method, psnr: num(psnr, 'psnr'), ssim: num(ssim, 'ssim'), source };
}

/**
 * Long-form CSV text: header `task,dataset,setting,method,psnr,ssim,source,params`, rows in the
 * given order, an empty cell for a missing metric or no params.
 */
export function tableToCsv(rows: readonly ResultRow[]): string {
  const valid = validateRows(rows);
  const lines = [[...TABLE_COLUMNS, PARAMS_COLUMN].join(',')];
  for (const r of valid) lines.push([...rowCsvFields(r), csvField(r.params ?? '')].join(','));
  return lines.join('\n') + '\n';
}

/** Splits CSV text into records of fields (RFC 4180: quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += ch;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records.filter((r) => !(r.length === 1 && r[0] === ''));
}

/**
 * Parses long-form CSV text (as written by {@link tableToCsv}) into validated rows. Tables written
 * before the `params` column (seven columns) are read too.
 * @param what Name used in error messages (e.g. the file).
 */
export function csvToTable(text: string, what = 'csv'): ResultRow[] {
  let records: string[][];
  try {
    records = parseCsv(text);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
  if (records.length === 0) throw new Error(`${what}: empty file (expected header ${TABLE_COLUMNS.join(',')})`);
  const header = records[0].map((h) => h.trim());
  const full = [...TABLE_COLUMNS, PARAMS_COLUMN].join(',');
  if (header.join(',') !== full && header.join(',') !== TABLE_COLUMNS.join(',')) {
    throw new Error(`${what}: header is "${header.join(',')}", expected "${full}"`);
  }
  const width = header.length;
  const rows = records.slice(1).map((rec, i) => {
    if (rec.length !== width) {
      throw new Error(`${what}: line ${i + 2} has ${rec.length} fields, expected ${width}`);
    }
    const row = rowFromCsvFields(rec, `${what}: line ${i + 2}`);
    const params = rec[TABLE_COLUMNS.length];
    if (params) row.params = params;
    return row;
  });
  return validateRows(rows, what);
}

// ---------------------------------------------------------------------------------------------
// Pivot
// ---------------------------------------------------------------------------------------------

/** A pivoted (wide) view of a results table, for reading. */
export interface PivotTable {
  /** Row-key column names: `dataset`, `setting`, preceded by `task` when there are several tasks. */
  keyColumns: string[];
  /** Method column labels: the method for measured results, `method [n]` for results quoted from source n. */
  methodColumns: string[];
  /** One entry per (task, dataset, setting) in first-appearance order: key values and cells by method column. */
  rows: { keys: string[]; cells: Record<string, { psnr: number | null; ssim: number | null; source: string; params?: string } | undefined> }[];
  /** Quoted sources, numbered from 1 (the `n` of `[n]`). */
  sources: string[];
  /** The tasks present. */
  tasks: string[];
}

/** Pivots long-form rows: rows (task,) dataset, setting; columns method (quoted results marked `[n]`). */
export function pivotTable(rows: readonly ResultRow[]): PivotTable {
  const valid = validateRows(rows);
  const tasks = [...new Set(valid.map((r) => r.task))];
  const keyColumns = tasks.length > 1 ? ['task', 'dataset', 'setting'] : ['dataset', 'setting'];
  const sources: string[] = [];
  const methodColumns: string[] = [];
  const out: PivotTable['rows'] = [];
  const rowIndex = new Map<string, number>();
  for (const r of valid) {
    let label = r.method;
    if (r.source !== MEASURED) {
      let n = sources.indexOf(r.source);
      if (n < 0) n = sources.push(r.source) - 1;
      label = `${r.method} [${n + 1}]`;
    }
    if (!methodColumns.includes(label)) methodColumns.push(label);
    const keys = tasks.length > 1 ? [r.task, r.dataset, r.setting] : [r.dataset, r.setting];
    const k = JSON.stringify(keys);
    let idx = rowIndex.get(k);
    if (idx === undefined) {
      idx = out.push({ keys, cells: {} }) - 1;
      rowIndex.set(k, idx);
    }
    out[idx].cells[label] = { psnr: r.psnr, ssim: r.ssim, source: r.source, ...(r.params ? { params: r.params } : {}) };
  }
  return { keyColumns, methodColumns, rows: out, sources, tasks };
}

/** Formats one cell as "psnr / ssim" (PSNR with 2 decimals, SSIM with 4; "–" where missing), then " (params)" when given. */
export function formatCell(cell: { psnr: number | null; ssim: number | null; params?: string } | undefined): string {
  if (!cell) return '';
  const p = cell.psnr === null ? '–' : cell.psnr.toFixed(2);
  const s = cell.ssim === null ? '–' : cell.ssim.toFixed(4);
  return `${p} / ${s}${cell.params ? ` (${cell.params})` : ''}`;
}

function sourcesNote(p: PivotTable): string[] {
  const withParams = p.rows.some((r) => Object.values(r.cells).some((c) => c?.params));
  const lines = [`Cells: PSNR (dB) / SSIM${withParams ? ' (the method\'s chosen settings, e.g. the TV weight λ found on training images)' : ''}. Unmarked method columns are measured in this workspace.`];
  p.sources.forEach((s, i) => lines.push(`[${i + 1}] ${s}`));
  return lines;
}

/** Renders a results table as Markdown: a title line, the pivoted table, and the source footnotes. */
export function tableToMarkdown(rows: readonly ResultRow[], title?: string): string {
  const p = pivotTable(rows);
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
  const header = [...p.keyColumns, ...p.methodColumns];
  const lines: string[] = [];
  if (title) lines.push(`### ${esc(title)}`, '');
  if (p.tasks.length === 1) lines.push(`Task: ${esc(p.tasks[0])}`, '');
  lines.push(`| ${header.map(esc).join(' | ')} |`);
  lines.push(`|${p.keyColumns.map(() => ' --- |').join('')}${p.methodColumns.map(() => ' ---: |').join('')}`);
  for (const r of p.rows) {
    lines.push(`| ${[...r.keys.map(esc), ...p.methodColumns.map((m) => formatCell(r.cells[m]))].join(' | ')} |`);
  }
  lines.push('');
  for (const note of sourcesNote(p)) lines.push(`${esc(note)}  `);
  return lines.join('\n').replace(/ {2}$/, '') + '\n';
}

/** Renders a results table as an HTML table (pivoted, with source footnotes) for notebooks. */
export function tableToHtml(rows: readonly ResultRow[], title?: string): string {
  const p = pivotTable(rows);
  const th = (s: string, right = false): string => `<th style="text-align:${right ? 'right' : 'left'}">${escapeHtml(s)}</th>`;
  const td = (s: string, right = false): string => `<td style="text-align:${right ? 'right' : 'left'}">${escapeHtml(s)}</td>`;
  const parts: string[] = ['<div class="lgd-table">'];
  if (title) parts.push(`<div style="font-weight:bold;margin:4px 0">${escapeHtml(title)}</div>`);
  if (p.tasks.length === 1) parts.push(`<div>Task: ${escapeHtml(p.tasks[0])}</div>`);
  parts.push('<table>', `<thead><tr>${p.keyColumns.map((c) => th(c)).join('')}${p.methodColumns.map((c) => th(c, true)).join('')}</tr></thead>`, '<tbody>');
  for (const r of p.rows) {
    parts.push(`<tr>${r.keys.map((k) => td(k)).join('')}${p.methodColumns.map((m) => td(formatCell(r.cells[m]), true)).join('')}</tr>`);
  }
  parts.push('</tbody></table>', `<div style="font-size:smaller">${sourcesNote(p).map(escapeHtml).join('<br>')}</div>`, '</div>');
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/** Options of {@link saveTable} and {@link readTable}. */
export interface TableOptions {
  /** Folder; default `results/tables`. */
  dir?: string;
}

/** Options of {@link saveTable}. */
export interface SaveTableOptions extends TableOptions {
  /** Title of the Markdown table (default: the name). */
  title?: string;
  /** Show the table inline when in a notebook (default true). */
  show?: boolean;
}

/**
 * Validates rows and writes `<dir>/<name>.csv` (long form, columns
 * `task,dataset,setting,method,psnr,ssim,source,params`, rows in the given order) and `<dir>/<name>.md`
 * (pivoted: rows (task,) dataset, setting; columns method; cells "psnr / ssim"; quoted results
 * marked `[n]` with a source footnote), both atomically. In a notebook, also shows the pivoted table.
 * @returns The paths written.
 * @throws If a row is invalid (the error names the row and column).
 */
export function saveTable(rows: readonly ResultRow[], name: string, options: SaveTableOptions = {}): { csv: string; md: string } {
  checkName(name, 'saveTable');
  const valid = validateRows(rows, `saveTable("${name}")`);
  const dir = options.dir ?? tablesDir();
  const csv = path.join(dir, `${name}.csv`);
  const md = path.join(dir, `${name}.md`);
  const title = options.title ?? name;
  const markdown = tableToMarkdown(valid, title);
  writeFileAtomic(csv, tableToCsv(valid));
  writeFileAtomic(md, markdown);
  if (options.show !== false && isNotebook()) showTable(valid, title, markdown);
  return { csv, md };
}

/**
 * Shows a results table inline (pivoted HTML table, with Markdown and plain-text forms).
 * @returns true if shown; false outside a notebook.
 */
export function showTable(rows: readonly ResultRow[], title?: string, markdown?: string): boolean {
  const md = markdown ?? tableToMarkdown(rows, title);
  return showBundle({ 'text/html': tableToHtml(rows, title), 'text/markdown': md, 'text/plain': md });
}

/**
 * Reads `<dir>/<name>.csv` written by {@link saveTable} back into validated rows (same order).
 * @throws If the file is missing or malformed (the error names the file, line and column).
 */
export function readTable(name: string, options: TableOptions = {}): ResultRow[] {
  checkName(name, 'readTable');
  const file = path.join(options.dir ?? tablesDir(), `${name}.csv`);
  if (!fs.existsSync(file)) throw new Error(`readTable: no table file ${file}`);
  return csvToTable(fs.readFileSync(file, 'utf8'), file);
}
