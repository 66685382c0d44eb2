import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle } from '../tools/build';
import { APPS } from './helpers/apps';

/**
 * End-to-end tests run the real bundles: each app's is built once, as `npm run build` does. Every
 * temporary folder the tests make goes under one folder, removed at the end.
 */
export default async function setup(): Promise<() => void> {
  const root = mkdtempSync(join(tmpdir(), 'template-tests-'));
  chmodSync(root, 0o755); // a test runs the bundle as nobody, which must reach its folder
  process.env.TMPDIR = root;
  for (const { target } of APPS) await buildBundle(target);
  return () => rmSync(root, { recursive: true, force: true });
}
