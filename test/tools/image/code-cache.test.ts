import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { codeCacheProbe } from '../../../tools/image/code-cache-probe';
import { IMAGE_APP_BUDGET_BYTES } from '../../../tools/image/image-app';
import { APPS } from '../../helpers/apps';
import { expectSuccess } from '../../helpers/output';
import { bundleAgainstStandIn, demoEnvironment, runChild } from '../../helpers/worker';

let probe: string;
beforeAll(() => {
  probe = join(mkdtempSync(join(tmpdir(), 'probe-')), 'code-cache.cjs');
  writeFileSync(probe, codeCacheProbe());
});

describe.each(APPS)("the image's app.js of $label (the bundle with the code cache this node made)", (app) => {
  const { demo } = app;
  const bundle = bundleAgainstStandIn(app);
  const task = async () => (await demoEnvironment(app, bundle.upstream.url)).env;

  it('has its code cache accepted when run with the entrypoint flags', async () => {
    const run = await runChild(bundle.appDir, await task(), { args: demo.args, nodeArgs: ['--require', probe] });
    expect(run).toMatchObject({ code: 0, stderr: 'code cache: accepted\n' });
  });

  it('still runs the task when V8 rejects the cache (here: one more V8 flag than it was made with)', async () => {
    const env = await task();
    const run = await runChild(bundle.appDir, env, { args: demo.args, nodeArgs: ['--require', probe, '--no-lazy-feedback-allocation'] });
    expect(run).toMatchObject({ code: 0, stderr: 'code cache: rejected\n' });
    expectSuccess(run.files, env.IEXEC_OUT!);
  });

  it(`is at most ${IMAGE_APP_BUDGET_BYTES / 1024} KiB`, () => {
    expect(statSync(join(bundle.appDir, 'app.js')).size).toBeLessThanOrEqual(IMAGE_APP_BUDGET_BYTES);
  });
});
