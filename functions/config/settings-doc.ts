import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type SettingSpec, settingRows } from './settings.ts';

/**
 * The README configuration table, generated from the settings table. `npm run docs:settings` rewrites
 * it in README.md; test/config/settings-doc.test.ts fails while README.md and the table differ.
 */
export const TABLE_START =
  '<!-- settings table: generated from functions/config/settings.ts by `npm run docs:settings` -->';
export const TABLE_END = '<!-- end of settings table -->';

const code = (text: string) => `\`${text}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|');

function defaultText(row: SettingSpec): string {
  if (row.defaultDoc !== undefined) return row.defaultDoc;
  if (row.default === undefined) return 'unset';
  return row.default === '' ? 'empty' : code(row.default);
}

function deploymentText(row: SettingSpec): string {
  if (row.deploy) {
    const deployDefault = row.deploy.default
      ? ` (default ${code(row.deploy.default.replace('{architecture}', '<architecture>'))})`
      : '';
    return `${code(row.deploy.prop)}${deployDefault}`;
  }
  return row.source === 'stack' ? 'set by the stack' : '— (local mode)';
}

/** The Markdown table of every setting a person sets (the AWS wiring is in docs/deploy.md). */
export function renderSettingsTable(): string {
  const header = ['variable', 'meaning', 'default', 'accepts', 'CDK prop'];
  const rows = settingRows()
    .filter((row) => !row.wiring)
    .map((row) => [code(row.env), row.doc, defaultText(row), row.range, deploymentText(row)].map(cell));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `readme` with its generated table replaced by the current one; throws when the markers are missing. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${TABLE_START} … ${TABLE_END}`);
  return `${readme.slice(0, start)}${TABLE_START}\n\n${renderSettingsTable()}\n\n${readme.slice(end)}`;
}

export const README_PATH = fileURLToPath(new URL('../../README.md', import.meta.url));

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const before = readFileSync(README_PATH, 'utf8');
  const after = withSettingsTable(before);
  if (after !== before) writeFileSync(README_PATH, after);
  console.log(after === before ? 'README.md: settings table up to date' : 'README.md: settings table rewritten');
}
