import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, BUNDLE_BUDGET_BYTES } from '../tools/build';
import { startCounter, type Counter } from '../tools/counter-server';
import { underMutationTesting } from './helpers/mutation';
import { installBundleAlone, runChild, workerEnvironment } from './helpers/worker';

let counter: Counter;
let appDir: string;
beforeAll(async () => {
  counter = await startCounter();
  appDir = installBundleAlone();
});
afterAll(() => counter.close());

const secretFor = (fields: Record<string, string> = {}) =>
  JSON.stringify({ endpoint: counter.url, namespace: 'e2e-app', key: 'hits', ...fields });

describe('the bundle, alone in a folder, run as a worker runs it', () => {
  it('counts one hit and writes result.txt and computed.json byte for byte', async () => {
    const { env, out } = workerEnvironment(secretFor({ key: 'byte-for-byte' }));
    const before = counter.hits;
    const run = await runChild(appDir, env);
    expect(run).toMatchObject({ code: 0, stdout: 'endpoint hit 1 times\n', stderr: '' });
    expect(run.files).toEqual({
      'result.txt': 'endpoint hit 1 times',
      'computed.json': `{"deterministic-output-path":"${out}/result.txt"}`,
    });
    expect(counter.hits - before).toBe(1);
  });

  it('counts on: a second task sees the next value', async () => {
    await runChild(appDir, workerEnvironment(secretFor({ key: 'twice' })).env);
    const second = await runChild(appDir, workerEnvironment(secretFor({ key: 'twice' })).env);
    expect(second.files['result.txt']).toBe('endpoint hit 2 times');
  });

  it('sends the token as a Bearer header and nowhere else', async () => {
    await runChild(appDir, workerEnvironment(secretFor({ key: 'with-token', token: 'tok-e2e-123' })).env);
    const request = counter.requests.at(-1)!;
    expect(request).toEqual({ method: 'GET', url: '/hit/e2e-app/with-token', authorization: 'Bearer tok-e2e-123' });
  });

  it('reports a missing secret with its code and exit code, and writes error.txt and computed.json', async () => {
    const { env, out } = workerEnvironment(undefined);
    const run = await runChild(appDir, env);
    const line = 'SECRET_MISSING: IEXEC_APP_DEVELOPER_SECRET is not set (push it with `iexec app push-secret` and run with a TEE tag)';
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: `${line}\n` });
    expect(run.files).toEqual({
      'error.txt': line,
      'computed.json': JSON.stringify({ 'deterministic-output-path': `${out}/error.txt`, 'error-message': line }),
    });
  });

  it('reports a missing IEXEC_OUT on stderr and in the exit code', async () => {
    const { env } = workerEnvironment(secretFor());
    const run = await runChild(appDir, { ...env, IEXEC_OUT: join(tmpdir(), 'does-not-exist', 'iexec_out') });
    expect(run).toMatchObject({ code: 8, stderr: 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder\n' });
  });

  it.runIf(process.getuid?.() === 0)('reports a read-only IEXEC_OUT (run as nobody) before counting a hit', async () => {
    const { env } = workerEnvironment(secretFor({ key: 'read-only' }));
    const readOnly = mkdtempSync(join(tmpdir(), 'ro-'));
    chmodSync(readOnly, 0o755);
    chmodSync(appDir, 0o755);
    const before = counter.hits;
    const run = await runChild(appDir, { ...env, IEXEC_OUT: readOnly }, { uid: 65534, gid: 65534 });
    expect(run).toMatchObject({ code: 8, stderr: 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder\n' });
    expect(counter.hits).toBe(before);
  });

  it.each([
    ['an uncaught exception', 'setTimeout(() => { throw new Error(process.env.IEXEC_APP_DEVELOPER_SECRET); }, 0);'],
    ['an unhandled rejection', 'setTimeout(() => Promise.reject(new Error(process.env.IEXEC_APP_DEVELOPER_SECRET)), 0);'],
  ])('reports %s by code only, never its message or stack', async (_, code) => {
    const preload = join(mkdtempSync(join(tmpdir(), 'preload-')), 'crash.cjs');
    writeFileSync(preload, code);
    const secret = secretFor({ key: 'crash-key-123', token: 'tok-crash-456' });
    const { env, out } = workerEnvironment(secret);
    const run = await runChild(appDir, env, { nodeArgs: ['--require', preload] });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^UNEXPECTED: [^\n]+\n$/);
    expect(JSON.parse(run.files['computed.json']!)).toMatchObject({ 'deterministic-output-path': `${out}/error.txt` });
    expect(run.files['result.txt']).toBeUndefined();
    const everything = run.stdout + run.stderr + Object.values(run.files).join('');
    for (const part of ['crash-key-123', 'tok-crash-456', counter.url, 'e2e-app']) expect(everything).not.toContain(part);
  });
});

describe('the bundle budget', () => {
  // Under mutation testing the bundle carries Stryker's instrumentation, which the budget is not for.
  it.skipIf(underMutationTesting())('is one file of at most 120 KB', () => {
    expect(BUNDLE_BUDGET_BYTES).toBe(120 * 1024);
    expect(statSync(BUNDLE).size).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  });

  it('does not make Node load its fetch implementation (undici) at start', async () => {
    const probe = join(mkdtempSync(join(tmpdir(), 'probe-')), 'modules.cjs');
    writeFileSync(probe, `process.on('exit', () => process.stderr.write(process.moduleLoadList.join('\\n')));`);
    const run = await runChild(appDir, workerEnvironment(secretFor({ key: 'modules' })).env, { nodeArgs: ['--require', probe] });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('NativeModule http');
    expect(run.stderr).not.toMatch(/undici/);
  });
});

describe('the bundle over https (node:https is loaded on first use in the bundle)', () => {
  it('counts a hit on an https endpoint, trusting the certificate authority Node is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tlsCounter = await startCounter(0, { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') });
    try {
      const secret = JSON.stringify({ endpoint: tlsCounter.url, namespace: 'e2e-tls', key: 'hits' });
      const { env } = workerEnvironment(secret);
      const trusted = await runChild(appDir, { ...env, NODE_EXTRA_CA_CERTS: cert });
      expect(trusted).toMatchObject({ code: 0, stdout: 'endpoint hit 1 times\n', stderr: '' });
      // Without the authority the certificate is refused: TLS is really checked.
      const untrusted = await runChild(appDir, workerEnvironment(secret).env);
      expect(untrusted.code).toBe(4);
      expect(untrusted.stderr).toMatch(/^COUNTER_UNREACHABLE: /);
      expect(tlsCounter.hits).toBe(1);
    } finally {
      await tlsCounter.close();
    }
  });
});
