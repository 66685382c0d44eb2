import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unpackCounterSecret } from '../../src/app/secret';
import { ROOT } from '../../tools/build';

function packSecret(args: string[], input = '') {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/pack-secret.ts', ...args], { cwd: ROOT, input, encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
const backupPath = () => join(mkdtempSync(join(tmpdir(), 'pack-')), 'secrets', 'secret.json');

describe('npm run pack-secret', () => {
  it("round-trips through the app's own parser, with a 0600 backup", () => {
    const backup = backupPath();
    const { code, stdout } = packSecret(['--namespace', 'my-app', '--key', 'hits', '--endpoint', 'https://counter.example.org', '--token', "it's-a-token", '--backup', backup]);
    expect(code).toBe(0);
    const packed = readFileSync(backup, 'utf8');
    expect(unpackCounterSecret(packed)).toEqual({ endpoint: 'https://counter.example.org', namespace: 'my-app', key: 'hits', token: "it's-a-token" });
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(statSync(join(backup, '..')).mode & 0o777).toBe(0o700);
    // The push command quotes the value for the shell, and the prompt form is offered too.
    expect(stdout).toContain(`--secret-value '{"endpoint":"https://counter.example.org","namespace":"my-app","key":"hits","token":"it'\\''s-a-token"}'`);
    expect(stdout).toContain('cd deploy/tdx && iexec app push-secret    # asks for the value');
  });

  it('leaves the default endpoint implicit and takes piped answers', () => {
    const backup = backupPath();
    const { code } = packSecret(['--backup', backup], 'https://abacus.jasoncameron.dev\nmy-app\nhits\n\n');
    expect(code).toBe(0);
    expect(readFileSync(backup, 'utf8')).toBe('{"namespace":"my-app","key":"hits"}');
  });

  it('never overwrites a backup without --force', () => {
    const backup = backupPath();
    expect(packSecret(['--namespace', 'my-app', '--key', 'first', '--backup', backup]).code).toBe(0);
    const refused = packSecret(['--namespace', 'my-app', '--key', 'second', '--backup', backup]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('never overwritten without --force');
    expect(readFileSync(backup, 'utf8')).toContain('"first"');
    expect(packSecret(['--namespace', 'my-app', '--key', 'second', '--backup', backup, '--force']).code).toBe(0);
    expect(readFileSync(backup, 'utf8')).toContain('"second"');
  });

  it('refuses a secret over 4096 bytes, as the secret service would', () => {
    const backup = backupPath();
    const { code, stderr } = packSecret(['--namespace', 'my-app', '--key', 'hits', '--token', 't'.repeat(4100), '--backup', backup]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('SECRET_INVALID: secret is larger than 4096 bytes of UTF-8');
  });

  it('refuses a bad field by name and writes no backup', () => {
    const backup = backupPath();
    const { code, stderr } = packSecret(['--namespace', 'ns-canary-77', '--key', 'x', '--backup', backup]);
    expect(code).toBe(1);
    expect(stderr).toContain('SECRET_INVALID: field "key" must be');
    expect(stderr).not.toContain('ns-canary-77');
    expect(() => statSync(backup)).toThrow();
  });

  it('--check names what is wrong without printing values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-'));
    writeFileSync(join(dir, 'bad.json'), '{"namespace":"my-app","key":"hits","tokne":"tok-canary-55"}');
    writeFileSync(join(dir, 'good.json'), 'my-app/hits\n');
    const bad = packSecret(['--check', join(dir, 'bad.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('SECRET_INVALID: unknown field "tokne" in secret');
    expect(bad.stdout + bad.stderr).not.toContain('tok-canary-55');
    const good = packSecret(['--check', join(dir, 'good.json')]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('fields: endpoint, namespace, key');
  });
});
