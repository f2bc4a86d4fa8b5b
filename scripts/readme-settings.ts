/**
 * Writes the README's table of `LGD_*` environment variables from lib/settings.ts (the one list
 * the code reads), between the `<!-- settings:begin -->` and `<!-- settings:end -->` markers.
 *
 *   npx tsx scripts/readme-settings.ts           # rewrite the table in README.md
 *   npx tsx scripts/readme-settings.ts --check   # change nothing; exit 1 when the table is stale
 *
 * test/settings.test.ts checks that the committed README holds exactly this table.
 */
import * as fs from 'fs';
import { writeFileAtomic } from '../lib/io/files';
import { projectPath } from '../lib/io/paths';
import { settingsMarkdown } from '../lib/settings';
import { parseCommandLine } from './cli';

export const BEGIN = '<!-- settings:begin (generated from lib/settings.ts by scripts/readme-settings.ts) -->';
export const END = '<!-- settings:end -->';

/**
 * The README text with its settings table replaced by {@link settingsMarkdown}'s.
 * @throws when the README lacks the two markers
 * @example
 *   renderReadmeSettings(`a\n${BEGIN}\nold\n${END}\nb`)  // 'a\n<BEGIN>\n| variable | ...\n<END>\nb'
 */
export function renderReadmeSettings(readme: string): string {
  const i = readme.indexOf(BEGIN);
  const j = readme.indexOf(END);
  if (i < 0 || j < i) throw new Error(`README.md: the markers ${BEGIN} and ${END} are missing or out of order`);
  return `${readme.slice(0, i + BEGIN.length)}\n${settingsMarkdown()}\n${readme.slice(j)}`;
}

function main(): number {
  const cli = parseCommandLine({
    command: 'readme-settings',
    usage: 'usage: npx tsx scripts/readme-settings.ts [--check]',
    options: { check: { type: 'boolean' } },
  });
  const file = projectPath('README.md');
  const text = fs.readFileSync(file, 'utf8');
  const next = renderReadmeSettings(text);
  if (next === text) {
    console.log('readme-settings: README.md is up to date');
    return 0;
  }
  if (cli.values.check) {
    console.error('readme-settings: the README table of LGD_* variables differs from lib/settings.ts; run: npx tsx scripts/readme-settings.ts');
    return 1;
  }
  writeFileAtomic(file, next);
  console.log('readme-settings: README.md table rewritten');
  return 0;
}

if (require.main === module) process.exit(main());
