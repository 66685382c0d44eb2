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
import { bundleAgainstStandIn, demoEnvironment, runChild } from './helpers/worker';

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'shape-')), name);
  writeFileSync(path, text);
  return path;
}

const SHAPES: Record<string, () => TaskFiles> = {
  'no dataset, no input file': () => ({}),
  'a dataset': () => ({ dataset: file('dataset.bin', 'dataset bytes') }),
  'two input files': () => ({ inputFiles: [file('a.txt', 'brevity\n'), file('b.txt', 'second')] }),
  'requester secrets': () => ({ requesterSecrets: new Map([[1, 'requester-one'], [3, 'requester-three']]) }),
  'the third task of a bag of five': () => ({ bot: { size: 5, firstIndex: 0, index: 2 } }),
  'everything at once': () => ({
    dataset: file('dataset.bin', 'dataset bytes'),
    inputFiles: [file('a.txt', 'brevity\n')],
    requesterSecrets: new Map([[1, 'requester-one']]),
  }),
};
const CASES = GENERATIONS.flatMap((generation) => Object.keys(SHAPES).map((shape) => ({ generation, shape })));

describe.each(APPS)('$label, under every worker generation', (app) => {
  const { demo } = app;
  const bundle = bundleAgainstStandIn(app);

  it.each(CASES)('$generation: $shape', async ({ generation, shape }) => {
    const { env } = await demoEnvironment(app, bundle.upstream.url, { ...SHAPES[shape]!(), generation });
    if (shape === 'no dataset, no input file') expect([env.IEXEC_DATASET_ADDRESS, env.IEXEC_DATASET_FILENAME]).toEqual([ZERO_ADDRESS, ZERO_ADDRESS]);
    const run = await runChild(bundle.appDir, env, { args: demo.args });
    if (generation === 'v8-standard') {
      // A standard task has no secret service: this app needs its secret, and says so.
      expect(run.stderr).toMatch(/^SECRET_MISSING: /);
      expect(run.code).toBe(2);
    } else {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(Object.keys(run.files).sort()).toEqual(['computed.json', 'result.txt']);
    }
  });

  it('v9-tdx: a bulk task of three datasets, besides the zero address of its own', async () => {
    const { env } = await demoEnvironment(app, bundle.upstream.url, { bulk: ['one', 'two', 'three'].map((n) => file(n, n)) });
    expect(env.IEXEC_BULK_SLICE_SIZE).toBe('3');
    expect(env.IEXEC_DATASET_FILENAME).toBe(ZERO_ADDRESS);
    const run = await runChild(bundle.appDir, env, { args: demo.args });
    expect([run.code, run.stderr]).toEqual([0, '']);
  });
});
