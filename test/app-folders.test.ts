/**
 * "A new app changes src/app/ and nothing else": each app folder (the example's and the fixtures')
 * reaches the plumbing through the package's own import names (#iexec/…, #errors, package.json
 * "imports"), never by a path out of its folder, so that putting one in src/app's place is
 * copying its files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../tools/build';
import { APPS } from './helpers/apps';

// Every module a file names: import … from, export … from, import '…', import('…'), require('…').
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

describe.each(APPS)('$label', ({ target }) => {
  it('imports the plumbing by its package names only: its files replace src/app as they are', () => {
    const files = readdirSync(target.appDir).filter((name) => name.endsWith('.ts'));
    expect(files).toContain('index.ts');
    expect(files).toContain('demo.ts');
    for (const file of files) {
      const specifiers = [...readFileSync(join(target.appDir, file), 'utf8').matchAll(IMPORT)].map(([, specifier]) => specifier!);
      const leaving = specifiers.filter((specifier) => specifier.startsWith('../') || specifier.startsWith('/'));
      expect(leaving, `${join(target.appDir, file).slice(ROOT.length)} imports out of its folder`).toEqual([]);
    }
  });
});
