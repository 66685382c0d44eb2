import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every temporary folder the tests make goes under one folder, removed at the end. */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'template-tests-'));
  chmodSync(root, 0o755); // a test runs the bundle as nobody, which must reach its folder
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
