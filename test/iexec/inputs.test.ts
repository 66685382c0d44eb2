import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { readInputs } from '../../src/iexec/inputs';
import { failureOf } from '../helpers/errors';

const ZERO = `0x${'0'.repeat(40)}`;
// Not the zero address by one digit: a dataset.
const DATASET = `0x${'0'.repeat(39)}1`;

let input: string;
beforeEach(() => {
  input = mkdtempSync(join(tmpdir(), 'iexec-in-'));
});

const files = (...names: string[]): NodeJS.ProcessEnv => ({
  IEXEC_IN: input,
  IEXEC_INPUT_FILES_FOLDER: input,
  IEXEC_INPUT_FILES_NUMBER: String(names.length),
  ...Object.fromEntries(names.map((name, i) => [`IEXEC_INPUT_FILE_NAME_${i + 1}`, name])),
});

describe('readInputs', () => {
  it('has nothing to read for a task without input files or dataset', () => {
    expect(readInputs({ IEXEC_INPUT_FILES_NUMBER: '0', IEXEC_DATASET_FILENAME: '' })).toEqual({ inputFiles: [], dataset: undefined, bulk: [] });
    expect(readInputs({})).toEqual({ inputFiles: [], dataset: undefined, bulk: [] });
  });

  // What a worker sends for a task without a dataset: both variables set to the zero address
  // (iexec-common IexecEnvUtils.getComputeStageEnvMap), whatever its case.
  it.each([
    ['both the zero address', { IEXEC_DATASET_ADDRESS: ZERO, IEXEC_DATASET_FILENAME: ZERO }],
    ['both the zero address, upper-case hex', { IEXEC_DATASET_ADDRESS: ZERO.toUpperCase().replace('0X', '0x'), IEXEC_DATASET_FILENAME: ZERO.toUpperCase().replace('0X', '0x') }],
    ['only the address, zero', { IEXEC_DATASET_ADDRESS: ZERO }],
    ['only the file name, zero', { IEXEC_DATASET_FILENAME: ZERO }],
    ['the address zero, a file name', { IEXEC_DATASET_ADDRESS: ZERO, IEXEC_DATASET_FILENAME: '0xdataset' }],
    ['the file name zero, an address', { IEXEC_DATASET_ADDRESS: DATASET, IEXEC_DATASET_FILENAME: ZERO }],
    ['both empty', { IEXEC_DATASET_ADDRESS: '', IEXEC_DATASET_FILENAME: '' }],
  ])('reads no dataset when the dataset variables are %s', (_, variables) => {
    expect(readInputs({ IEXEC_INPUT_FILES_NUMBER: '0', ...variables })).toEqual({ inputFiles: [], dataset: undefined, bulk: [] });
    writeFileSync(join(input, 'f'), 'x');
    expect(readInputs({ ...files('f'), ...variables }).dataset).toBeUndefined();
  });

  it('takes only the whole zero address for none: a name merely holding it is a dataset', async () => {
    for (const name of [`a${ZERO}`, `${ZERO}a`]) {
      writeFileSync(join(input, name), 'data');
      expect(readInputs({ IEXEC_IN: input, IEXEC_DATASET_ADDRESS: name, IEXEC_DATASET_FILENAME: name }).dataset).toBe(join(input, name));
    }
  });

  it('reads a dataset named by the address, with or without IEXEC_DATASET_ADDRESS', () => {
    writeFileSync(join(input, DATASET), 'data');
    expect(readInputs({ IEXEC_IN: input, IEXEC_DATASET_ADDRESS: DATASET, IEXEC_DATASET_FILENAME: DATASET }).dataset).toBe(join(input, DATASET));
    expect(readInputs({ IEXEC_IN: input, IEXEC_DATASET_ADDRESS: '', IEXEC_DATASET_FILENAME: DATASET }).dataset).toBe(join(input, DATASET));
  });

  it('takes a name that merely starts with dots, inside IEXEC_IN and in a sub-folder starting so', () => {
    writeFileSync(join(input, '..data'), 'x');
    expect(readInputs(files('..data')).inputFiles[0]!.path).toBe(join(input, '..data'));
    for (const folder of ['..in', 'in..']) {
      mkdirSync(join(input, folder));
      writeFileSync(join(input, folder, 'f'), 'x');
      expect(readInputs({ ...files('f'), IEXEC_INPUT_FILES_FOLDER: join(input, folder) }).inputFiles[0]!.path).toBe(join(input, folder, 'f'));
    }
  });

  it('lists the input files in order, as paths inside IEXEC_IN', () => {
    writeFileSync(join(input, 'b'), 'second');
    writeFileSync(join(input, '0xabc'), 'first');
    expect(readInputs(files('0xabc', 'b')).inputFiles).toEqual([
      { index: 1, name: '0xabc', path: join(input, '0xabc') },
      { index: 2, name: 'b', path: join(input, 'b') },
    ]);
  });

  it('finds the dataset under IEXEC_IN', () => {
    writeFileSync(join(input, '0xdataset'), 'data');
    expect(readInputs({ IEXEC_IN: input, IEXEC_DATASET_FILENAME: '0xdataset' }).dataset).toBe(join(input, '0xdataset'));
  });

  it('takes IEXEC_INPUT_FILES_FOLDER empty as IEXEC_IN, and a name starting with a dot as any other', () => {
    writeFileSync(join(input, '.hidden'), 'data');
    expect(readInputs({ ...files('.hidden'), IEXEC_INPUT_FILES_FOLDER: '' }).inputFiles).toEqual([{ index: 1, name: '.hidden', path: join(input, '.hidden') }]);
  });

  it('takes a count of up to 9999 files (1000 here: the first name is then missing)', async () => {
    expect((await failureOf(() => readInputs({ ...files(), IEXEC_INPUT_FILES_NUMBER: '1000' }))).message).toBe('input file 1 has no usable file name');
  });

  it.each(['01', '10000', 'x1', '1x', ' 1', ''])('refuses the count %j', async (count) => {
    const error = await failureOf(() => readInputs({ ...files(), IEXEC_INPUT_FILES_NUMBER: count }));
    expect(error.line).toBe('INPUT_INVALID: IEXEC_INPUT_FILES_NUMBER is not a number of files');
  });

  it.each([
    ['a count that is not a number', () => ({ ...files(), IEXEC_INPUT_FILES_NUMBER: 'two' }), 'IEXEC_INPUT_FILES_NUMBER is not a number of files'],
    ['a negative count', () => ({ ...files(), IEXEC_INPUT_FILES_NUMBER: '-1' }), 'IEXEC_INPUT_FILES_NUMBER is not a number of files'],
    ['a name missing', () => ({ ...files(), IEXEC_INPUT_FILES_NUMBER: '1' }), 'input file 1 has no usable file name'],
    ['a file missing', () => files('0xmissing-secret-name'), 'input file 1 is missing'],
    ['a name that climbs out', () => files('../etc-passwd-secret'), 'input file 1 has no usable file name'],
    ['a name with a folder', () => files('sub/secret-file'), 'input file 1 has no usable file name'],
    ['a name that is ..', () => files('..'), 'input file 1 has no usable file name'],
    ['a name that is .', () => files('.'), 'input file 1 has no usable file name'],
    ['a name with a backslash', () => files('sub\\secret-file'), 'input file 1 has no usable file name'],
    ['a name with a NUL', () => files('secret\0file'), 'input file 1 has no usable file name'],
    ['an input folder that is a file', () => (writeFileSync(join(input, 'file-secret'), ''), { ...files('x'), IEXEC_INPUT_FILES_FOLDER: join(input, 'file-secret') }), 'IEXEC_INPUT_FILES_FOLDER is not a folder'],
    ['IEXEC_IN a file', () => (writeFileSync(join(input, 'file-secret'), ''), { ...files('x'), IEXEC_IN: join(input, 'file-secret') }), 'IEXEC_IN is not a folder'],
    ['a folder', () => (mkdirSync(join(input, 'folder-secret')), files('folder-secret')), 'input file 1 is not a regular file inside IEXEC_IN'],
    ['a link out of IEXEC_IN', () => (symlinkSync('/etc/hostname', join(input, 'link-secret')), files('link-secret')), 'input file 1 is not a regular file inside IEXEC_IN'],
    ['IEXEC_IN unset', () => ({ ...files('x'), IEXEC_IN: undefined }), 'IEXEC_IN is not set'],
    ['IEXEC_IN missing', () => ({ ...files('x'), IEXEC_IN: join(input, 'nowhere-secret') }), 'IEXEC_IN is not a folder'],
    ['an input folder outside IEXEC_IN', () => ({ ...files('x'), IEXEC_INPUT_FILES_FOLDER: tmpdir() }), 'IEXEC_INPUT_FILES_FOLDER is not inside IEXEC_IN'],
    ['a dataset missing', () => ({ IEXEC_IN: input, IEXEC_DATASET_FILENAME: '0xdataset-secret' }), 'the dataset is missing'],
    ['a dataset address without a file name', () => ({ IEXEC_IN: input, IEXEC_DATASET_ADDRESS: DATASET, IEXEC_DATASET_FILENAME: '' }), 'the dataset has no usable file name'],
    ['a dataset address, no file name variable', () => ({ IEXEC_IN: input, IEXEC_DATASET_ADDRESS: DATASET }), 'the dataset has no usable file name'],
    ['a dataset named by an address, missing', () => ({ IEXEC_IN: input, IEXEC_DATASET_ADDRESS: DATASET, IEXEC_DATASET_FILENAME: DATASET }), 'the dataset is missing'],
    ['a dataset out of IEXEC_IN', () => ({ IEXEC_IN: input, IEXEC_DATASET_FILENAME: '../dataset-secret' }), 'the dataset has no usable file name'],
  ])('refuses %s without naming the file', async (_, env, message) => {
    const error = await failureOf(() => readInputs(env()));
    expect(error.line).toBe(`INPUT_INVALID: ${message}`);
    expect(error.exitCode).toBe(10);
    expect(error.message).not.toMatch(/secret|etc|\//);
  });
});

describe('readInputs, for a bulk task (IEXEC_BULK_SLICE_SIZE, IEXEC_DATASET_<i>_FILENAME)', () => {
  // Mixed case, as the SDK's prepareDatasetBulk writes a slice's addresses (EIP-55).
  const ONE = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
  const TWO = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
  const bulk = (...names: string[]): NodeJS.ProcessEnv => ({
    IEXEC_IN: input,
    IEXEC_DATASET_ADDRESS: ZERO,
    IEXEC_DATASET_FILENAME: ZERO,
    IEXEC_BULK_SLICE_SIZE: String(names.length),
    ...Object.fromEntries(names.map((name, i) => [`IEXEC_DATASET_${i + 1}_FILENAME`, name])),
  });

  it('reads each item by its address, in order, besides the task\'s own zero-address dataset', () => {
    for (const name of [ONE, TWO]) writeFileSync(join(input, name), name);
    expect(readInputs(bulk(ONE, TWO))).toEqual({
      inputFiles: [],
      dataset: undefined,
      bulk: [
        { index: 1, address: ONE, path: join(input, ONE) },
        { index: 2, address: TWO, path: join(input, TWO) },
      ],
    });
  });

  it('reads no bulk for 0 or no slice size (iapp sets 0 for a task that is not bulk)', () => {
    expect(readInputs({ ...bulk(), IEXEC_BULK_SLICE_SIZE: '0' }).bulk).toEqual([]);
    const none = bulk(ONE);
    delete none.IEXEC_BULK_SLICE_SIZE;
    expect(readInputs(none).bulk).toEqual([]);
  });

  it('keeps an item the worker did not deliver, without a file: it fails alone, when read', () => {
    writeFileSync(join(input, ONE), 'one');
    expect(readInputs(bulk(ONE, TWO)).bulk).toEqual([
      { index: 1, address: ONE, path: join(input, ONE) },
      { index: 2, address: TWO, path: undefined },
    ]);
  });

  it('never opens nor repeats a name that is not an address, nor follows an item out of IEXEC_IN', () => {
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    writeFileSync(join(outside, 'secret'), 'x');
    symlinkSync(join(outside, 'secret'), join(input, TWO));
    const items = readInputs(bulk('../outside/secret', '', TWO)).bulk;
    expect(items).toEqual([
      { index: 1, address: '', path: undefined },
      { index: 2, address: '', path: undefined },
      { index: 3, address: TWO, path: undefined },
    ]);
  });

  it('reads only a whole address as one: nothing before or after it', () => {
    for (const name of [`x${ONE}`, `${ONE}x`]) writeFileSync(join(input, name), 'x');
    expect(readInputs(bulk(`x${ONE}`, `${ONE}x`)).bulk).toEqual([
      { index: 1, address: '', path: undefined },
      { index: 2, address: '', path: undefined },
    ]);
  });

  it.each(['-1', '1.5', 'two', '01', '10000', ' 1'])('refuses a slice size of %j with INPUT_INVALID, without repeating it', async (size) => {
    const failure = await failureOf(() => readInputs({ ...bulk(ONE), IEXEC_BULK_SLICE_SIZE: size }));
    expect(failure.line).toBe('INPUT_INVALID: IEXEC_BULK_SLICE_SIZE is not a number of datasets');
  });
});
