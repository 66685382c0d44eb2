import { chmodSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
