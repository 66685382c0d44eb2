import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../tools/build';
import { BUNDLE_TESTS, IMAGE_TESTS } from '../vitest.config';

const testFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? testFiles(join(dir, entry.name)) : entry.name.endsWith('.test.ts') ? [relative(ROOT, join(dir, entry.name))] : [],
  );

// The unit project builds no bundle: a test that runs one (helpers/worker) must be listed where one is built.
it('lists every test that runs the bundle in the bundle or image project', () => {
  const runsBundle = testFiles(join(ROOT, 'test')).filter((file) => /^import .* from '(\.\.?\/)+helpers\/worker';$/m.test(readFileSync(join(ROOT, file), 'utf8')));
  expect(runsBundle.length).toBeGreaterThan(0);
  expect(runsBundle.filter((file) => ![...BUNDLE_TESTS, ...IMAGE_TESTS].includes(file))).toEqual([]);
});
