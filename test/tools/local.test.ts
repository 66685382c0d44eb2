import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';

const fixture = (name: string) => join(ROOT, 'test', 'fixtures', name);

/** `npm run local -- <args>`, as a developer runs it (through tsx, in a child process). */
function local(args: string[], env: NodeJS.ProcessEnv = {}) {
  const callerEnv = { ...process.env };
  delete callerEnv.IEXEC_APP_DEVELOPER_SECRET;
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/local.ts', ...args], {
    cwd: ROOT,
    env: { ...callerEnv, ...env },
    encoding: 'utf8',
  });
  return { code: run.status, output: run.stdout + run.stderr };
}

const outFolder = (output: string): string => join(ROOT, /task folder (\S+)/.exec(output)![1]!, 'iexec_out');

describe('npm run local', () => {
  it('runs the bundle against the embedded counter and passes every check', () => {
    const { code, output } = local([]);
    expect(output).toContain('app stdout | endpoint hit 1 times');
    expect(output).toContain('app exited with code 0');
    expect(output).toMatch(/result digest: 0x[0-9a-f]{64}/);
    expect(output).not.toContain('✗');
    expect(output).toContain('OK: the output is what iExec expects.');
    expect(code).toBe(0);
    expect(readFileSync(join(outFolder(output), 'result.txt'), 'utf8')).toBe('endpoint hit 1 times');
  });

  it('shows a bad secret as the app reports it, with no secret value, and fails', () => {
    const secret = JSON.stringify({ namespace: 'ns-canary-4821', key: 'k', token: 'tok canary 9917' });
    const { code, output } = local([], { IEXEC_APP_DEVELOPER_SECRET: secret });
    expect(code).toBe(1);
    expect(output).toContain('app exited with code 3');
    expect(output).toContain('error-message: SECRET_INVALID: field "key" must be 3 to 64 characters');
    expect(output).toContain('FAILED');
    for (const value of ['ns-canary-4821', 'canary 9917', secret]) expect(output).not.toContain(value);
  });

  it('reads the secret from --secret-file', () => {
    const { code, output } = local(['--secret-file', fixture('missing-key.secret.json')]);
    expect(code).toBe(1);
    expect(output).toContain('SECRET_INVALID: field "key" is required');
    expect(output).toContain('secret: from ');
  });

  it('catches a file name longer than 31 characters', () => {
    const { code, output } = local(['--app', fixture('long-name-app.cjs')]);
    expect(code).toBe(1);
    expect(output).toContain(`✗ file names longer than 31 characters: ${'r'.repeat(28)}.txt`);
  });

  it('catches a deterministic-output-path outside IEXEC_OUT', () => {
    const { code, output } = local(['--app', fixture('outside-path-app.cjs')]);
    expect(code).toBe(1);
    expect(output).toMatch(/✗ deterministic-output-path \S+\/\.\.\/iexec_in\/result\.txt is inside IEXEC_OUT/);
  });

  it('gives the app the worker variables and PATH, nothing else from the caller', () => {
    const { code, output } = local(['--app', fixture('env-dump-app.cjs')], { CALLER_ONLY_VARIABLE: 'x', HOME: '/root' });
    expect(code).toBe(0);
    const names = JSON.parse(readFileSync(join(outFolder(output), 'env.json'), 'utf8')) as string[];
    expect(names).toEqual([
      'IEXEC_APP_DEVELOPER_SECRET', 'IEXEC_APP_DEVELOPER_SECRET_1', 'IEXEC_BOT_FIRST_INDEX', 'IEXEC_BOT_SIZE',
      'IEXEC_BOT_TASK_INDEX', 'IEXEC_DATASET_ADDRESS', 'IEXEC_DATASET_FILENAME', 'IEXEC_DEAL_ID', 'IEXEC_IN',
      'IEXEC_INPUT_FILES_FOLDER', 'IEXEC_INPUT_FILES_NUMBER', 'IEXEC_OUT', 'IEXEC_TASK_ID', 'IEXEC_TASK_INDEX', 'PATH',
    ]);
  });

  it('--repeat 3 says the counter app is NOT stable: its result changes with every hit', () => {
    const { code, output } = local(['--repeat', '3']);
    expect(output).toContain('✗ result digest NOT stable across 3 runs (3 distinct)');
    expect(code).toBe(1);
  });

  it('--repeat 3 says a fixed-output app is stable, with the worker digest of its folder', () => {
    const { code, output } = local(['--repeat', '3', '--app', fixture('fixed-output-app.cjs')]);
    expect(output).toContain('✓ result digest stable across 3 runs');
    // The folder vector of test/tools/digest.test.ts: the same three files.
    expect(output).toContain('result digest: 0x5cc3f61a49e05b50d0ff1327b11c56a23661264e6505c21dbf97d35e68612256');
    expect(code).toBe(0);
  });

  it('refuses a bad --repeat with usage', () => {
    expect(local(['--repeat', '0']).code).toBe(2);
    expect(local(['--help']).output).toContain('Usage: npm run local');
  });
});
