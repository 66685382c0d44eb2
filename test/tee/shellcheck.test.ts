import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';

const SCRIPTS = ['sconify.sh', '.ci/run', '.ci/mutation'];

describe('shell scripts', () => {
  it.each(SCRIPTS)('%s is shellcheck-clean', (script) => {
    const run = spawnSync('shellcheck', ['-x', script], { cwd: ROOT, encoding: 'utf8' });
    expect(run.error, 'shellcheck must be installed (.ci/run installs it)').toBeUndefined();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.each(SCRIPTS)('%s is strict bash with --help', (script) => {
    const run = spawnSync('bash', [script, '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/usage/i);
    expect(spawnSync('grep', ['-q', 'set -euo pipefail', script], { cwd: ROOT }).status).toBe(0);
  });
});
