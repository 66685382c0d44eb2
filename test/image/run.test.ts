import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BUNDLE } from '../../tools/build';
import { codeCacheProbe } from '../../tools/image/code-cache-probe';
import { resultDigest } from '../../tools/worker/digest';
import { type StandInServer } from '../../tools/worker/stand-in-server';
import { demoSecret, serveDemoStandIn } from '../../tools/worker/demo-task';
import { workerVariables } from '../../tools/worker/worker-env';
import { EXAMPLE_APP } from '../helpers/apps';
import { podmanImage, TARGET_IMAGES, type Target } from '../helpers/podman';
import { teeEnv } from '../helpers/tee';
import { workerEnvironment } from '../helpers/worker';

const images = inject('images');
const { demo } = EXAMPLE_APP;
const MISSING_SECRET_LINE = 'SECRET_MISSING: IEXEC_APP_DEVELOPER_SECRET is not set (push it with `iexec app push-secret` and run with a TEE tag)';

let upstream: StandInServer;
beforeAll(async () => {
  upstream = await serveDemoStandIn(demo);
});
afterAll(() => upstream?.close());

/**
 * One task, run as an iExec worker runs the image: the worker's IEXEC_* variables (paths as
 * the container sees them; the image keeps its own PATH), /iexec_in and /iexec_out mounted,
 * the host network (the stand-in upstream is on 127.0.0.1). TDX runs the TDX image, the
 * requester's args as the container's command. SCONE runs the native image that sconify takes,
 * the command being tee.env's APP_ENTRYPOINT followed by the args, as SCONE runs its enclave.
 */
