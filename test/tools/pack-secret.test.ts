import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { unpackSecret } from '../../src/iexec/secret';
import { ROOT } from '../../tools/build';
import { APPS, EXAMPLE_APP, type AppUnderTest } from '../helpers/apps';

function packSecret(args: string[], { app = EXAMPLE_APP, input = '' }: { app?: AppUnderTest; input?: string } = {}) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/pack-secret.ts', ...args], { cwd: ROOT, input, encoding: 'utf8', env: { ...process.env, TEMPLATE_APP: app.dir } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
const backupPath = () => join(mkdtempSync(join(tmpdir(), 'pack-')), 'secrets', 'secret.json');

/** The demo secret's fields as text, and those that must never be shown again. */
function demoFields({ app, standIn }: AppUnderTest) {
  const fields = Object.fromEntries(Object.entries(standIn.demoSecret('https://upstream.example.org')).map(([name, value]) => [name, String(value)]));
  const sensitive = Object.keys(fields).filter((name) => app.secret.fields[name]?.sensitive);
  return { fields, sensitive: sensitive.map((name) => fields[name]!) };
}

describe.each(APPS)('npm run pack-secret, for $label', (appUnderTest) => {
  const { app } = appUnderTest;
  const { fields, sensitive } = demoFields(appUnderTest);

  it("takes each field as an option, round-trips through the app's own parser, and never shows a sensitive value", () => {
    expect(sensitive.length).toBeGreaterThan(0);
    const backup = backupPath();
    const { code, stdout, stderr } = packSecret([...Object.entries(fields).flatMap(([name, value]) => [`--${name}`, value]), '--backup', backup], { app: appUnderTest });
    expect(code).toBe(0);
    const packed = readFileSync(backup, 'utf8');
    expect(unpackSecret(packed, app.secret)).toEqual(unpackSecret(JSON.stringify(fields), app.secret));
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(statSync(join(backup, '..')).mode & 0o777).toBe(0o700);
    for (const value of sensitive) expect(stdout + stderr).not.toContain(value);
    expect(stdout).toContain('<hidden>');
    // The push command reads the backup: the value is on no command line shown.
    expect(stdout).toContain(`--secret-value "$(cat ${backup})"`);
    expect(stdout).toContain('outside this git checkout');
  });

  it('asks for each field in turn, in the order of the schema, and takes piped answers', () => {
    const backup = backupPath();
    const answers = Object.keys(app.secret.fields).map((name) => fields[name] ?? '');
    const { code, stdout } = packSecret(['--backup', backup], { app: appUnderTest, input: `${answers.join('\n')}\n` });
    expect(code).toBe(0);
    expect(unpackSecret(readFileSync(backup, 'utf8'), app.secret)).toEqual(unpackSecret(JSON.stringify(fields), app.secret));
    for (const [name, info] of Object.entries(app.secret.fields)) expect(stdout).toContain(`${name}: ${info.description}`);
  });

  it('lists its fields in --help, from the schema', () => {
    const { code, stdout } = packSecret(['--help'], { app: appUnderTest });
    expect(code).toBe(0);
    for (const name of Object.keys(app.secret.fields)) expect(stdout).toContain(`--${name} VALUE`);
  });

  it('refuses a field that breaks its rule by name, and writes no backup', () => {
    const backup = backupPath();
    const bad = Object.keys(fields)[0]!;
    const { code, stderr } = packSecret([...Object.entries(fields).flatMap(([name, value]) => [`--${name}`, name === bad ? ' bad value' : value]), '--backup', backup], { app: appUnderTest });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^SECRET_INVALID: field "${bad}" `));
    expect(stderr).not.toContain('bad value');
    expect(() => statSync(backup)).toThrow();
  });
});

describe('npm run pack-secret', () => {
  const { fields, sensitive } = demoFields(EXAMPLE_APP);
  const asOptions = (values: Record<string, string>) => Object.entries(values).flatMap(([name, value]) => [`--${name}`, value]);
  const [firstField] = Object.keys(EXAMPLE_APP.app.secret.fields) as [string];

  it('says whether the backup is git-ignored, and never claims it when it is not', () => {
    const ignoredPath = join(ROOT, '.secrets', `test-${process.pid}.json`);
    const notIgnored = join(ROOT, 'test', 'fixtures', `not-ignored-${process.pid}.json`);
    try {
      expect(packSecret([...asOptions(fields), '--backup', ignoredPath, '--force']).stdout).toContain('(mode 0600, git-ignored)');
      expect(packSecret([...asOptions(fields), '--backup', notIgnored]).stdout).toContain('NOT git-ignored: keep it out of commits');
    } finally {
      spawnSync('rm', ['-f', notIgnored, ignoredPath]);
    }
  });

  it('never overwrites a backup without --force', () => {
    const backup = backupPath();
    expect(packSecret([...asOptions(fields), '--backup', backup]).code).toBe(0);
    const first = readFileSync(backup, 'utf8');
    const refused = packSecret([...asOptions(fields), '--backup', backup]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('never overwritten without --force');
    expect(readFileSync(backup, 'utf8')).toBe(first);
    expect(packSecret([...asOptions(fields), '--backup', backup, '--force']).code).toBe(0);
  });

  it('refuses a secret over 4096 bytes, as the secret service would', () => {
    const { code, stderr } = packSecret([...asOptions({ ...fields, [firstField]: 'x'.repeat(4100) }), '--backup', backupPath()]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('SECRET_INVALID: secret is larger than 4096 bytes of UTF-8');
  });

  it('refuses a piped answer as soon as it is read, naming the field', () => {
    const { code, stderr } = packSecret(['--backup', backupPath()], { input: ' bad value\n' });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^SECRET_INVALID: field "${firstField}" `));
    expect(stderr).not.toContain('bad value');
  });

  it('--check names what is wrong without printing values, and says plainly when it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...fields, tokne: 'tok-canary-55' }));
    writeFileSync(join(dir, 'good.json'), `${JSON.stringify(fields)}\n`);
    const bad = packSecret(['--check', join(dir, 'bad.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('SECRET_INVALID: unknown field "tokne" in secret');
    expect(bad.stdout + bad.stderr).not.toContain('tok-canary-55');
    for (const value of sensitive) expect(bad.stdout + bad.stderr).not.toContain(value);
    const good = packSecret(['--check', join(dir, 'good.json')]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`fields: ${Object.keys(EXAMPLE_APP.app.secret.fields).join(', ')}`);
    expect(packSecret(['--check', dir]).stderr.trim()).toBe(`cannot read ${dir} (EISDIR)`);
  });

  const tmux = spawnSync('tmux', ['-V']).error === undefined;
  it.skipIf(!tmux && !process.env.CI)('in a terminal, turns echo off before it asks for a sensitive field (tmux)', async () => {
    const session = `pack-${process.pid}`;
    const backup = backupPath();
    const pane = () => spawnSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).stdout;
    const waitFor = async (text: string) => {
      for (let i = 0; i < 200 && !pane().includes(text); i++) await sleep(50);
      expect(pane()).toContain(text);
    };
    const command = `cd ${ROOT} && TEMPLATE_APP=${EXAMPLE_APP.dir} ${process.execPath} --import tsx tools/pack-secret.ts --backup ${backup}; sleep 30`;
    spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', command]);
    try {
      for (const name of Object.keys(EXAMPLE_APP.app.secret.fields)) {
        await waitFor(`${name}:`);
        spawnSync('tmux', ['send-keys', '-t', session, '-l', fields[name] ?? '']);
        spawnSync('tmux', ['send-keys', '-t', session, 'Enter']);
      }
      await waitFor('Backup written');
      for (const value of sensitive) expect(pane()).not.toContain(value);
      expect(unpackSecret(readFileSync(backup, 'utf8'), EXAMPLE_APP.app.secret)).toEqual(unpackSecret(JSON.stringify(fields), EXAMPLE_APP.app.secret));
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });
});
