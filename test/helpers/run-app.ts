import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import type { IexecApp } from '../../src/iexec/app';
import { run } from '../../src/main';
import { readOutput } from './output';

/** Runs an app in this process and collects everything it printed and wrote (IEXEC_OUT: a fresh folder unless `env` names one). */
export async function runApp(app: IexecApp, env: NodeJS.ProcessEnv, argv: readonly string[] = []) {
  const out = env.IEXEC_OUT ?? mkdtempSync(join(tmpdir(), 'iexec-out-'));
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const exitCode = await run(app, { env: { IEXEC_OUT: out, ...env }, argv });
  const printed = (spy: typeof stdout) => spy.mock.calls.map(([c]) => String(c)).join('');
  const result = { out, exitCode, stdout: printed(stdout), stderr: printed(stderr) };
  vi.restoreAllMocks();
  return { ...result, files: readOutput(out) };
}

