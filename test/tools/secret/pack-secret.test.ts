import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { unpackSecret } from '../../../src/iexec/secret';
import { ROOT } from '../../../tools/build';
import { APPS_WITH_SECRET, type AppUnderTest } from '../../helpers/apps';
import { PODMAN_IMAGE, podmanMissing, runAsync } from '../../helpers/podman';

function packSecret(args: string[], { app = EXAMPLE_APP, input = '' }: { app?: AppUnderTest; input?: string } = {}) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/secret/pack-secret.ts', ...args], { cwd: ROOT, input, encoding: 'utf8', env: { ...process.env, TEMPLATE_APP: app.dir } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
type WithSecret = (typeof APPS_WITH_SECRET)[number];
const EXAMPLE_APP = APPS_WITH_SECRET[0]!;
const backupPath = () => join(mkdtempSync(join(tmpdir(), 'pack-')), 'secrets', 'secret.json');

/** The demo secret's fields as text, and those that must never be shown again. */
function demoFields({ secret, demo }: WithSecret) {
  const fields = Object.fromEntries(Object.entries(demo.secret?.('https://upstream.example.org') ?? {}).map(([name, value]) => [name, String(value)]));
  const sensitive = Object.keys(fields).filter((name) => secret.fields[name]?.sensitive);
  return { fields, sensitive: sensitive.map((name) => fields[name]!) };
}

