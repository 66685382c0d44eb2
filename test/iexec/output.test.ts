import { keccak_256 } from '@noble/hashes/sha3.js';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors';
import type { TaskResult } from '../../src/iexec/app';
import { resolveOutputDir, writeFailure, writeResult } from '../../src/iexec/output';
import { checkOutput } from '../../tools/worker/check-output';
import { failureOf } from '../helpers/errors';
import { readOutput } from '../helpers/output';

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

describe('writeResult, a text result', () => {
  it('writes result.txt, then a computed.json pointing at it, and no temporary file', async () => {
    await writeResult(dir, { result: 'endpoint hit 3 times' });
    expect(read('result.txt')).toBe('endpoint hit 3 times');
    expect(read('computed.json')).toBe(JSON.stringify({ 'deterministic-output-path': join(dir, 'result.txt') }));
    expect(readdirSync(dir).sort()).toEqual(['computed.json', 'result.txt']);
  });

  it('refuses an empty result, which iExec cannot publish, and writes nothing', async () => {
    const error = await failureOf(() => writeResult(dir, { result: '' }));
    expect([error.line, error.exitCode]).toEqual(['RESULT_EMPTY: the result is empty, and iExec publishes no empty file (return at least one byte)', 13]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports OUTPUT_UNWRITABLE and leaves no computed.json when result.txt cannot be written', async () => {
    // A folder in the way of result.txt makes the rename fail, even for root.
    const blocked = mkdtempSync(join(tmpdir(), 'iexec-out-'));
    writeFileSync(join(blocked, 'placeholder'), '');
    const target = join(dir, 'result.txt');
    renameSync(blocked, target);
    // The system's code says why; nothing else of the error is kept.
    expect((await failureOf(() => writeResult(dir, { result: 'x' }))).line).toBe('OUTPUT_UNWRITABLE: cannot write result.txt in IEXEC_OUT (EISDIR)');
    expect(readdirSync(dir)).toEqual(['result.txt']);
  });
});

describe('writeFailure', () => {
  it('writes error.txt and a computed.json that carries the error, and removes result.txt', async () => {
    await writeResult(dir, { result: 'endpoint hit 3 times' });
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
    ['writeResult', '.result.txt.tmp', 'result.txt', [], () => writeResult(dir, { result: 'endpoint hit 3 times' })],
    ['writeResult', '.computed.json.tmp', 'computed.json', ['result.txt'], () => writeResult(dir, { result: 'endpoint hit 3 times' })],
    ['writeResult (callback)', '.result.txt.tmp', 'result.txt', [], () => writeResult(dir, { callback: '0x01' })],
    ['writeResult (callback)', '.computed.json.tmp', 'computed.json', ['result.txt'], () => writeResult(dir, { callback: '0x01' })],
    ['writeResult (folder)', '.computed.json.tmp', 'computed.json', ['result'], () => writeResult(dir, { files: { 'a.txt': 'a' } })],
    ['writeFailure', '.error.txt.tmp', 'error.txt', [], () => writeFailure(dir, 'SECRET_MISSING: x')],
    ['writeFailure', '.computed.json.tmp', 'computed.json', ['error.txt'], () => writeFailure(dir, 'SECRET_MISSING: x')],
  ] as const;
  it.each(cases.flatMap(([fn, temporary, name, written, write]) => Object.entries(PLANTS).map(([plant, make]) => ({ fn, temporary, name, written, write, plant, make }))))(
    '$fn refuses $plant at $temporary (OUTPUT_UNWRITABLE, EEXIST), writes nothing through it and leaves it as it was',
    async ({ temporary, name, written, write, make }) => {
      const outside = join(mkdtempSync(join(tmpdir(), 'outside-')), 'target');
      make(join(dir, temporary), outside);
      const before = { outside: outsideState(outside), planted: plantedState(join(dir, temporary)) };
      const error = await failureOf(write);
      expect(error.line).toBe(`OUTPUT_UNWRITABLE: cannot write ${name} in IEXEC_OUT (EEXIST)`);
      expect(error.exitCode).toBe(8);
      expect({ outside: outsideState(outside), planted: plantedState(join(dir, temporary)) }).toEqual(before);
      expect(readdirSync(dir).sort()).toEqual([temporary, ...written].sort());
    },
  );

  it.each([
    ['result.txt', () => writeResult(dir, { result: 'endpoint hit 3 times' })],
    ['computed.json', () => writeResult(dir, { result: 'endpoint hit 3 times' })],
    ['error.txt', () => writeFailure(dir, 'SECRET_MISSING: x')],
  ] as const)('replaces a link planted at %s by the file itself, and leaves its target alone', async (name, write) => {
    const outside = join(mkdtempSync(join(tmpdir(), 'outside-')), 'target');
    writeFileSync(outside, 'outside, untouched');
    symlinkSync(outside, join(dir, name));
    await write();
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

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest();
const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`;

describe('writeResult, the kind of result', () => {
  it.each([
    ['none', {}],
    ['two kinds', { result: 'x', files: { 'a.txt': 'a' } }],
    ['all three', { result: 'x', files: { 'a.txt': 'a' }, callback: '0x01' }],
  ])('refuses %s as RESULT_INVALID and writes nothing', async (_, taskResult) => {
    const error = await failureOf(() => writeResult(dir, taskResult as TaskResult));
    expect([error.line, error.exitCode]).toEqual(['RESULT_INVALID: run() must return exactly one of { result }, { files } or { callback }', 16]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('passes the post-compute\'s checks with a text result, whose digest is its sha256', async () => {
    await writeResult(dir, { result: 'endpoint hit 3 times' });
    expect(checkOutput(dir)).toMatchObject({ ok: true, digest: hex(sha256('endpoint hit 3 times')) });
  });
});

describe('writeResult, a folder result', () => {
  async function* chunks(...parts: string[]) {
    for (const part of parts) yield part;
  }

  it('writes every file under result/, sub-folders too, then a computed.json pointing at the folder, nothing else', async () => {
    await writeResult(dir, {
      files: {
        'summary.txt': 'two lines\nof text',
        'data.bin': new Uint8Array([0, 1, 2, 255]),
        'from-a-generator.csv': chunks('a,b\n', '', '1,2\n'),
        'from-a-stream.json': Readable.from([Buffer.from('{"ok":'), 'true}']),
        'nested/deeper/leaf.txt': 'leaf',
        'nested/beside.txt': 'beside',
      },
    });
    expect(readdirSync(dir).sort()).toEqual(['computed.json', 'result']);
    expect(read('computed.json')).toBe(JSON.stringify({ 'deterministic-output-path': join(dir, 'result') }));
    expect(readOutput(join(dir, 'result'))).toEqual({
      'summary.txt': 'two lines\nof text',
      'data.bin': '\u0000\u0001\u0002\ufffd',
      'from-a-generator.csv': 'a,b\n1,2\n',
      'from-a-stream.json': '{"ok":true}',
      'nested/deeper/leaf.txt': 'leaf',
      'nested/beside.txt': 'beside',
    });
    expect(readFileSync(join(dir, 'result', 'data.bin'))).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it("passes the post-compute's checks, with the folder digest: Keccak-256 over the sha256 of its top-level files, by name", async () => {
    await writeResult(dir, { files: { 'b.txt': 'bee', 'a.txt': 'ay', 'sub/c.txt': 'sea', 'empty.txt': '' } });
    const report = checkOutput(dir);
    expect(report.ok).toBe(true);
    // A sub-folder and an empty file add nothing (result_utils.rs get_file_tree_sha256).
    expect(report.digest).toBe(hex(keccak_256(Buffer.concat([sha256('ay'), sha256('bee')]))));
  });

  it('takes names of 31 bytes, starting with a letter, a digit, _ or -, then dots too', async () => {
    const files = { [`${'n'.repeat(27)}.t-x`]: '1', 'a_b/c..d': '2', _u: '3', '-d': '4', '9/Zz': '5', 'Up.Per_CASE-0.txt': '6', [`${'s'.repeat(31)}/${'t'.repeat(31)}`]: '7' };
    await writeResult(dir, { files });
    expect(readOutput(join(dir, 'result'))).toEqual(files);
  });

  it.each([
    ['empty', ''],
    ['absolute', '/etc/passwd'],
    ['with an empty part', 'a//b.txt'],
    ['ending with /', 'folder/'],
    ['climbing out', '../escaped.txt'],
    ['climbing out from a sub-folder', 'a/../../escaped.txt'],
    ['the current folder', './a.txt'],
    ['hidden', '.hidden'],
    ['hidden in a sub-folder', 'a/.hidden'],
    ['32 bytes', 'n'.repeat(32)],
    ['a part of 32 bytes', `a/${'n'.repeat(32)}`],
    ['not ASCII', 'caf\u00e9.txt'],
    ['with a space', 'a b.txt'],
    ['with a backslash', 'a\\b.txt'],
    ['with a colon', 'a:b.txt'],
  ])('refuses a file name %s as RESULT_INVALID, without quoting it, and writes nothing', async (_, name) => {
    const error = await failureOf(() => writeResult(dir, { files: { 'fine.txt': 'fine', [name]: 'secret-canary' } }));
    expect([error.line, error.exitCode]).toEqual([
      "RESULT_INVALID: file 2 of the result folder has a name iExec refuses: '/'-separated parts of A-Z a-z 0-9 . _ -, none empty or starting with '.', each at most 31 bytes",
      16,
    ]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a file that is also a folder of another file, and writes nothing', async () => {
    const error = await failureOf(() => writeResult(dir, { files: { 'a/b': 'one', 'a/b/c.txt': 'two' } }));
    expect(error.line).toBe('RESULT_INVALID: file 2 of the result folder is inside another file of it');
    expect((await failureOf(() => writeResult(dir, { files: { 'x/y/z': 'one', x: 'two' } }))).line).toBe('RESULT_INVALID: file 1 of the result folder is inside another file of it');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a folder without a file as RESULT_EMPTY, and one whose files are all empty, and leaves nothing', async () => {
    const none = await failureOf(() => writeResult(dir, { files: {} }));
    expect([none.line, none.exitCode]).toEqual(['RESULT_EMPTY: the result folder has no file, and iExec publishes no empty folder', 13]);
    const empty = await failureOf(() => writeResult(dir, { files: { 'a.txt': '', 'b.bin': new Uint8Array(0), 'c/d.txt': chunks('', '') } }));
    expect([empty.line, empty.exitCode]).toEqual(['RESULT_EMPTY: no top-level file of the result folder has content, and the result digest covers only those', 13]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a folder whose content is all in sub-folders, which the digest does not cover (every such folder would have one digest)', async () => {
    for (const files of [{ 'sub/a.txt': 'one result' }, { 'e.txt': '', 'sub/a.txt': 'another result' }]) {
      const failure = await failureOf(() => writeResult(dir, { files }));
      expect(failure.code).toBe('RESULT_EMPTY');
      expect(readdirSync(dir)).toEqual([]);
    }
    await writeResult(dir, { files: { 'top.txt': 'x', 'sub/a.txt': 'y' } });
    expect(checkOutput(dir).ok).toBe(true);
  });

  it.each([
    ['a name iExec refuses', { '.hidden': 'x' }],
    ['two kinds at once', { result: 'text' }],
  ])('lets go of the app\'s unread streams when it refuses the result for %s', async (_, more) => {
    const unread = Readable.from(['never read']);
    const result = { files: { 'a.txt': unread, ...('result' in more ? {} : more) }, ...('result' in more ? more : {}) } as unknown as Parameters<typeof writeResult>[1];
    await failureOf(() => writeResult(dir, result));
    expect(unread.destroyed).toBe(true);
  });

  it('streams a large file to disk as it comes: the file never lags more than one chunk behind what the stream gave', async () => {
    const CHUNK = 64 * 1024;
    const COUNT = 128; // 8 MiB
    const staged = join(dir, '.result.tmp', 'big.bin');
    let lag = 0;
    async function* big() {
      for (let i = 0; i < COUNT; i += 1) {
        // Chunk i is asked for only once chunk i - 1 is on its way to disk.
        if (i > 1) lag = Math.max(lag, i * CHUNK - statSync(staged).size);
        yield Buffer.alloc(CHUNK, i);
      }
    }
    await writeResult(dir, { files: { 'big.bin': big() } });
    expect(lag).toBeLessThanOrEqual(CHUNK);
    const written = readFileSync(join(dir, 'result', 'big.bin'));
    expect(written.length).toBe(CHUNK * COUNT);
    expect(written[CHUNK * COUNT - 1]).toBe(COUNT - 1);
  });

  it.each([
    ['an AppError, which keeps its code', new AppError('QUOTES_NO_TOPIC', 'no topic', 24), 'QUOTES_NO_TOPIC: no topic', 24],
    ['any other error, which is UNEXPECTED (its message may hold a secret)', new Error('secret-canary'), 'UNEXPECTED: unexpected internal error (details withheld: they may hold secret data)', 1],
  ])('reports a stream that fails midway with %s, and leaves neither result/ nor the staging folder', async (_, thrown, line, exitCode) => {
    async function* failing() {
      yield 'a first chunk';
      throw thrown;
    }
    const unread = Readable.from(['never read']);
    const error = await failureOf(() => writeResult(dir, { files: { 'first.txt': 'written', 'second.txt': failing(), 'third.txt': 'never', 'fourth.txt': unread } }));
    expect([error.line, error.exitCode]).toEqual([line, exitCode]);
    expect(readdirSync(dir)).toEqual([]);
    // A stream left unread is closed, so that it holds nothing open (an HTTP body, a file).
    expect(unread.destroyed).toBe(true);
  });

  it('reports a Node stream destroyed midway as the app\'s error', async () => {
    const stream = new Readable({ read() {} });
    stream.push('some bytes');
    setImmediate(() => stream.destroy(Object.assign(new Error('socket reset'), { code: 'ECONNRESET' })));
    const error = await failureOf(() => writeResult(dir, { files: { 'down.txt': stream } }));
    expect(error.code).toBe('UNEXPECTED');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a write that fails as OUTPUT_UNWRITABLE, and removes the staging folder', async () => {
    // A chunk that is not bytes makes the file's write fail, as a full disk would.
    const error = await failureOf(() => writeResult(dir, { files: { 'a.txt': 'fine', 'b.txt': [42] as unknown as AsyncIterable<string> } }));
    expect(error.line).toBe('OUTPUT_UNWRITABLE: cannot write result/ in IEXEC_OUT (ERR_INVALID_ARG_TYPE)');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes result/ before computed.json: computed.json refused, result/ is complete and nothing points at it', async () => {
    mkdirSync(join(dir, '.computed.json.tmp'));
    const error = await failureOf(() => writeResult(dir, { files: { 'a.txt': 'a' } }));
    expect(error.line).toBe('OUTPUT_UNWRITABLE: cannot write computed.json in IEXEC_OUT (EEXIST)');
    expect(readdirSync(dir).sort()).toEqual(['.computed.json.tmp', 'result']);
    expect(readOutput(join(dir, 'result'))).toEqual({ 'a.txt': 'a' });
  });

  const outsideFolder = () => {
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    writeFileSync(join(outside, 'kept'), 'outside, untouched');
    return outside;
  };
  /** What lies at `path` and, for a link, what its target holds: to compare before and after. */
  const state = (path: string) => {
    if (!existsSync(path) && !lstatSync(path, { throwIfNoEntry: false })) return 'absent';
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return { link: readlinkSync(path), target: existsSync(path) ? readOutput(path) : 'dangling' };
    return stat.isDirectory() ? { folder: readOutput(path) } : { file: readFileSync(path, 'utf8') };
  };
  const PLANTS = {
    'a link to a folder outside': (path: string) => symlinkSync(outsideFolder(), path),
    'a link to nothing': (path: string) => symlinkSync(join(tmpdir(), 'nothing-here', 'at-all'), path),
    'a file': (path: string) => writeFileSync(path, 'planted'),
    'a folder': (path: string) => (mkdirSync(path), writeFileSync(join(path, 'planted'), 'planted')),
  };

  it.each(Object.entries(PLANTS))('refuses %s planted at .result.tmp (EEXIST), writes nothing through it and leaves it as it was', async (_, plant) => {
    plant(join(dir, '.result.tmp'));
    const before = state(join(dir, '.result.tmp'));
    const error = await failureOf(() => writeResult(dir, { files: { 'a.txt': 'a' } }));
    expect([error.line, error.exitCode]).toEqual(['OUTPUT_UNWRITABLE: cannot write result/ in IEXEC_OUT (EEXIST)', 8]);
    expect(state(join(dir, '.result.tmp'))).toEqual(before);
    expect(readdirSync(dir)).toEqual(['.result.tmp']);
  });

  it.each([
    ['a link to a folder outside', 'ENOTDIR'],
    ['a file', 'ENOTDIR'],
    ['a folder', 'ENOTEMPTY'],
  ] as const)('refuses %s planted at result (%s), writes nothing through it, leaves it and removes the staging folder', async (plant, code) => {
    PLANTS[plant](join(dir, 'result'));
    const before = state(join(dir, 'result'));
    const error = await failureOf(() => writeResult(dir, { files: { 'a.txt': 'a' } }));
    expect(error.line).toBe(`OUTPUT_UNWRITABLE: cannot write result/ in IEXEC_OUT (${code})`);
    expect(state(join(dir, 'result'))).toEqual(before);
    expect(readdirSync(dir)).toEqual(['result']);
  });
});

describe('writeResult, a callback result', () => {
  const CALLBACK = '0x000000000000000000000000000000000000000000000000000000000000002aAbCd';
  const ADDRESS = '0x1111111111111111111111111111111111111111';

  it('writes the hex to result.txt, then a computed.json with callback-data and result.txt as the output', async () => {
    await writeResult(dir, { callback: CALLBACK });
    expect(readdirSync(dir).sort()).toEqual(['computed.json', 'result.txt']);
    expect(read('result.txt')).toBe(CALLBACK);
    expect(read('computed.json')).toBe(JSON.stringify({ 'deterministic-output-path': join(dir, 'result.txt'), 'callback-data': CALLBACK }));
  });

  it("passes the post-compute's checks: with the deal's callback, the digest is Keccak-256 of the bytes; without, sha256 of result.txt", async () => {
    await writeResult(dir, { callback: CALLBACK });
    expect(checkOutput(dir, { callback: ADDRESS })).toMatchObject({ ok: true, digest: hex(keccak_256(Buffer.from(CALLBACK.slice(2), 'hex'))) });
    expect(checkOutput(dir)).toMatchObject({ ok: true, digest: hex(sha256(CALLBACK)) });
  });

  it.each([
    ['empty', ''],
    ['0x alone', '0x'],
    ['an odd number of digits', '0x123'],
    ['without 0x', '1234'],
    ['with 0X', '0X1234'],
    ['not hex', '0x12zz'],
    ['with a space', '0x12 34'],
    ['with a newline after', '0x1234\n'],
    ['with a space before', ' 0x1234'],
    ['with 0x twice', '0x0x12'],
  ])('refuses callback data %s as RESULT_INVALID, without quoting it, and writes nothing', async (_, callback) => {
    const error = await failureOf(() => writeResult(dir, { callback: callback as `0x${string}` }));
    expect([error.line, error.exitCode]).toEqual(['RESULT_INVALID: callback is not 0x followed by an even, non-zero number of hex digits', 16]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
