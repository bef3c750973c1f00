import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingRows } from '../../functions/config/settings.ts';
import {
  README_PATH,
  renderSettingsTable,
  TABLE_END,
  TABLE_START,
  withSettingsTable,
} from '../../functions/config/settings-doc.ts';

describe('the README configuration table', () => {
  it('is the one generated from the settings table (fix: npm run docs:settings)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readme).toContain(TABLE_START);
    expect(withSettingsTable(readme), 'README.md differs from functions/config/settings.ts').toBe(readme);
  });

  it('has a row for every setting a person sets, with its CDK prop when a deployment can set it', () => {
    const table = renderSettingsTable();
    for (const row of settingRows()) {
      const line = table.split('\n').find((l) => l.startsWith(`| \`${row.env}\` `));
      if (row.wiring) {
        expect(line, row.env).toBeUndefined();
        continue;
      }
      expect(line, row.env).toBeDefined();
      if (row.deploy) expect(line).toContain(`\`${row.deploy.prop}\``);
    }
  });

  it('replaces only what lies between its markers', () => {
    const doc = `# t\n\nbefore\n${TABLE_START}\nstale | table\n${TABLE_END}\nafter\n`;
    const updated = withSettingsTable(doc);
    expect(updated.startsWith(`# t\n\nbefore\n${TABLE_START}\n\n| variable `)).toBe(true);
    expect(updated.endsWith(`|\n\n${TABLE_END}\nafter\n`)).toBe(true);
    expect(() => withSettingsTable('# no markers')).toThrow(/markers/);
  });
});
