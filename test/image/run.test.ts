import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BUNDLE } from '../../tools/build';
import { codeCacheProbe } from '../../tools/code-cache-probe';
import { resultDigest } from '../../tools/digest';
import { serveStandIn, type StandInServer } from '../../tools/stand-in-server';
import { workerVariables } from '../../tools/worker-env';
import { EXAMPLE_APP } from '../helpers/apps';
import { APP_IMAGE, baseImage, podmanImage } from '../helpers/podman';
import { teeEnv } from '../helpers/tee';
import { workerEnvironment } from '../helpers/worker';

const image = inject('image');
const { standIn } = EXAMPLE_APP;
const MISSING_SECRET_LINE = 'SECRET_MISSING: IEXEC_APP_DEVELOPER_SECRET is not set (push it with `iexec app push-secret` and run with a TEE tag)';

let upstream: StandInServer;
beforeAll(async () => {
  upstream = await serveStandIn(standIn.create());
});
afterAll(() => upstream?.close());

type Framework = 'TDX' | 'SCONE';

/**
 * One task, run as an iExec worker runs the image: the worker's IEXEC_* variables (paths as
 * the container sees them; the image keeps its own PATH), /iexec_in and /iexec_out mounted,
 * the host network (the stand-in upstream is on 127.0.0.1). TDX: the requester's args are the
 * container's command. SCONE: the command is tee.env's APP_ENTRYPOINT followed by the args.
 */
async function runTask(
  framework: Framework,
  secret: string | undefined,
  { args = standIn.demoArgs, readOnlyOut = false, nodeArgs = [] as string[], mounts = [] as string[], env = {} as NodeJS.ProcessEnv, plant = undefined as ((out: string) => void) | undefined } = {},
) {
  const host = workerEnvironment(undefined);
  const variables = { ...workerVariables({ input: '/iexec_in', out: '/iexec_out', hostInput: host.input }, secret), ...env };
  delete variables.PATH;
  plant?.(host.out);
  const [node, ...rest] = teeEnv().APP_ENTRYPOINT.split(' ');
  const command = framework === 'TDX' && nodeArgs.length === 0
    ? [APP_IMAGE, ...args]
    : ['--entrypoint', JSON.stringify([node, ...rest.slice(0, -1), ...nodeArgs, rest.at(-1), ...args]), APP_IMAGE];
  // -e NAME takes the value from podman's environment: the secret never shows on a command line.
  const run = await podmanImage(
    ['podman', 'run', '--rm', '--network', 'host',
      ...Object.keys(variables).flatMap((name) => ['-e', name]), ...mounts,
      '-v', `${host.out}:/iexec_out${readOnlyOut ? ':ro' : ''}`, '-v', `${host.input}:/iexec_in`, ...command],
    variables,
  );
  // Regular files only: a test may plant a link there.
  const regular = readdirSync(host.out).filter((name) => lstatSync(join(host.out, name)).isFile());
  const files = Object.fromEntries(regular.map((name) => [name, readFileSync(join(host.out, name), 'utf8')]));
  return { ...run, out: host.out, input: host.input, files };
}

/** A path the container wrote (under /iexec_out), on the host. */
const onHost = (out: string, path: string) => {
  expect(path.startsWith('/iexec_out/')).toBe(true);
  return join(out, path.slice('/iexec_out/'.length));
};