async function runTask(
  target: Target,
  secret: string | undefined,
  { args = demo.args, readOnlyOut = false, nodeArgs = [] as string[], mounts = [] as string[], env = {} as NodeJS.ProcessEnv, plant = undefined as ((out: string) => void) | undefined } = {},
) {
  const host = workerEnvironment(undefined);
  const variables = { ...workerVariables({ input: '/iexec_in', out: '/iexec_out', hostInput: host.input }, secret), ...env };
  delete variables.PATH;
  plant?.(host.out);
  const [node, ...rest] = teeEnv().APP_ENTRYPOINT.split(' ');
  const image = TARGET_IMAGES[target];
  const command = target === 'tdx' && nodeArgs.length === 0
    ? [image, ...args]
    : ['--entrypoint', JSON.stringify([node, ...rest.slice(0, -1), ...nodeArgs, rest.at(-1), ...args]), image];
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

const skipped = (target: Target) => images[target].skipped;
const because = (target: Target) => (skipped(target) ? ` (SKIPPED: ${skipped(target)})` : '');
const secret = () => demoSecret(demo, upstream.url);

describe.each<Target>(['tdx', 'scone'])('the %s image, run as a worker runs it', (target) => {
  describe.skipIf(skipped(target))(`${TARGET_IMAGES[target]}${because(target)}`, () => {
    it('does its work with the requester args, and writes result.txt then computed.json', async () => {
      const before = upstream.handled;
      const run = await runTask(target, secret());
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(upstream.handled - before).toBe(1);
      expect(Object.keys(run.files).sort()).toEqual(['computed.json', 'result.txt']);
      expect(run.files['computed.json']).toBe('{"deterministic-output-path":"/iexec_out/result.txt"}');
      const digest = resultDigest(onHost(run.out, '/iexec_out/result.txt'));
      expect(digest).toBe(`0x${createHash('sha256').update(run.files['result.txt']!).digest('hex')}`);
    });

    it('the requester args reach the app (an unknown option is ARGS_INVALID, exit code 9)', async () => {
      const run = await runTask(target, secret(), { args: ['--not-an-option', 'x'] });
      expect(run).toMatchObject({ code: 9, stderr: 'ARGS_INVALID: unknown option --not-an-option\n' });
      expect(JSON.parse(run.files['computed.json']!)).toMatchObject({ 'error-message': 'ARGS_INVALID: unknown option --not-an-option' });
    });

    it('no secret is SECRET_MISSING, exit code 2, reported in computed.json', async () => {
      const before = upstream.requests.length;
      const run = await runTask(target, undefined);
      expect(run).toMatchObject({ code: 2, stdout: '', stderr: `${MISSING_SECRET_LINE}\n` });
      expect(run.files).toEqual({
        'error.txt': MISSING_SECRET_LINE,
        'computed.json': JSON.stringify({ 'deterministic-output-path': '/iexec_out/error.txt', 'error-message': MISSING_SECRET_LINE }),
      });
      expect(upstream.requests.length).toBe(before);
    });

    it('a read-only /iexec_out is OUTPUT_UNWRITABLE, exit code 8, before any call upstream', async () => {
      const before = upstream.requests.length;
      const run = await runTask(target, secret(), { readOnlyOut: true });
      expect(run).toMatchObject({ code: 8, stdout: '', stderr: 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder\n', files: {} });
      expect(upstream.requests.length).toBe(before);
    });

    it("NODE_DEBUG in the worker's environment is ENVIRONMENT_UNSAFE, exit code 12, before any call upstream", async () => {
      const before = upstream.requests.length;
      const run = await runTask(target, secret(), { env: { NODE_DEBUG: 'http' } });
      const line = 'ENVIRONMENT_UNSAFE: NODE_DEBUG is set: Node would print what the app sends, credentials included (unset it)';
      expect(run).toMatchObject({ code: 12, stdout: '', stderr: `${line}\n` });
      expect(JSON.parse(run.files['computed.json']!)).toEqual({ 'deterministic-output-path': '/iexec_out/error.txt', 'error-message': line });
      expect(upstream.requests.length).toBe(before);
    });

    it('a link planted at /iexec_out/.result.txt.tmp is OUTPUT_UNWRITABLE, exit code 8, and nothing lands where it points', async () => {
      const run = await runTask(target, secret(), { plant: (out) => symlinkSync('/iexec_in/escaped', join(out, '.result.txt.tmp')) });
      const line = 'OUTPUT_UNWRITABLE: cannot write result.txt in IEXEC_OUT (EEXIST)';
      expect(run).toMatchObject({ code: 8, stderr: `${line}\n` });
      expect(Object.keys(run.files).sort()).toEqual(['computed.json', 'error.txt']);
      expect(existsSync(join(run.input, 'escaped'))).toBe(false);
    });

    it("uses the code cache the image's build made with the image's own node", async () => {
      const probe = join(mkdtempSync(join(tmpdir(), 'probe-')), 'code-cache.cjs');
      writeFileSync(probe, codeCacheProbe());
      const run = await runTask(target, secret(), { nodeArgs: ['--require', '/probe.cjs'], mounts: ['-v', `${probe}:/probe.cjs:ro`] });
      expect(run).toMatchObject({ code: 0, stderr: 'code cache: accepted\n' });
    });
  });
});

/** What an image adds to the image its final stage starts from (stand-in or pulled). */
async function addedToBase(target: Target): Promise<string[]> {
  const base = await podmanImage(['base-image', target]);
  expect(base.code).toBe(0);
  const diff = await podmanImage(['podman', 'image', 'diff', '--format', 'json', TARGET_IMAGES[target], base.stdout.trim()]);
  expect(diff.code).toBe(0);
  return (JSON.parse(diff.stdout) as { added?: string[] }).added ?? [];
}

/** A file of the image, read by its own node (the TDX image has no shell, nor cat). */
const readInImage = (image: string, script: string) =>
  podmanImage(['podman', 'run', '--rm', '--network', 'none', '--entrypoint', JSON.stringify(['node', '-e', script]), image]);

// Empty mount points stay behind: the code-cache step's bind mount, and the npmrc and CA file that
// tools/image/podman-image.sh mounts for machines behind a TLS gateway (no content enters the image;
// distroless has that CA file already, its stand-in has none).
const MOUNT_POINTS = ['/build', '/root/.npmrc', '/etc/ssl/certs/ca-certificates.crt'];
const parents = (path: string) => path.split('/').slice(1, -1).map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`);

describe.each<[Target, string[]]>([
  ['tdx', ['/app', '/app/app.js', '/usr/local/bin/node']],
  ['scone', ['/app', '/app/app.js']],
])('the %s image, as built', (target, adds) => {
  const image = TARGET_IMAGES[target];
  describe.skipIf(skipped(target))(`${image}${because(target)}`, () => {
    it(`adds to its base only ${adds.join(', ')}: app.js the bundle with its code cache`, async () => {
      const all = await addedToBase(target);
      const mountPoints = MOUNT_POINTS.filter((path) => all.includes(path));
      const folders = [...adds, ...mountPoints].flatMap(parents);
      expect(all.filter((path) => adds.includes(path) || !(mountPoints.includes(path) || folders.includes(path))).sort()).toEqual(adds);
      const empty = await readInImage(image, `const fs = require('fs'); for (const p of ${JSON.stringify(mountPoints)}) process.stdout.write(fs.statSync(p).isDirectory() ? fs.readdirSync(p).join() : fs.readFileSync(p, 'utf8'))`);
      expect(empty).toMatchObject({ code: 0, stdout: '' });
      const app = await readInImage(image, "process.stdout.write(require('fs').readFileSync('/app/app.js', 'utf8'))");
      // The loader holds the bundle's source as a string literal, next to the cache.
      expect(app.stdout).toContain(JSON.stringify(readFileSync(BUNDLE, 'utf8')).slice(1, 2000));
      expect(app.stdout).toContain('cachedData');
    });

    it("runs tee.env's APP_ENTRYPOINT with an empty CMD", async () => {
      const inspect = await podmanImage(['podman', 'image', 'inspect', '--format', '{{json .Config}}', image]);
      const config = JSON.parse(inspect.stdout) as { Entrypoint: string[]; Cmd?: string[] | null };
      expect(config.Entrypoint).toEqual(teeEnv().APP_ENTRYPOINT.split(' '));
      expect(config.Cmd ?? []).toEqual([]);
    });

    it('is the image the build printed, under the name image.env gives it', async () => {
      const inspect = await podmanImage(['podman', 'image', 'inspect', '--format', '{{.Id}}', image]);
      expect(inspect.stdout.trim()).toBe(images[target].value);
    });
  });
});

describe.skipIf(skipped('tdx'))(`the tdx image holds no shell and no npm${because('tdx')}`, () => {
  it.each(['sh', 'npm'])('%s cannot run in it', async (command) => {
    const run = await podmanImage(['podman', 'run', '--rm', '--network', 'none', '--entrypoint', command, TARGET_IMAGES.tdx, '-c', 'true']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/executable file .* not found|no such file or directory/i);
  });
});
