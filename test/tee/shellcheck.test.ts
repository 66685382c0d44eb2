import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';

const SCRIPTS = ['sconify.sh', '.ci/run', '.ci/mutation', 'tools/image/podman-image.sh', 'tools/image/verify-image.sh'];

// Most laptops have no shellcheck: skipped there, and said so; CI installs it and never skips.
const HAS_SHELLCHECK = spawnSync('shellcheck', ['--version']).error === undefined;
if (!HAS_SHELLCHECK && !process.env.CI) console.warn('shellcheck is not installed: the shellcheck tests are skipped (apt-get install shellcheck, or see .ci/run)');

describe('shell scripts', () => {
  it.skipIf(!HAS_SHELLCHECK && !process.env.CI).each(SCRIPTS)('%s is shellcheck-clean', (script) => {
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