describe.skipIf(image.skipped)(`the native image ${APP_IMAGE}, run as a worker runs it${image.skipped ? ` (SKIPPED: ${image.skipped})` : ''}`, () => {
  const demoSecret = () => JSON.stringify(standIn.demoSecret(upstream.url));

  it.each<Framework>(['TDX', 'SCONE'])('%s: does its work with the requester args, and writes result.txt then computed.json', async (framework) => {
    const before = upstream.handled;
    const run = await runTask(framework, demoSecret());
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(upstream.handled - before).toBe(1);
    expect(Object.keys(run.files).sort()).toEqual(['computed.json', 'result.txt']);
    expect(run.files['computed.json']).toBe('{"deterministic-output-path":"/iexec_out/result.txt"}');
    const digest = resultDigest(onHost(run.out, '/iexec_out/result.txt'));
    expect(digest).toBe(`0x${createHash('sha256').update(run.files['result.txt']!).digest('hex')}`);
  });

  it.each<Framework>(['TDX', 'SCONE'])('%s: the requester args reach the app (an unknown option is ARGS_INVALID, exit code 9)', async (framework) => {
    const run = await runTask(framework, demoSecret(), { args: ['--not-an-option', 'x'] });
    expect(run).toMatchObject({ code: 9, stderr: 'ARGS_INVALID: unknown option --not-an-option\n' });
    expect(JSON.parse(run.files['computed.json']!)).toMatchObject({ 'error-message': 'ARGS_INVALID: unknown option --not-an-option' });
  });

  it.each<Framework>(['TDX', 'SCONE'])('%s: no secret is SECRET_MISSING, exit code 2, reported in computed.json', async (framework) => {
    const before = upstream.requests.length;
    const run = await runTask(framework, undefined);
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: `${MISSING_SECRET_LINE}\n` });
    expect(run.files).toEqual({
      'error.txt': MISSING_SECRET_LINE,
      'computed.json': JSON.stringify({ 'deterministic-output-path': '/iexec_out/error.txt', 'error-message': MISSING_SECRET_LINE }),
    });
    expect(upstream.requests.length).toBe(before);
  });

  it('a read-only /iexec_out is OUTPUT_UNWRITABLE, exit code 8, before any call upstream', async () => {
    const before = upstream.requests.length;
    const run = await runTask('TDX', demoSecret(), { readOnlyOut: true });
    expect(run).toMatchObject({ code: 8, stdout: '', stderr: 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder\n', files: {} });
    expect(upstream.requests.length).toBe(before);
  });

  it("TDX: NODE_DEBUG in the worker's environment is ENVIRONMENT_UNSAFE, exit code 12, before any call upstream", async () => {
    const before = upstream.requests.length;
    const run = await runTask('TDX', demoSecret(), { env: { NODE_DEBUG: 'http' } });
    const line = 'ENVIRONMENT_UNSAFE: NODE_DEBUG is set: Node would print what the app sends, credentials included (unset it)';
    expect(run).toMatchObject({ code: 12, stdout: '', stderr: `${line}\n` });
    expect(JSON.parse(run.files['computed.json']!)).toEqual({ 'deterministic-output-path': '/iexec_out/error.txt', 'error-message': line });
    expect(upstream.requests.length).toBe(before);
  });

  it('TDX: a link planted at /iexec_out/.result.txt.tmp is OUTPUT_UNWRITABLE, exit code 8, and nothing lands where it points', async () => {
    const run = await runTask('TDX', demoSecret(), { plant: (out) => symlinkSync('/iexec_in/escaped', join(out, '.result.txt.tmp')) });
    const line = 'OUTPUT_UNWRITABLE: cannot write result.txt in IEXEC_OUT (EEXIST)';
    expect(run).toMatchObject({ code: 8, stderr: `${line}\n` });
    expect(Object.keys(run.files).sort()).toEqual(['computed.json', 'error.txt']);
    expect(existsSync(join(run.input, 'escaped'))).toBe(false);
  });

  it("uses the code cache the image's build made with the image's own node", async () => {
    const probe = join(mkdtempSync(join(tmpdir(), 'probe-')), 'code-cache.cjs');
    writeFileSync(probe, codeCacheProbe());
    const run = await runTask('SCONE', demoSecret(), { nodeArgs: ['--require', '/probe.cjs'], mounts: ['-v', `${probe}:/probe.cjs:ro`] });
    expect(run).toMatchObject({ code: 0, stderr: 'code cache: accepted\n' });
  });
});

describe.skipIf(image.skipped)(`the native image ${APP_IMAGE}, as built${image.skipped ? ` (SKIPPED: ${image.skipped})` : ''}`, () => {
  it('adds to its base only /app/app.js: the bundle with its code cache', async () => {
    const diff = await podmanImage(['podman', 'image', 'diff', '--format', 'json', APP_IMAGE, baseImage()]);
    expect(diff.code).toBe(0);
    // Empty mount points stay behind: the code-cache step's bind mount, and the npmrc that
    // tools/podman-image.sh mounts for machines behind a TLS gateway (no content enters the image).
    const mountPoints = ['/build', '/root/.npmrc'];
    const added = (JSON.parse(diff.stdout) as { added: string[] }).added;
    expect(added.filter((path) => !mountPoints.includes(path))).toEqual(['/app', '/app/app.js']);
    const empty = await podmanImage(['podman', 'run', '--rm', '--network', 'none', '--entrypoint', 'sh', APP_IMAGE, '-c', 'find /build -mindepth 1; cat /root/.npmrc 2>/dev/null; true']);
    expect(empty.stdout).toBe('');
    const app = await podmanImage(['podman', 'run', '--rm', '--network', 'none', '--entrypoint', 'cat', APP_IMAGE, '/app/app.js']);
    // The loader holds the bundle's source as a string literal, next to the cache.
    expect(app.stdout).toContain(JSON.stringify(readFileSync(BUNDLE, 'utf8')).slice(1, 2000));
    expect(app.stdout).toContain('cachedData');
  });

  it("runs tee.env's APP_ENTRYPOINT with an empty CMD", async () => {
    const inspect = await podmanImage(['podman', 'image', 'inspect', '--format', '{{json .Config}}', APP_IMAGE]);
    const config = JSON.parse(inspect.stdout) as { Entrypoint: string[]; Cmd?: string[] | null };
    expect(config.Entrypoint).toEqual(teeEnv().APP_ENTRYPOINT.split(' '));
    expect(config.Cmd ?? []).toEqual([]);
  });

  it('is the image the build printed, under the name image.env gives it', async () => {
    const inspect = await podmanImage(['podman', 'image', 'inspect', '--format', '{{.Id}}', APP_IMAGE]);
    expect(inspect.stdout.trim()).toBe(image.value);
  });
});
