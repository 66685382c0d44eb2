import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The regular files under `dir` at any depth, by path relative to it ('result/a/b.txt'), as text:
 * a folder result is read whole. Links are not followed (readdirSync's `recursive` would): a link
 * planted by a test is not a file of the output, nor is anything it points at.
 */
export function readOutput(dir: string, prefix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) Object.assign(files, readOutput(dir, path));
    else if (entry.isFile()) files[path] = readFileSync(join(dir, path), 'utf8');
  }
  return files;
}
