import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BUNDLE } from '../../tools/build';
import { startCounter, type Counter } from '../../tools/counter-server';
import { resultDigest } from '../../tools/digest';
import { workerVariables } from '../../tools/local';
import { APP_IMAGE, baseImage, podmanImage } from '../helpers/podman';
import { teeEnv } from '../helpers/tee';
import { workerEnvironment } from '../helpers/worker';

/**
 * The requester's args (`iexec app run --args`), given to every run: untrusted input the app
 * must take in its stride. Change them here when the app starts reading args.
 */
const REQUESTER_ARGS = ['--key', 'image-args'];

const image = inject('image');
const MISSING_SECRET_LINE = 'SECRET_MISSING: IEXEC_APP_DEVELOPER_SECRET is not set (push it with `iexec app push-secret` and run with a TEE tag)';

let counter: Counter;
beforeAll(async () => {
  counter = await startCounter();
});
afterAll(() => counter?.close());

type Framework = 'TDX' | 'SCONE';

/**
 * One task, run as an iExec worker runs the image: the worker's IEXEC_* variables (paths as
 * the container sees them; the image keeps its own PATH), /iexec_in and /iexec_out mounted,
 * the host network (the counter is on 127.0.0.1). TDX: the args are the container's command.
 * SCONE: the command is tee.env's APP_ENTRYPOINT followed by the args, run exactly as given.
 */
async function runTask(framework: Framework, secret: string | undefined, { readOnlyOut = false } = {}) {
  const { env: host, out } = workerEnvironment(undefined);
  const variables = workerVariables('/iexec_in', '/iexec_out', secret);
  delete variables.PATH;
  const command = framework === 'TDX'
    ? [APP_IMAGE, ...REQUESTER_ARGS]
    : ['--entrypoint', JSON.stringify([...teeEnv().APP_ENTRYPOINT.split(' '), ...REQUESTER_ARGS]), APP_IMAGE];
  // -e NAME takes the value from podman's environment: the secret never shows on a command line.
  const run = await podmanImage(
    ['podman', 'run', '--rm', '--network', 'host',
      ...Object.keys(variables).flatMap((name) => ['-e', name]),
      '-v', `${out}:/iexec_out${readOnlyOut ? ':ro' : ''}`, '-v', `${host.IEXEC_IN}:/iexec_in`, ...command],
    variables,
  );
  const files = Object.fromEntries(readdirSync(out).map((name) => [name, readFileSync(join(out, name), 'utf8')]));
  return { ...run, out, files };
}

/** A path the container wrote (under /iexec_out), on the host. */
const onHost = (out: string, path: string) => {
  expect(path.startsWith('/iexec_out/')).toBe(true);
  return join(out, path.slice('/iexec_out/'.length));
};

describe.skipIf(image.skipped)(`the native image ${APP_IMAGE}, run as a worker runs it${image.skipped ? ` (SKIPPED: ${image.skipped})` : ''}`, () => {
  const secretFor = (key: string) => JSON.stringify({ endpoint: counter.url, namespace: 'image-run', key });

  it.each<Framework>(['TDX', 'SCONE'])('%s: counts one hit and writes result.txt and computed.json, with the requester args', async (framework) => {
    const before = counter.hits;
    const run = await runTask(framework, secretFor(`hits-${framework}`));
    expect(run).toMatchObject({ code: 0, stdout: 'endpoint hit 1 times\n', stderr: '' });
    expect(counter.hits - before).toBe(1);
    expect(run.files).toEqual({
      'result.txt': 'endpoint hit 1 times',
      'computed.json': '{"deterministic-output-path":"/iexec_out/result.txt"}',
    });
    const computed = JSON.parse(run.files['computed.json']!) as Record<string, string>;
    const digest = resultDigest(onHost(run.out, computed['deterministic-output-path']!));
    expect(digest).toBe(`0x${createHash('sha256').update('endpoint hit 1 times').digest('hex')}`);
  });

  it.each<Framework>(['TDX', 'SCONE'])('%s: no secret is SECRET_MISSING, exit code 2, reported in computed.json', async (framework) => {
    const before = counter.hits;
    const run = await runTask(framework, undefined);
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: `${MISSING_SECRET_LINE}\n` });
    expect(run.files).toEqual({
      'error.txt': MISSING_SECRET_LINE,
      'computed.json': JSON.stringify({ 'deterministic-output-path': '/iexec_out/error.txt', 'error-message': MISSING_SECRET_LINE }),
    });
    expect(counter.hits).toBe(before);
  });

  it('a read-only /iexec_out is OUTPUT_UNWRITABLE, exit code 8, before any hit', async () => {
    const before = counter.hits;
    const run = await runTask('TDX', secretFor('read-only'), { readOnlyOut: true });
    expect(run).toMatchObject({ code: 8, stdout: '', stderr: 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder\n', files: {} });
    expect(counter.hits).toBe(before);
  });
});

describe.skipIf(image.skipped)(`the native image ${APP_IMAGE}, as built${image.skipped ? ` (SKIPPED: ${image.skipped})` : ''}`, () => {
  it('adds to its base only /app/app.js, the bundle the other tests run, byte for byte', async () => {
    const diff = await podmanImage(['podman', 'image', 'diff', '--format', 'json', APP_IMAGE, baseImage()]);
    expect(diff.code).toBe(0);
    expect(JSON.parse(diff.stdout)).toEqual({ added: ['/app', '/app/app.js'] });
    const sum = await podmanImage(['podman', 'run', '--rm', '--network', 'none', '--entrypoint', 'sha256sum', APP_IMAGE, '/app/app.js']);
    expect(sum.stdout).toBe(`${createHash('sha256').update(readFileSync(BUNDLE)).digest('hex')}  /app/app.js\n`);
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
