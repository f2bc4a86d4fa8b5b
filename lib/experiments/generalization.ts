/**
 * The generalization table: results rows in the long schema plus a `shift` column naming what
 * differs from the model's training (another task, an unseen scale, noise training never saw).
 * The generalization study of later notebooks extends the same table.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../util/atomic';
import { Figure } from '../report/figures';
import { csvField, parseCsv, ResultRow, rowCsvFields, rowFromCsvFields, TABLE_COLUMNS, tableToMarkdown, tablesDir, validateRows } from '../report/tables';

/** A results row with the distribution shift it measures ('none' for in-distribution references). */
export interface ShiftRow extends ResultRow {
  shift: string;
}

/**
 * Validates rows shift by shift (a row such as bicubic may stand under several shifts, so
 * duplicates are only errors within one shift); names `what` and the shift on an error.
 */
function validateByShift(rows: readonly ShiftRow[], what: string): { shift: string; rows: ResultRow[] }[] {
  const shifts = [...new Set(rows.map((r) => r.shift))];
  return shifts.map((s) => ({ shift: s, rows: validateRows(rows.filter((r) => r.shift === s).map(({ shift: _s, ...r }) => r), `${what} shift "${s}"`) }));
}

/**
 * Writes `<dir>/<name>.csv` (columns `task,dataset,setting,method,psnr,ssim,source,shift,params`) and
 * `<dir>/<name>.md` (one pivoted table per shift), atomically.
 * @throws naming the row when a row is invalid or has no shift
 * @example
 * saveShiftTable([{ ...row, shift: 'denoising model on SR' }], 'generalization');
 */
export function saveShiftTable(rows: readonly ShiftRow[], name: string, options: { dir?: string; title?: string } = {}): { csv: string; md: string } {
  rows.forEach((r, i) => {
    if (typeof r.shift !== 'string' || r.shift.trim() === '') throw new Error(`saveShiftTable("${name}"): row ${i} (method "${r.method}") has no shift`);
  });
  const byShift = validateByShift(rows, `saveShiftTable("${name}")`);
  const lines = [[...TABLE_COLUMNS, 'shift', 'params'].join(',')];
  for (const { shift, rows: valid } of byShift) {
    for (const r of valid) lines.push([...rowCsvFields(r), csvField(shift), csvField(r.params ?? '')].join(','));
  }
  const dir = options.dir ?? tablesDir();
  const csv = path.join(dir, `${name}.csv`);
  const md = path.join(dir, `${name}.md`);
  writeFileAtomic(csv, lines.join('\n') + '\n');
  const title = options.title ?? name;
  writeFileAtomic(md, `# ${title}\n\n` + byShift.map(({ shift, rows: valid }) => tableToMarkdown(valid, `Shift: ${shift}`)).join('\n'));
  return { csv, md };
}

/**
 * Reads a table written by {@link saveShiftTable} (`[]` when the file does not exist).
 * @throws naming the file and line when it is malformed
 * @example
 * readShiftTable('generalization').filter((r) => r.shift !== 'none');
 */
export function readShiftTable(name: string, options: { dir?: string } = {}): ShiftRow[] {
  const file = path.join(options.dir ?? tablesDir(), `${name}.csv`);
  if (!fs.existsSync(file)) return [];
  const [header, ...records] = parseCsv(fs.readFileSync(file, 'utf8'));
  const expected = [...TABLE_COLUMNS, 'shift', 'params'];
  const legacy = expected.slice(0, -1); // written before the params column
  if (!header || (header.join(',') !== expected.join(',') && header.join(',') !== legacy.join(','))) throw new Error(`${file}: header is "${header?.join(',')}", expected "${expected.join(',')}"`);
  const rows: ShiftRow[] = records.map((rec, i) => {
    if (rec.length !== header.length) throw new Error(`${file}: line ${i + 2} has ${rec.length} fields, expected ${header.length}`);
    const [shift, params] = rec.slice(TABLE_COLUMNS.length);
    return { ...rowFromCsvFields(rec, `${file}: line ${i + 2}`), shift, ...(params ? { params } : {}) };
  });
  validateByShift(rows, file); // the same checks as when saving
  return rows;
}

/**
 * Writes a shift table that several notebooks fill: the rows already in `<name>.csv` whose task is
 * not in `tasks` are kept (first), then `rows`; so notebook 03 (super-resolution) and 06
 * (denoising) can each rewrite their own part, in any order.
 * @example
 * saveShiftTableMerged(denoisingRows, 'generalization', { tasks: ['denoise'] });
 */
export function saveShiftTableMerged(rows: readonly ShiftRow[], name: string, options: { tasks: readonly string[]; dir?: string; title?: string }): { csv: string; md: string } {
  const bad = rows.find((r) => !options.tasks.includes(r.task));
  if (bad) throw new Error(`saveShiftTableMerged("${name}"): row of task "${bad.task}" (method "${bad.method}") is not in tasks [${options.tasks.join(', ')}]`);
  const kept = readShiftTable(name, { dir: options.dir }).filter((r) => !options.tasks.includes(r.task));
  return saveShiftTable([...kept, ...rows], name, { dir: options.dir, title: options.title });
}

/**
 * Greedy word wrap for axis tick labels: lines of at most `width` characters (a longer word keeps
 * its own line), joined by `<br>`, so neighbouring category labels do not run into each other.
 * @example
 * wrapWords('denoiser on SR', 10); // 'denoiser<br>on SR'
 */
export function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join('<br>');
}

/**
 * Grouped bars of the PSNR gain over the naive estimate (`baseline`, e.g. 'bicubic') per case
 * (shift · dataset · setting) and method: does knowing the operator (the likelihood gradient)
 * help a learned solver when the data differ from its training?
 * @example
 * await saveFigure(shiftFigure(rows, { baseline: 'bicubic' }), '03_generalization');
 */
export function shiftFigure(rows: readonly ShiftRow[], options: { baseline: string; title?: string }): Figure {
  const cases: { key: string; label: string; base: number }[] = [];
  for (const r of rows) {
    if (r.method !== options.baseline || r.psnr === null) continue;
    cases.push({ key: [r.shift, r.dataset, r.setting].join('|'), label: `${wrapWords(r.shift, 10)}<br>${r.setting.split(',')[0]}`, base: r.psnr });
  }
  if (cases.length === 0) throw new Error(`shiftFigure: no "${options.baseline}" rows to measure gains against`);
  const methods = [...new Set(rows.filter((r) => r.method !== options.baseline).map((r) => r.method))];
  const legendHeight = 22 * Math.ceil(methods.length / 2); // two legend entries a row
  const data = methods.map((m) => ({
    type: 'bar',
    name: m,
    x: cases.map((c) => c.label),
    y: cases.map((c) => {
      const r = rows.find((q) => q.method === m && [q.shift, q.dataset, q.setting].join('|') === c.key);
      return r && r.psnr !== null ? r.psnr - c.base : null;
    }),
  }));
  return {
    data,
    layout: {
      title: { text: options.title ?? `PSNR gain over ${options.baseline} under distribution shifts` },
      barmode: 'group',
      xaxis: { title: { text: 'shift · setting' }, tickangle: 0, automargin: true },
      yaxis: { title: { text: `PSNR − ${options.baseline} (dB)` }, zeroline: true, zerolinecolor: '#444' },
      // below the axis title: with many methods a legend above the plot runs into the title
      legend: { orientation: 'h', x: 0, y: -0.3, yanchor: 'top' },
      margin: { t: 60, b: 40 + legendHeight + 80 },
      height: 500 + legendHeight,
    },
  };
}
