import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors';
import { resolveOutputDir, writeFailure, writeResult } from '../../src/iexec/output';
import { failureOf } from '../helpers/errors';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iexec-out-'));
});

const read = (name: string) => readFileSync(join(dir, name), 'utf8');
const isRoot = process.getuid?.() === 0;

describe('resolveOutputDir', () => {
  it('returns IEXEC_OUT when it is a writable folder', () => {
    expect(resolveOutputDir({ IEXEC_OUT: dir })).toBe(dir);
  });

  it.each([
    ['unset', {}, 'OUTPUT_UNWRITABLE: IEXEC_OUT is not set'],
    ['missing', { IEXEC_OUT: '/nonexistent/iexec_out' }, 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder'],
    ['a file', { IEXEC_OUT: '/etc/hostname' }, 'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder'],
  ])('refuses IEXEC_OUT %s', (_, env, line) => {
    expect(() => resolveOutputDir(env)).toThrow(AppError);
    try {
      resolveOutputDir(env);
    } catch (error) {
      expect((error as AppError).line).toBe(line);
      expect((error as AppError).exitCode).toBe(8);
    }
  });

  it.skipIf(isRoot)('refuses a read-only IEXEC_OUT', () => {
    chmodSync(dir, 0o500);
    expect(() => resolveOutputDir({ IEXEC_OUT: dir })).toThrow('IEXEC_OUT is not a writable folder');
  });
});

describe('writeResult', () => {
  it('writes result.txt, then a computed.json pointing at it, and no temporary file', () => {
    writeResult(dir, 'endpoint hit 3 times');
    expect(read('result.txt')).toBe('endpoint hit 3 times');
    expect(read('computed.json')).toBe(JSON.stringify({ 'deterministic-output-path': join(dir, 'result.txt') }));
    expect(readdirSync(dir).sort()).toEqual(['computed.json', 'result.txt']);
  });

  it('refuses an empty result, which iExec cannot publish, and writes nothing', async () => {
    const error = await failureOf(() => writeResult(dir, ''));
    expect([error.line, error.exitCode]).toEqual(['RESULT_EMPTY: the result is empty, and iExec publishes no empty file (return at least one byte)', 13]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports OUTPUT_UNWRITABLE and leaves no computed.json when result.txt cannot be written', () => {
    // A folder in the way of result.txt makes the rename fail, even for root.
    const blocked = mkdtempSync(join(tmpdir(), 'iexec-out-'));
    writeFileSync(join(blocked, 'placeholder'), '');
    const target = join(dir, 'result.txt');
    renameSync(blocked, target);
    expect(() => writeResult(dir, 'x')).toThrow(AppError);
    try {
      writeResult(dir, 'x');
    } catch (error) {
      // The system's code says why; nothing else of the error is kept.
      expect((error as AppError).line).toBe('OUTPUT_UNWRITABLE: cannot write result.txt in IEXEC_OUT (EISDIR)');
    }
    expect(readdirSync(dir)).toEqual(['result.txt']);
  });
});

describe('writeFailure', () => {
  it('writes error.txt and a computed.json that carries the error, and removes result.txt', () => {
    writeResult(dir, 'endpoint hit 3 times');
    writeFailure(dir, 'COUNTER_TIMEOUT: counter did not answer in time');
    expect(read('error.txt')).toBe('COUNTER_TIMEOUT: counter did not answer in time');
    expect(JSON.parse(read('computed.json'))).toEqual({
      'deterministic-output-path': join(dir, 'error.txt'),
      'error-message': 'COUNTER_TIMEOUT: counter did not answer in time',
    });
    expect(readdirSync(dir).sort()).toEqual(['computed.json', 'error.txt']);
  });
});

describe('planted files: output is created, never followed, and never lands outside IEXEC_OUT', () => {
  /** Something planted in IEXEC_OUT before the app writes: a link out (to a file, or to nothing yet), a file, a folder. */
  const PLANTS = {
    'a link to a file outside': (path: string, outside: string) => (writeFileSync(outside, 'outside, untouched'), symlinkSync(outside, path)),
    'a link to a missing file outside': (path: string, outside: string) => symlinkSync(outside, path),
    'a file': (path: string) => writeFileSync(path, 'planted'),
    'a folder': (path: string) => mkdirSync(path),
  };
  const outsideState = (outside: string) => (existsSync(outside) ? readFileSync(outside, 'utf8') : 'absent');
  const plantedState = (path: string) => (lstatSync(path).isSymbolicLink() ? `link to ${readlinkSync(path)}` : lstatSync(path).isDirectory() ? 'folder' : readFileSync(path, 'utf8'));

  const cases = [
    // What is written, the planted name, the file refused, and the files written before it.
    ['writeResult', '.result.txt.tmp', 'result.txt', [], () => writeResult(dir, 'endpoint hit 3 times')],
    ['writeResult', '.computed.json.tmp', 'computed.json', ['result.txt'], () => writeResult(dir, 'endpoint hit 3 times')],
    ['writeFailure', '.error.txt.tmp', 'error.txt', [], () => writeFailure(dir, 'SECRET_MISSING: x')],
    ['writeFailure', '.computed.json.tmp', 'computed.json', ['error.txt'], () => writeFailure(dir, 'SECRET_MISSING: x')],
  ] as const;
  it.each(cases.flatMap(([fn, temporary, name, written, write]) => Object.entries(PLANTS).map(([plant, make]) => ({ fn, temporary, name, written, write, plant, make }))))(
    '$fn refuses $plant at $temporary (OUTPUT_UNWRITABLE, EEXIST), writes nothing through it and leaves it as it was',
    ({ temporary, name, written, write, make }) => {
      const outside = join(mkdtempSync(join(tmpdir(), 'outside-')), 'target');
      make(join(dir, temporary), outside);
      const before = { outside: outsideState(outside), planted: plantedState(join(dir, temporary)) };
      const error = (() => {
        try {
          write();
        } catch (caught) {
          return caught as AppError;
        }
        throw new Error('expected OUTPUT_UNWRITABLE');
      })();
      expect(error.line).toBe(`OUTPUT_UNWRITABLE: cannot write ${name} in IEXEC_OUT (EEXIST)`);
      expect(error.exitCode).toBe(8);
      expect({ outside: outsideState(outside), planted: plantedState(join(dir, temporary)) }).toEqual(before);
      expect(readdirSync(dir).sort()).toEqual([temporary, ...written].sort());
    },
  );

  it.each([
    ['result.txt', () => writeResult(dir, 'endpoint hit 3 times')],
    ['computed.json', () => writeResult(dir, 'endpoint hit 3 times')],
    ['error.txt', () => writeFailure(dir, 'SECRET_MISSING: x')],
  ] as const)('replaces a link planted at %s by the file itself, and leaves its target alone', (name, write) => {
    const outside = join(mkdtempSync(join(tmpdir(), 'outside-')), 'target');
    writeFileSync(outside, 'outside, untouched');
    symlinkSync(outside, join(dir, name));
    write();
    expect(lstatSync(join(dir, name)).isFile()).toBe(true);
    expect(readFileSync(outside, 'utf8')).toBe('outside, untouched');
  });

  it('removes a link planted at result.txt on failure, not its target', () => {
    const outside = join(mkdtempSync(join(tmpdir(), 'outside-')), 'target');
    writeFileSync(outside, 'outside, untouched');
    symlinkSync(outside, join(dir, 'result.txt'));
    writeFailure(dir, 'SECRET_MISSING: x');
    expect(readdirSync(dir).sort()).toEqual(['computed.json', 'error.txt']);
    expect(readFileSync(outside, 'utf8')).toBe('outside, untouched');
  });
});
