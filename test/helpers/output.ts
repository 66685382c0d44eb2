import { expect } from 'vitest';
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

/** A successful task's output, read by its meaning: which kind of result, and its files. */
export interface Success {
  kind: 'text' | 'folder' | 'callback';
  /** The result's files (result.txt, or those of result/), by path. */
  resultFiles: Record<string, string>;
}

/**
 * Checks that IEXEC_OUT (its files as readOutput gives them; `out` as the app saw it) holds one
 * complete result of any kind and computed.json pointing at it, with nothing else: no error.txt,
 * no temporary file. What the result says is each app's own test's business.
 */
export function expectSuccess(files: Record<string, string>, out: string): Success {
  const computed = JSON.parse(files['computed.json'] ?? 'null') as Record<string, unknown> | null;
  expect(computed, 'computed.json exists and is an object').toBeTypeOf('object');
  const { 'deterministic-output-path': path, 'callback-data': callback, ...rest } = computed!;
  expect(rest, 'computed.json holds no error-message and nothing unknown').toEqual({});
  const folder = path === `${out}/result`;
  if (!folder) expect(path, 'deterministic-output-path is result.txt or result/').toBe(`${out}/result.txt`);
  const resultFiles = Object.fromEntries(Object.entries(files).filter(([name]) => (folder ? name.startsWith('result/') : name === 'result.txt')));
  expect(Object.keys(files).sort(), 'IEXEC_OUT holds the result and computed.json, nothing else').toEqual(['computed.json', ...Object.keys(resultFiles)].sort());
  expect(Object.values(resultFiles).join('').length, 'the result is not empty').toBeGreaterThan(0);
  if (callback !== undefined) {
    expect(callback, 'callback-data is 0x-hex of whole bytes').toMatch(/^0x(?:[0-9a-fA-F]{2})+$/);
    expect(files['result.txt'], 'result.txt holds the callback-data too').toBe(callback);
  }
  return { kind: callback !== undefined ? 'callback' : folder ? 'folder' : 'text', resultFiles };
}