describe.each(APPS_WITH_SECRET)('npm run pack-secret, for $label', (appUnderTest) => {
  const app = { secret: appUnderTest.secret };
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
    // Only a field the app marks `shown` is shown; every other value, sensitive or not, is hidden.
    const summary = JSON.parse(stdout.split('\n').find((line) => line.startsWith('  {'))!) as Record<string, string>;
    expect(summary).toEqual(Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, app.secret.fields[name]?.shown ? value : '<hidden>'])));
    expect(Object.values(summary)).toContain('<hidden>');
    for (const [name, value] of Object.entries(fields)) if (!app.secret.fields[name]?.shown) expect(stdout + stderr).not.toContain(value);
    // The push command gives iexec the backup on its input: no value on any command line shown.
    expect(stdout).toContain(`cd deploy/tdx && iexec app push-secret < ${backup}\n`);
    expect(stdout).not.toMatch(/--secret-value[ =]/);
    expect(stdout).not.toContain(packed.trim());
    expect(stdout).toContain('outside this git checkout');
    // One line, as the SDK's prompt reads it.
    expect(readFileSync(backup, 'utf8')).toBe(`${packed.trim()}\n`);
    expect(packed.trim()).not.toContain('\n');
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
  const [firstField] = Object.keys(EXAMPLE_APP.secret.fields) as [string];

  it('says whether the backup is git-ignored, and never claims it when it is not', () => {
    const ignoredPath = join(ROOT, '.secrets', `test-${process.pid}.json`);
    const notIgnoredFolder = mkdtempSync(join(ROOT, 'test', 'fixtures', 'not-ignored-'));
    try {
      expect(packSecret([...asOptions(fields), '--backup', ignoredPath, '--force']).stdout).toContain('(mode 0600, git-ignored)');
      expect(packSecret([...asOptions(fields), '--backup', join(notIgnoredFolder, 'secret.json')]).stdout).toContain('NOT git-ignored: keep it out of commits');
    } finally {
      spawnSync('rm', ['-rf', notIgnoredFolder, ignoredPath]);
    }
  });

  describe('writes its backup only as a new file of its own', () => {
    const planted = (plant: (backup: string, dir: string) => void) => {
      const dir = mkdtempSync(join(tmpdir(), 'plant-'));
      const backup = join(dir, 'secret.json');
      plant(backup, dir);
      return { dir, backup };
    };
    const refusedBefore = (backup: string) => {
      const refused = packSecret([...asOptions(fields), '--backup', backup]);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(`${backup} exists: a backup is never overwritten without --force (it may be the only copy of a pushed secret).`);
    };
    const written = (backup: string) => {
      expect(lstatSync(backup).isFile()).toBe(true); // a file of its own, no longer a link
      expect(lstatSync(backup).mode & 0o777).toBe(0o600);
      expect(unpackSecret(readFileSync(backup, 'utf8'), EXAMPLE_APP.secret)).toEqual(unpackSecret(JSON.stringify(fields), EXAMPLE_APP.secret));
    };

    it('a dangling link at the path: refused, and with --force replaced, never written through', () => {
      const { dir, backup } = planted((path, dir) => symlinkSync(join(dir, 'target.json'), path));
      refusedBefore(backup);
      expect(readlinkSync(backup)).toBe(join(dir, 'target.json'));
      expect(packSecret([...asOptions(fields), '--backup', backup, '--force']).code).toBe(0);
      written(backup);
      expect(existsSync(join(dir, 'target.json'))).toBe(false);
      expect(readdirSync(dir)).toEqual(['secret.json']); // no temporary file left behind
    });

    it("a link to another file: refused, and with --force replaced, the other file untouched", () => {
      const { dir, backup } = planted((path, dir) => {
        writeFileSync(join(dir, 'other.txt'), 'not yours to overwrite', { mode: 0o644 });
        symlinkSync(join(dir, 'other.txt'), path);
      });
      refusedBefore(backup);
      expect(packSecret([...asOptions(fields), '--backup', backup, '--force']).code).toBe(0);
      written(backup);
      expect(readFileSync(join(dir, 'other.txt'), 'utf8')).toBe('not yours to overwrite');
      expect(statSync(join(dir, 'other.txt')).mode & 0o777).toBe(0o644);
    });

    it('an existing file with a loose mode: refused, and with --force replaced by a 0600 file', () => {
      const { backup } = planted((path) => writeFileSync(path, 'old', { mode: 0o644 }));
      refusedBefore(backup);
      expect(readFileSync(backup, 'utf8')).toBe('old');
      expect(packSecret([...asOptions(fields), '--backup', backup, '--force']).code).toBe(0);
      written(backup);
    });

    it('a folder at the path: refused, even with --force, in one line', () => {
      const { backup } = planted((path) => mkdirSync(path));
      const refused = packSecret([...asOptions(fields), '--backup', backup, '--force']);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toMatch(new RegExp(`^cannot write the backup to ${backup} \\((EISDIR|ENOTEMPTY|EEXIST)\\)$`));
    });

    it.each([0o755, 0o750, 0o701])('an existing folder open to others (mode %o): refused, its mode and files left as they are', (mode) => {
      const dir = mkdtempSync(join(tmpdir(), 'loose-'));
      chmodSync(dir, mode);
      const refused = packSecret([...asOptions(fields), '--backup', join(dir, 'secret.json')]);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(`${dir} is open to other users (mode ${mode.toString(8)}): pick a folder only you can open, or chmod 700 it`);
      expect(statSync(dir).mode & 0o777).toBe(mode);
      expect(readdirSync(dir)).toEqual([]);
      // Said before any question is asked.
      const asked = packSecret(['--backup', join(dir, 'secret.json')], { input: `${Object.values(fields).join('\n')}\n` });
      expect(asked.code).toBe(1);
      expect(asked.stdout).toBe('');
    });

    it('makes the folders it creates 0700, each of them', () => {
      const top = mkdtempSync(join(tmpdir(), 'new-'));
      const backup = join(top, 'a', 'b', 'secret.json');
      expect(packSecret([...asOptions(fields), '--backup', backup]).code).toBe(0);
      for (const folder of [join(top, 'a'), join(top, 'a', 'b')]) expect(statSync(folder).mode & 0o777).toBe(0o700);
      written(backup);
    });
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
    expect(good.stdout).toContain(`fields: ${Object.keys(EXAMPLE_APP.secret.fields).join(', ')}`);
    expect(packSecret(['--check', dir]).stderr.trim()).toBe(`cannot read ${dir} (EISDIR)`);
  });

  it('--check refuses a file of several lines: the SDK would push its first line only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-'));
    writeFileSync(join(dir, 'pretty.json'), JSON.stringify(fields, null, 2));
    const pretty = packSecret(['--check', join(dir, 'pretty.json')]);
    expect(pretty.code).toBe(1);
    expect(pretty.stderr.trim()).toBe(`${join(dir, 'pretty.json')} holds more than one line: iexec app push-secret would take the first one only (pack it again, or join the lines)`);
  });

  /** A stand-in of the secret service: what it was sent. */
  async function fakeSms() {
    const received: { method: string; url: string; body: string }[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ method: request.method!, url: request.url!, body });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
  }

  it.each([
    { sdk: 'iexec-v9', chain: (sms: string) => ({ default: 'arbitrum-sepolia-testnet', chains: { 'arbitrum-sepolia-testnet': { sms } } }), flags: '' },
    { sdk: 'iexec-v8', chain: (sms: string) => ({ default: 'bellecour', chains: { bellecour: { sms: { scone: sms } } } }), flags: ' --tee-framework scone' },
  ])("the push command it prints makes $sdk's own CLI send exactly the packed value, read from its input", async ({ sdk, chain, flags }) => {
    const backup = backupPath();
    const { stdout } = packSecret([...asOptions(fields), '--backup', backup]);
    const command = /^ {2}cd deploy\/tdx && (iexec app push-secret < \S+)$/m.exec(stdout)![1]!;
    const sms = await fakeSms();
    try {
      // The target's folder, with the SMS here, and a wallet.json that asks no password (made by the SDK).
      const folder = mkdtempSync(join(tmpdir(), 'target-'));
      writeFileSync(join(folder, 'chain.json'), JSON.stringify(chain(sms.url)));
      const cli = join(ROOT, 'node_modules', sdk, 'dist', 'esm', 'cli', 'cmd', 'iexec.js');
      const iexec = `iexec() { cd ${folder} && ${process.execPath} ${cli} "$@" --raw; }`;
      expect((await runAsync('bash', ['-c', `${iexec}; iexec wallet create --unencrypted < /dev/null`])).code).toBe(0);
      const app = '0x1234567890123456789012345678901234567890';
      const push = await runAsync('bash', ['-c', `${iexec}; ${command} ${app}${flags}`]);
      expect(push.stdout).toContain('{"ok":true}');
      expect(sms.received).toEqual([{ method: 'POST', url: `/apps/${app}/secrets`, body: readFileSync(backup, 'utf8').trim() }]);
      expect(unpackSecret(sms.received[0]!.body, EXAMPLE_APP.secret)).toEqual(unpackSecret(JSON.stringify(fields), EXAMPLE_APP.secret));
    } finally {
      sms.close();
    }
  }, 60_000);

  const podman = podmanMissing();
  it.skipIf(podman !== undefined && !process.env.CI)(`.dockerignore keeps keys and secret backups out of a build context at any depth (podman${podman === undefined ? '' : `: SKIPPED, ${podman}`})`, async () => {
    // A context with the project's .dockerignore, a backup written by the tool deep inside, keys,
    // and files that must stay; podman (buildah: Docker's pattern rules) copies it into an image.
    const context = mkdtempSync(join(tmpdir(), 'context-'));
    writeFileSync(join(context, '.dockerignore'), readFileSync(join(ROOT, '.dockerignore')));
    expect(packSecret([...asOptions(fields), '--backup', join(context, 'deploy', 'tdx', '.secrets', 'app-developer-secret.json')]).code).toBe(0);
    const files = ['enclave-key.pem', 'deploy/scone-production/enclave-key.pem', 'a/b/signer.key', '.secrets/app-developer-secret.json', 'src/app/index.ts', 'a/b/notes.pem.txt'];
    for (const file of files) {
      mkdirSync(join(context, file, '..'), { recursive: true });
      writeFileSync(join(context, file), 'x');
    }
    writeFileSync(join(context, 'Containerfile'), 'FROM scratch\nCOPY . /context/\n');
    const tag = `localhost/context-probe-${process.pid}`;
    const podmanRun = async (args: string[]) => {
      const run = await runAsync('bash', [PODMAN_IMAGE, 'podman', ...args]);
      expect(run.code, run.stderr).toBe(0);
      return run.stdout.trim();
    };
    await podmanRun(['build', '-q', '-f', join(context, 'Containerfile'), '-t', tag, context]);
    const container = await podmanRun(['create', '--entrypoint', '/none', tag]);
    try {
      const exported = join(mkdtempSync(join(tmpdir(), 'export-')), 'context.tar');
      await podmanRun(['export', '-o', exported, container]);
      const listed = spawnSync('tar', ['-tf', exported], { encoding: 'utf8' }).stdout.split('\n').filter((line) => line.startsWith('context/') && !line.endsWith('/'));
      expect(listed.sort()).toEqual(['context/.dockerignore', 'context/Containerfile', 'context/a/b/notes.pem.txt', 'context/src/app/index.ts']);
    } finally {
      await runAsync('bash', [PODMAN_IMAGE, 'podman', 'rm', container]);
      await runAsync('bash', [PODMAN_IMAGE, 'podman', 'rmi', tag]);
    }
  }, 60_000);

  const tmux = spawnSync('tmux', ['-V']).error === undefined;
  it.skipIf(!tmux && !process.env.CI)('in a terminal, turns echo off before it asks for a sensitive field (tmux)', async () => {
    const session = `pack-${process.pid}`;
    const backup = backupPath();
    const pane = () => spawnSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).stdout;
    const waitFor = async (text: string) => {
      for (let i = 0; i < 200 && !pane().includes(text); i++) await sleep(50);
      expect(pane()).toContain(text);
    };
    const command = `cd ${ROOT} && TEMPLATE_APP=${EXAMPLE_APP.dir} ${process.execPath} --import tsx tools/secret/pack-secret.ts --backup ${backup}; sleep 30`;
    spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', command]);
    try {
      for (const name of Object.keys(EXAMPLE_APP.secret.fields)) {
        await waitFor(`${name}:`);
        spawnSync('tmux', ['send-keys', '-t', session, '-l', fields[name] ?? '']);
        spawnSync('tmux', ['send-keys', '-t', session, 'Enter']);
      }
      await waitFor('Backup written');
      for (const value of sensitive) expect(pane()).not.toContain(value);
      expect(unpackSecret(readFileSync(backup, 'utf8'), EXAMPLE_APP.secret)).toEqual(unpackSecret(JSON.stringify(fields), EXAMPLE_APP.secret));
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });
});
