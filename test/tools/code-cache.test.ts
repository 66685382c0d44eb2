import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeCacheProbe } from '../../tools/code-cache-probe';
import { startCounter, type Counter } from '../../tools/counter-server';
import { IMAGE_APP_BUDGET_BYTES } from '../../tools/image-app';
import { installBundleAlone, runChild, workerEnvironment } from '../helpers/worker';

let counter: Counter;
let appDir: string;
let probe: string;
beforeAll(async () => {
  counter = await startCounter();
  appDir = installBundleAlone();
  probe = join(mkdtempSync(join(tmpdir(), 'probe-')), 'code-cache.cjs');
  writeFileSync(probe, codeCacheProbe());
});
afterAll(() => counter.close());

const task = (key: string) => workerEnvironment(JSON.stringify({ endpoint: counter.url, namespace: 'code-cache', key })).env;

describe("the image's app.js (the bundle with the code cache this node made)", () => {
  it('has its code cache accepted when run with the entrypoint flags', async () => {
    const run = await runChild(appDir, task('accepted'), { nodeArgs: ['--require', probe] });
    expect(run).toMatchObject({ code: 0, stdout: 'endpoint hit 1 times\n', stderr: 'code cache: accepted\n' });
  });

  it('still runs the task when V8 rejects the cache (here: one more V8 flag than it was made with)', async () => {
    const run = await runChild(appDir, task('rejected'), { nodeArgs: ['--require', probe, '--no-lazy-feedback-allocation'] });
    expect(run).toMatchObject({ code: 0, stdout: 'endpoint hit 1 times\n', stderr: 'code cache: rejected\n' });
  });

  it(`is at most ${IMAGE_APP_BUDGET_BYTES / 1024} KiB`, () => {
    expect(statSync(join(appDir, 'app.js')).size).toBeLessThanOrEqual(IMAGE_APP_BUDGET_BYTES);
  });
});
