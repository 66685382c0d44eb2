/** The example app's own end-to-end behaviour: the real bundle against the counter's stand-in. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandInServer } from '../../tools/worker/stand-in-server';
import { serveDemoStandIn } from '../../tools/worker/demo-task';
import { EXAMPLE_APP } from '../helpers/apps';
import { installBundleAlone, runChild, workerEnvironment } from '../helpers/worker';

let upstream: StandInServer;
let appDir: string;
beforeAll(async () => {
  upstream = await serveDemoStandIn(EXAMPLE_APP.demo);
  appDir = installBundleAlone();
});
afterAll(() => upstream.close());
const secretFor = (fields: Record<string, string> = {}) => JSON.stringify({ endpoint: upstream.url, namespace: 'e2e-app', key: 'hits', ...fields });

describe('the counter bundle', () => {
  it('counts on: a second task sees the next value, and --key picks another counter', async () => {
    await runChild(appDir, workerEnvironment(secretFor({ key: 'twice' })).env);
    const second = await runChild(appDir, workerEnvironment(secretFor({ key: 'twice' })).env);
    expect(second).toMatchObject({ code: 0, stdout: 'endpoint hit 2 times\n' });
    expect(second.files['result.txt']).toBe('endpoint hit 2 times');
    const other = await runChild(appDir, workerEnvironment(secretFor({ key: 'twice' })).env, { args: ['--key', 'another'] });
    expect(other.files['result.txt']).toBe('endpoint hit 1 times');
    expect(upstream.requests.at(-1)!.url).toBe('/hit/e2e-app/another');
  });

  it('refuses a --key that breaks the counter rule, without repeating it', async () => {
    const run = await runChild(appDir, workerEnvironment(secretFor()).env, { args: ['--key', 'no/slashes-canary'] });
    expect(run).toMatchObject({ code: 9, stderr: 'ARGS_INVALID: option --key must be 3 to 64 characters among A-Z a-z 0-9 _ - .\n' });
  });

  it('sends the token as a Bearer header and nowhere else', async () => {
    await runChild(appDir, workerEnvironment(secretFor({ key: 'with-token', token: 'tok-e2e-123' })).env);
    const request = upstream.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'GET', url: '/hit/e2e-app/with-token' });
    expect(request.headers.authorization).toBe('Bearer tok-e2e-123');
  });
});
