import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getAddress } from 'ethers';
import { describe, expect, it } from 'vitest';
import { inputFileName, taskFolders, workerVariables, ZERO_ADDRESS, type Generation } from '../../../tools/worker/worker-env';

const folders = () => taskFolders(mkdtempSync(join(tmpdir(), 'worker-env-')));
const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'worker-env-file-')), 'f');
  writeFileSync(path, text);
  return path;
};
const names = (env: NodeJS.ProcessEnv) => Object.keys(env).filter((name) => name !== 'PATH').sort();

// The variables of iexec-common IexecEnvUtils.getComputeStageEnvMap for a task without input files.
const COMMON = ['IEXEC_BOT_FIRST_INDEX', 'IEXEC_BOT_SIZE', 'IEXEC_BOT_TASK_INDEX', 'IEXEC_DATASET_ADDRESS', 'IEXEC_DATASET_FILENAME', 'IEXEC_IN', 'IEXEC_INPUT_FILES_NUMBER', 'IEXEC_OUT', 'IEXEC_TASK_ID'];
const SECRETS = ['IEXEC_APP_DEVELOPER_SECRET', 'IEXEC_APP_DEVELOPER_SECRET_1'];
const V9 = ['IEXEC_DEAL_ID', 'IEXEC_TASK_INDEX'];

describe('the worker model', () => {
  it.each<[Generation, string[]]>([
    ['v9-tdx', [...COMMON, ...SECRETS, ...V9]],
    ['v8-tee', [...COMMON, ...SECRETS]],
    ['v8-standard', COMMON],
  ])('%s: exactly these variables for a task without dataset or input files', (generation, expected) => {
    const env = workerVariables(folders(), 'the-secret', { generation });
    expect(names(env)).toEqual([...expected].sort());
    expect(env).toMatchObject({ IEXEC_DATASET_ADDRESS: ZERO_ADDRESS, IEXEC_DATASET_FILENAME: ZERO_ADDRESS, IEXEC_INPUT_FILES_NUMBER: '0', IEXEC_BOT_SIZE: '1' });
    expect(env.IEXEC_TASK_ID).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('gives no developer secret variable when none was pushed', () => {
    expect(names(workerVariables(folders(), undefined))).not.toContain('IEXEC_APP_DEVELOPER_SECRET');
  });

  it('delivers a dataset as a file named by its address, in both variables', () => {
    const task = folders();
    const env = workerVariables(task, undefined, { dataset: file('data') });
    expect(env.IEXEC_DATASET_ADDRESS).toMatch(/^0x[0-9a-f]{40}$/);
    expect(env.IEXEC_DATASET_FILENAME).toBe(env.IEXEC_DATASET_ADDRESS);
    expect(readFileSync(join(task.input, env.IEXEC_DATASET_FILENAME!), 'utf8')).toBe('data');
  });

  it('names input files after their URL, with the folder only when there are some', () => {
    const task = folders();
    const [a, b] = [file('a'), file('b')];
    const env = workerVariables(task, undefined, { inputFiles: [a, b] });
    expect(env).toMatchObject({ IEXEC_INPUT_FILES_NUMBER: '2', IEXEC_INPUT_FILES_FOLDER: task.input, IEXEC_INPUT_FILE_NAME_1: inputFileName(`file://${resolve(a)}`) });
    expect(readFileSync(join(task.input, env.IEXEC_INPUT_FILE_NAME_2!), 'utf8')).toBe('b');
  });

  it('gives requester secrets to TEE tasks only', () => {
    const requesterSecrets = new Map([[2, 'r2']]);
    expect(workerVariables(folders(), undefined, { requesterSecrets }).IEXEC_REQUESTER_SECRET_2).toBe('r2');
    expect(workerVariables(folders(), undefined, { requesterSecrets, generation: 'v8-standard' }).IEXEC_REQUESTER_SECRET_2).toBeUndefined();
  });

  it('places the task in its bag: IEXEC_TASK_INDEX is the BoT index (v9)', () => {
    const env = workerVariables(folders(), undefined, { bot: { size: 4, firstIndex: 2, index: 3 } });
    expect(env).toMatchObject({ IEXEC_BOT_SIZE: '4', IEXEC_BOT_FIRST_INDEX: '2', IEXEC_BOT_TASK_INDEX: '3', IEXEC_TASK_INDEX: '3' });
  });

  it('delivers a bulk request: the slice size, each dataset named by its address; v9-tdx only', () => {
    const task = folders();
    const env = workerVariables(task, undefined, { bulk: [file('one'), file('two')] });
    expect(env.IEXEC_BULK_SLICE_SIZE).toBe('2');
    // Mixed case as the SDK writes the slice's dataset orders: ethers (iexec's own dependency) agrees.
    for (const name of [env.IEXEC_DATASET_1_FILENAME!, env.IEXEC_DATASET_2_FILENAME!]) expect(getAddress(name)).toBe(name);
    expect(readFileSync(join(task.input, env.IEXEC_DATASET_2_FILENAME!), 'utf8')).toBe('two');
    expect(existsSync(join(task.input, env.IEXEC_DATASET_1_FILENAME!))).toBe(true);
    expect(() => workerVariables(folders(), undefined, { bulk: [file('x')], generation: 'v8-tee' })).toThrow(/v9-tdx/);
  });
});
