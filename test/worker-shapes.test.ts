/**
 * The guard against a plumbing that refuses what a worker sends: each app's real bundle run under
 * each worker generation's full environment (tools/worker/worker-env.ts, the model read from iExec's
 * code), for the common shapes of a task. A task a worker would run must succeed; only what the
 * generation cannot give (a secret, on a standard task) may fail, with its own code.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATIONS, ZERO_ADDRESS, type TaskFiles } from '../tools/worker/worker-env';
import { APPS } from './helpers/apps';
import { bundleAgainstStandIn, demoEnvironment, demoFiles, runChild } from './helpers/worker';
import { expectSuccess } from './helpers/output';
import { TASK_ERRORS } from '../src/errors';

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'shape-')), name);
  writeFileSync(path, text);
  return path;
}

// Each shape adds to the app's demo task (`demo`, its own files), so that what the app needs stays.
const SHAPES: Record<string, (demo: TaskFiles) => TaskFiles> = {
  'the demo task as it is': () => ({}),
  'a dataset': (demo) => ({ dataset: demo.dataset ?? file('dataset.bin', 'dataset bytes') }),
  'two more input files': (demo) => ({ inputFiles: [...(demo.inputFiles ?? []), file('a.txt', 'brevity\n'), file('b.txt', 'second')] }),
  'more requester secrets': (demo) => ({ requesterSecrets: new Map([...(demo.requesterSecrets ?? []), [7, 'requester-seven'], [9, 'requester-nine']]) }),
  'the third task of a bag of five': () => ({ bot: { size: 5, firstIndex: 0, index: 2 } }),
  'everything at once': (demo) => ({
    dataset: demo.dataset ?? file('dataset.bin', 'dataset bytes'),
    inputFiles: [...(demo.inputFiles ?? []), file('a.txt', 'brevity\n')],
    requesterSecrets: new Map([...(demo.requesterSecrets ?? []), [7, 'requester-seven']]),
    bot: { size: 3, firstIndex: 6, index: 7 },
  }),
};
const CASES = GENERATIONS.flatMap((generation) => Object.keys(SHAPES).map((shape) => ({ generation, shape })));

describe.each(APPS)('$label, under every worker generation', (app) => {
  const { demo } = app;
  const bundle = bundleAgainstStandIn(app);

  it.each(CASES)('$generation: $shape', async ({ generation, shape }) => {
    const { env, out } = await demoEnvironment(app, bundle.upstream.url, { ...SHAPES[shape]!(await demoFiles(app)), generation });
    if (demo.protectedData === undefined && shape === 'the demo task as it is') expect([env.IEXEC_DATASET_ADDRESS, env.IEXEC_DATASET_FILENAME]).toEqual([ZERO_ADDRESS, ZERO_ADDRESS]);
    const run = await runChild(bundle.appDir, env, { args: demo.args });
    // A standard task has no secret service: an app that needs a secret says so, with its code.
    if (generation === 'v8-standard' && app.app.secret !== undefined) {
      expect([run.code, run.stderr]).toEqual([TASK_ERRORS.SECRET_MISSING, expect.stringMatching(/^SECRET_MISSING: [^\n]*\n$/)]);
    } else if (generation === 'v8-standard' && Object.keys(demo.requesterSecrets ?? {}).length > 0) {
      // Nor requester secrets: the demo gives them because the app needs them.
      expect([run.code, run.stderr]).toEqual([TASK_ERRORS.REQUESTER_SECRET_MISSING, expect.stringMatching(/^REQUESTER_SECRET_MISSING: [^\n]*\n$/)]);
    } else {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expectSuccess(run.files, out);
    }
  });

  it('v9-tdx: a bulk task of three datasets, besides the zero address of its own', async () => {
    // The demo's protected data three times for an app that reads them; any files for one that does not.
    const { dataset } = await demoFiles(app);
    const bulk = dataset === undefined ? ['one', 'two', 'three'].map((n) => file(n, n)) : [dataset, dataset, dataset];
    const { env, out } = await demoEnvironment(app, bundle.upstream.url, { bulk, dataset: undefined });
    expect(env.IEXEC_BULK_SLICE_SIZE).toBe('3');
    expect(env.IEXEC_DATASET_FILENAME).toBe(ZERO_ADDRESS);
    const run = await runChild(bundle.appDir, env, { args: demo.args });
    expect([run.code, run.stderr]).toEqual([0, '']);
    const { resultFiles } = expectSuccess(run.files, out);
    if (app.app.protectedData?.bulk === 'per-item') {
      expect(JSON.parse(resultFiles['result.txt']!)).toMatchObject({ 'total-count': 3, 'success-count': 3, 'error-count': 0 });
    }
  });
});
