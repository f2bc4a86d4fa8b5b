/** The committed run folders, as tests see them. */
import * as fs from 'fs';
import * as path from 'path';

/** `results/runs` of the repository. */
export const RUNS_DIR = path.resolve(__dirname, '..', '..', 'results', 'runs');

/** Names of the committed runs still in the old format: a checkpoint (`latest.json`) but no `log.jsonl`. */
export function oldFormatRuns(): string[] {
  return fs.readdirSync(RUNS_DIR).filter((n) => fs.existsSync(path.join(RUNS_DIR, n, 'latest.json')) && !fs.existsSync(path.join(RUNS_DIR, n, 'log.jsonl')));
}
