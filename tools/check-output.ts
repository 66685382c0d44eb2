/**
 * Checks an IEXEC_OUT folder as iExec does after a task (worker and `iapp test`), so a problem
 * shows up here rather than as a failed task that was paid for.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { resultDigest } from './digest';

const MAX_FILE_NAME = 31;
const MAX_OUTPUT_BYTES = 50 * 1024 * 1024;

export interface Check {
  ok: boolean;
  text: string;
}

export interface OutputReport {
  checks: Check[];
  ok: boolean;
  digest?: string;
  errorMessage?: string;
}

function* walk(dir: string): Generator<{ path: string; name: string; size: number }> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    yield { path, name: entry.name, size: entry.isFile() ? lstatSync(path).size : 0 };
  }
}

const isInside = (child: string, parent: string): boolean => {
  const path = relative(parent, child);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
};

export function checkOutput(outDir: string): OutputReport {
  const root = resolve(outDir);
  const checks: Check[] = [];
  let errorMessage: string | undefined;
  const check = (ok: boolean, text: string) => (checks.push({ ok, text }), ok);
  const report = (digest?: string): OutputReport => ({
    checks,
    ok: checks.every((c) => c.ok),
    ...(digest === undefined ? {} : { digest }),
    ...(errorMessage === undefined ? {} : { errorMessage }),
  });

  const entries = [...walk(root)];
  const longNames = entries.filter((e) => e.name.length > MAX_FILE_NAME).map((e) => e.name);
  check(
    longNames.length === 0,
    longNames.length === 0
      ? `file names at most ${MAX_FILE_NAME} characters`
      : `file names longer than ${MAX_FILE_NAME} characters: ${longNames.join(', ')}`,
  );
  const size = entries.reduce((sum, e) => sum + e.size, 0);
  check(size <= MAX_OUTPUT_BYTES, `output size ${size} bytes (limit 50 MiB)`);

  const computed = readComputed(join(root, 'computed.json'));
  if (!check(computed !== undefined, 'computed.json exists and is a JSON object') || computed === undefined) return report();
  if (typeof computed['error-message'] === 'string') errorMessage = computed['error-message'];

  const callback = computed['callback-data'];
  if (callback !== undefined && !check(typeof callback === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(callback), 'callback-data is 0x-prefixed hex')) {
    return report();
  }

  const target = computed['deterministic-output-path'];
  if (typeof target !== 'string') return (check(false, 'deterministic-output-path is missing or not a string'), report());
  const targetPath = resolve(root, target);
  if (!check(targetPath === root || isInside(targetPath, root), `deterministic-output-path ${target} is inside IEXEC_OUT`)) {
    return report();
  }
  const exists = existsSync(targetPath);
  const usable = exists && (!statSync(targetPath).isDirectory() || readdirSync(targetPath).length > 0);
  if (!check(usable, `deterministic-output-path ${relative(root, targetPath) || '.'} is a file or a non-empty folder`)) {
    return report();
  }
  return report(resultDigest(targetPath, callback as string | undefined));
}

function readComputed(path: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
