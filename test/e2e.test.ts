/**
 * The real bundles, each alone in a folder, run as child processes the way a worker runs them:
 * on this run's Node and on the Node the image runs (22.14, the official linux-x64 build from
 * npm, fetched by tools/image/podman-image.sh node).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BUNDLE, BUNDLE_BUDGET_BYTES } from '../tools/build';
import { type StandInServer } from '../tools/worker/stand-in-server';
import { demoSecret, serveDemoStandIn } from '../tools/worker/demo-task';
import { APPS, APPS_ONLINE, decodeQuote, EXAMPLE_APP, QUOTE_APP } from './helpers/apps';
import { expectSuccess } from './helpers/output';
import { secretParts } from './helpers/leaks';
import { underMutationTesting } from './helpers/mutation';
import { closedPort } from './helpers/ports';
import { demoEnvironment, installBundleAlone, runChild, runChild as runChildOn, workerEnvironment, type ChildOptions } from './helpers/worker';

const imageNode = inject('imageNode');
const NODES = [
  { nodeLabel: `Node ${process.version.slice(1)} (this run's)`, node: process.execPath, skipped: undefined },
  imageNode.value !== undefined
    ? { nodeLabel: `Node ${execFileSync(imageNode.value, ['--version'], { encoding: 'utf8' }).trim().slice(1)} (the image's)`, node: imageNode.value, skipped: undefined }
    : { nodeLabel: `the image's Node (SKIPPED: ${imageNode.skipped})`, node: '', skipped: imageNode.skipped },
];
const ON_EACH_NODE = NODES.filter((node) => node.skipped === undefined).flatMap((node) => APPS.map((app) => ({ ...app, ...node })));

// Said in the report, not silent: a machine without the registry cannot fetch the image's Node (CI fails instead).
if (imageNode.skipped !== undefined) {
  describe.skip(`the bundles on the image's Node (SKIPPED: ${imageNode.skipped})`, () => {
    it("runs the end-to-end tests on the image's Node", () => {});
  });
}

describe.each(ON_EACH_NODE)('the bundle of $label, on $nodeLabel', (appOnNode) => {
  const { demo, app, target, node } = appOnNode;
  let upstream: StandInServer;
  let appDir: string;
  beforeAll(async () => {
    upstream = await serveDemoStandIn(demo);
    appDir = installBundleAlone(target, node);
  });
  afterAll(() => upstream.close());
  const runChild = (dir: string, env: NodeJS.ProcessEnv, options: ChildOptions = {}) => runChildOn(dir, env, { ...options, node });
  const expectNoLeak = (text: string) => {
    for (const part of secretParts(demo, upstream.url)) expect(text).not.toContain(part);
  };

  it('does its demo task and writes its result and computed.json, nothing else', async () => {
    const { env, out } = await demoEnvironment(appOnNode, upstream.url);
    const before = upstream.handled;
    const run = await runChild(appDir, env, { args: demo.args });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expectSuccess(run.files, out);
    expect(run.stdout).toMatch(/^([^\n]*\n)?$/);
    // An app with upstreams calls one; an offline app calls none.
    if (app.upstreams.length > 0) expect(upstream.handled).toBeGreaterThan(before);
    else expect(upstream.requests).toEqual([]);
    expectNoLeak(run.stdout + run.stderr + Object.values(run.files).join(''));
  });

  // Which failures an app can meet follows from its contract: a secret, upstreams.
  if (app.secret !== undefined) it('reports a missing secret with its code and exit code, and writes error.txt and computed.json', async () => {
    const { env, out } = await demoEnvironment(appOnNode, upstream.url);
    delete env.IEXEC_APP_DEVELOPER_SECRET;
    delete env.IEXEC_APP_DEVELOPER_SECRET_1;
    const run = await runChild(appDir, env, { args: demo.args });
    const line = 'SECRET_MISSING: IEXEC_APP_DEVELOPER_SECRET is not set (push it with `iexec app push-secret` and run with a TEE tag)';
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: `${line}\n` });
    expect(run.files).toEqual({
      'error.txt': line,
      'computed.json': JSON.stringify({ 'deterministic-output-path': `${out}/error.txt`, 'error-message': line }),
    });
  });

  it('reads the requester arguments from its command line, and refuses an unknown one by code', async () => {
    const run = await runChild(appDir, (await demoEnvironment(appOnNode, upstream.url)).env, { args: ['--no-such-option', 'value-canary'] });
    expect(run).toMatchObject({ code: 9, stderr: 'ARGS_INVALID: unknown option --no-such-option\n' });
    expect(JSON.stringify(run)).not.toContain('value-canary');
  });

  it('reports a missing IEXEC_OUT on stderr and in the exit code', async () => {
    const { env } = await demoEnvironment(appOnNode, upstream.url);
    const run = await runChild(appDir, { ...env, IEXEC_OUT: join(tmpdir(), 'does-not-exist', 'iexec_out') }, { args: demo.args });
    expect(run).toMatchObject({ code: 8, stderr: 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder\n' });
  });

  it.runIf(process.getuid?.() === 0)('reports a read-only IEXEC_OUT (run as nobody) before calling its upstream', async () => {
    const { env } = await demoEnvironment(appOnNode, upstream.url);
    const readOnly = mkdtempSync(join(tmpdir(), 'ro-'));
    chmodSync(readOnly, 0o755);
    chmodSync(appDir, 0o755);
    const before = upstream.requests.length;
    const run = await runChild(appDir, { ...env, IEXEC_OUT: readOnly }, { args: demo.args, uid: 65534, gid: 65534 });
    expect(run).toMatchObject({ code: 8, stderr: 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder\n' });
    expect(upstream.requests.length).toBe(before);
  });

  if (app.upstreams.length > 0) it('reports an upstream with nothing listening as unreachable, with the system code', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await runChild(appDir, (await demoEnvironment(appOnNode, url)).env, { args: demo.args });
    expect(run.code).toBe(app.errors[app.upstreams[0]!.codes.unreachable]);
    expect(run.stderr).toBe(`${app.upstreams[0]!.codes.unreachable}: ${app.upstreams[0]!.name} could not be reached (ECONNREFUSED)\n`);
  });

  it.each([
    ['an uncaught exception', 'setTimeout(() => { throw new Error(process.env.IEXEC_APP_DEVELOPER_SECRET); }, 0);'],
    ['an unhandled rejection', 'setTimeout(() => Promise.reject(new Error(process.env.IEXEC_APP_DEVELOPER_SECRET)), 0);'],
  ])('reports %s by code only, never its message or stack', async (_, code) => {
    const preload = join(mkdtempSync(join(tmpdir(), 'preload-')), 'crash.cjs');
    writeFileSync(preload, code);
    const { env, out } = await demoEnvironment(appOnNode, upstream.url);
    const run = await runChild(appDir, env, { args: demo.args, nodeArgs: ['--require', preload] });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('UNEXPECTED: unexpected internal error (details withheld: they may hold secret data)\n');
    expect(JSON.parse(run.files['computed.json']!)).toMatchObject({ 'deterministic-output-path': `${out}/error.txt` });
    expect(run.files['result.txt']).toBeUndefined();
    expectNoLeak(run.stdout + run.stderr + Object.values(run.files).join(''));
  });
});

describe('the task context reaches the app through the plumbing (the second app uses all of it)', () => {
  let upstream: StandInServer;
  let appDir: string;
  beforeAll(async () => {
    upstream = await serveDemoStandIn(QUOTE_APP.demo);
    appDir = installBundleAlone(QUOTE_APP.target);
  });
  afterAll(() => upstream.close());

  it('takes its topic from an input file, and sends the requester secret where the app says', async () => {
    const topics = join(mkdtempSync(join(tmpdir(), 'inputs-')), 'topics.txt');
    writeFileSync(topics, 'patience\nother\n');
    const signature = 'requester-signature-canary-77';
    const { env } = workerEnvironment(demoSecret(QUOTE_APP.demo, upstream.url), { inputFiles: [topics], requesterSecrets: new Map([[1, signature]]) });
    const run = await runChild(appDir, env);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(decodeQuote(run.files['result.txt']!)).toEqual({ topic: 'patience', quote: 'On patience, in fr: be brief.' });
    expect(JSON.parse(run.files['computed.json']!)['callback-data']).toBe(run.files['result.txt']);
    expect(upstream.requests.at(-1)!.headers['x-requester-signature']).toBe(signature);
    expect(JSON.stringify(run)).not.toContain(signature);
  });

  it('refuses an input file that escapes IEXEC_IN, naming nothing', async () => {
    const { env } = workerEnvironment(demoSecret(QUOTE_APP.demo, upstream.url));
    const run = await runChild(appDir, { ...env, IEXEC_INPUT_FILES_NUMBER: '1', IEXEC_INPUT_FILE_NAME_1: '../../etc/passwd' });
    expect(run).toMatchObject({ code: 10, stderr: 'INPUT_INVALID: input file 1 has no usable file name\n' });
  });
});

describe.each(APPS_ONLINE)('the bundle of $label over https (node:https loads on first use)', (appUnderTest) => {
  const { app, demo, target } = appUnderTest;
  it('does its work over https, trusting the authority Node is given, and only that', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tls = await serveDemoStandIn(demo, { tls: { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') } });
    try {
      const appDir = installBundleAlone(target);
      const trusted = await runChild(appDir, { ...(await demoEnvironment(appUnderTest, tls.url)).env, NODE_EXTRA_CA_CERTS: cert }, { args: demo.args });
      expect(trusted).toMatchObject({ code: 0, stderr: '' });
      // Without the authority the certificate is refused: TLS is really checked.
      const untrusted = await runChild(appDir, (await demoEnvironment(appUnderTest, tls.url)).env, { args: demo.args });
      expect(untrusted.code).toBe(app.errors[app.upstreams[0]!.codes.unreachable]);
      expect(tls.handled).toBe(1);
    } finally {
      await tls.close();
    }
  });
});

describe('the example bundle', () => {
  // Under mutation testing the bundle carries Stryker's instrumentation, which the budget is not for.
  it.skipIf(underMutationTesting())('is one file of at most 120 KB', () => {
    expect(BUNDLE_BUDGET_BYTES).toBe(120 * 1024);
    expect(statSync(BUNDLE).size).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  });

  // Its ABI encoder (viem's encodeAbiParameters) adds about 16 KB; the other libraries measured would not fit (README).
  it.skipIf(underMutationTesting())("leaves room for the second app's bundle, ABI encoder included, within the same budget", () => {
    expect(statSync(QUOTE_APP.target.outfile).size).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  });

  it("does not make Node load its fetch implementation (undici) or node:v8 at start, and sizes libuv's pool to one thread", async () => {
    const upstream = await serveDemoStandIn(EXAMPLE_APP.demo);
    try {
      const probe = join(mkdtempSync(join(tmpdir(), 'probe-')), 'modules.cjs');
      writeFileSync(probe, `process.on('exit', () => process.stderr.write(process.moduleLoadList.join('\\n') + '\\nUV_THREADPOOL_SIZE=' + process.env.UV_THREADPOOL_SIZE));`);
      const env = workerEnvironment(demoSecret(EXAMPLE_APP.demo, upstream.url)).env;
      const run = await runChild(installBundleAlone(), env, { args: EXAMPLE_APP.demo.args, nodeArgs: ['--require', probe] });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('NativeModule http');
      expect(run.stderr).not.toMatch(/undici/);
      // node:v8 loads only to stop the coverage NODE_V8_COVERAGE asks for (src/iexec/environment.ts).
      expect(run.stderr).not.toMatch(/NativeModule v8\n/);
      expect(run.stderr).toMatch(/\nUV_THREADPOOL_SIZE=1$/);
    } finally {
      await upstream.close();
    }
  });
});
