import { demoSecret } from '../tools/worker/demo-task';
import { http, HttpResponse } from 'msw';
import { createHmac } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { AppError, TASK_ERRORS } from '../src/errors';
import { reportFailure, run } from '../src/main';
import { APPS, decodeQuote, QUOTE_APP } from './helpers/apps';
import { app as redactApp } from './fixtures/redact-app';
import { app as scoreApp } from './fixtures/score-app';
import { expectSuccess } from './helpers/output';
import { defineProtectedData } from '../src/iexec/protected-data';
import { protectedDataFile, type DataObject } from '../tools/worker/dataprotector';
import { runApp } from './helpers/run-app';
import { demoEnvironment } from './helpers/demo';
import { mockNetwork } from './helpers/msw';

const UPSTREAM = 'https://upstream.test';
const server = mockNetwork();

describe.each(APPS)('run, for $label', (appUnderTest) => {
  const { app, demo } = appUnderTest;
  const serveStandIn = () => server.use(http.all(`${UPSTREAM}/*`, ({ request }) => demo.standIn!()(request)));

  it('writes its result, then computed.json pointing at it, and prints only its log', async () => {
    serveStandIn();
    // The log the app returned, to hold stdout to it exactly.
    let log: string | undefined;
    const watched = {
      ...app,
      run: async (task: Parameters<typeof app.run>[0]) => {
        const result = await app.run(task);
        log = result.log;
        return result;
      },
    };
    const { out, exitCode, files, stdout, stderr } = await runApp(watched, (await demoEnvironment(appUnderTest, UPSTREAM)).env, demo.args);
    expect([exitCode, stderr]).toEqual([0, '']);
    expectSuccess(files, out);
    expect(stdout).toBe(log === undefined ? '' : `${log}\n`);
  });

  // What the app's contract says it needs decides which failures it can meet.
  it.each([
    ...(app.secret === undefined ? [] : [
      ['SECRET_MISSING', { IEXEC_APP_DEVELOPER_SECRET: undefined }, undefined],
      ['SECRET_INVALID', { IEXEC_APP_DEVELOPER_SECRET: '{"not": "a field"}' }, undefined],
    ]),
    ['ARGS_INVALID', {}, ['--not-an-option', 'x']],
    ['INPUT_INVALID', { IEXEC_INPUT_FILES_NUMBER: 'many' }, undefined],
    ['ENVIRONMENT_UNSAFE', { NODE_DEBUG: 'http' }, undefined],
    ...(app.upstreams.length === 0 ? [] : [['upstream HTTP error', {}, undefined]]),
  ] as [string, NodeJS.ProcessEnv, string[] | undefined][])('reports %s on stderr, in error.txt and in computed.json, with its exit code', async (what, change, argv) => {
    server.use(http.all(`${UPSTREAM}/*`, () => new HttpResponse(null, { status: 500 })));
    const code = what === 'upstream HTTP error' ? app.upstreams[0]!.codes.httpError : what;
    const { env } = await demoEnvironment(appUnderTest, UPSTREAM);
    const { out, exitCode, files, stderr, stdout } = await runApp(app, { ...env, ...change }, argv ?? demo.args);
    const line = files['error.txt']!;
    expect(line.startsWith(`${code}: `)).toBe(true);
    expect(stderr).toBe(`${line}\n`);
    expect(stdout).toBe('');
    expect(exitCode).toBe({ ...TASK_ERRORS, ...app.errors }[code]);
    expect(JSON.parse(files['computed.json']!)).toEqual({ 'deterministic-output-path': `${out}/error.txt`, 'error-message': line });
    expect(Object.keys(files).sort()).toEqual(['computed.json', 'error.txt']);
  });

  it("never prints or writes a requester secret, whatever the outcome", async () => {
    const canary = 'requester-canary-5f1c9e';
    for (const status of [200, 500]) {
      server.use(http.all(`${UPSTREAM}/*`, ({ request }) => (status === 200 ? demo.standIn!()(request) : new HttpResponse(null, { status }))));
      const { env } = await demoEnvironment(appUnderTest, UPSTREAM);
      const { files, stdout, stderr } = await runApp(app, { ...env, IEXEC_REQUESTER_SECRET_1: canary }, demo.args);
      expect(stdout + stderr + Object.values(files).join('')).not.toContain(canary);
    }
  });

  it("has its own exit codes, none of them the plumbing's", () => {
    const all = [...Object.values(TASK_ERRORS), ...Object.values(app.errors)];
    expect(new Set(all).size).toBe(all.length);
    expect(Math.min(...all)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...all)).toBeLessThanOrEqual(125);
    for (const upstream of app.upstreams) for (const code of Object.values(upstream.codes)) expect(app.errors).toHaveProperty(code);
  });
});

describe('run, the second app: a callback result', () => {
  it('returns its topic and quote ABI-encoded, as callback-data and in result.txt', async () => {
    server.use(http.all(`${UPSTREAM}/*`, ({ request }) => QUOTE_APP.demo.standIn!()(request)));
    const { files } = await runApp(QUOTE_APP.app, { IEXEC_APP_DEVELOPER_SECRET: demoSecret(QUOTE_APP.demo, UPSTREAM)! }, ['--topic', 'brevity']);
    expect(decodeQuote(JSON.parse(files['computed.json']!)['callback-data'])).toEqual({ topic: 'brevity', quote: 'On brevity, in fr: be brief.' });
  });
});

describe('run, each kind of result an app returns', () => {
  const { app, demo } = APPS[0]!;
  const env = { IEXEC_APP_DEVELOPER_SECRET: demoSecret(demo, UPSTREAM)! };
  async function* stream() {
    yield 'streamed ';
    yield 'bytes';
  }

  it.each([
    ['text', { result: 'a text', log: 'done' }, { 'result.txt': 'a text' }, 'result.txt', {}],
    ['folder', { files: { 'a.txt': 'one', 'sub/b.txt': stream() }, log: 'done' }, { 'result/a.txt': 'one', 'result/sub/b.txt': 'streamed bytes' }, 'result', {}],
    ['callback', { callback: '0xc0ffee', log: 'done' }, { 'result.txt': '0xc0ffee' }, 'result.txt', { 'callback-data': '0xc0ffee' }],
  ] as const)('writes a %s result, computed.json last, and prints the log', async (_, result, written, path, extra) => {
    const { out, exitCode, files, stdout, stderr } = await runApp({ ...app, run: async () => result }, env);
    expect([exitCode, stdout, stderr]).toEqual([0, 'done\n', '']);
    expect(files).toEqual({ ...written, 'computed.json': JSON.stringify({ 'deterministic-output-path': `${out}/${path}`, ...extra }) });
  });

  it.each([
    ['an empty folder', { files: {} }, 'RESULT_EMPTY'],
    ['a bad file name', { files: { '../x': 'x' } }, 'RESULT_INVALID'],
    ['bad callback data', { callback: '0x1' }, 'RESULT_INVALID'],
  ] as const)('reports %s like any failure: error.txt and computed.json, its exit code, and no log', async (_, result, code) => {
    const { out, exitCode, files, stdout } = await runApp({ ...app, run: async () => ({ ...result, log: 'done' }) as never }, env);
    expect([exitCode, stdout]).toEqual([TASK_ERRORS[code], '']);
    expect(Object.keys(files).sort()).toEqual(['computed.json', 'error.txt']);
    expect(files['error.txt']!.startsWith(`${code}: `)).toBe(true);
    expect(JSON.parse(files['computed.json']!)).toEqual({ 'deterministic-output-path': `${out}/error.txt`, 'error-message': files['error.txt'] });
  });

  it("reports a folder file's stream failing with the app's own error code", async () => {
    async function* failing() {
      yield 'a start';
      throw new AppError('COUNTER_TIMEOUT', 'counter did not answer in time', 5);
    }
    const { exitCode, files } = await runApp({ ...app, run: async () => ({ files: { 'a.txt': failing() } }) }, env);
    expect([exitCode, files['error.txt']]).toEqual([5, 'COUNTER_TIMEOUT: counter did not answer in time']);
    expect(Object.keys(files).sort()).toEqual(['computed.json', 'error.txt']);
  });
});

describe('run, what it hands the work', () => {
  it("the task's place in its bag of tasks", async () => {
    const { app, demo } = APPS[0]!;
    const seen = vi.fn(async () => ({ result: 'ok' }));
    const env = { IEXEC_APP_DEVELOPER_SECRET: demoSecret(demo, UPSTREAM), IEXEC_BOT_SIZE: '3', IEXEC_BOT_FIRST_INDEX: '0', IEXEC_BOT_TASK_INDEX: '2' };
    expect((await runApp({ ...app, run: seen }, env)).exitCode).toBe(0);
    expect(seen).toHaveBeenCalledWith(expect.objectContaining({ bot: { size: 3, firstIndex: 0, index: 2 } }));
  });
});

describe('run, for an app that takes a protected data', () => {
  const { app, demo } = APPS[0]!;
  const protectedData = defineProtectedData({
    schema: z.object({ email: z.string().check(z.regex(/^[^@\s]+@[^@\s]+$/, { error: 'must be an email address' })), score: z.number() }),
    fields: { email: { description: 'an address' }, score: { description: 'a number' } },
  });
  const secret = demoSecret(demo, UPSTREAM);
  const withDataset = async (data: DataObject) => {
    const file = await protectedDataFile(data, 'borsh');
    return { IEXEC_APP_DEVELOPER_SECRET: secret, IEXEC_IN: dirname(file), IEXEC_DATASET_ADDRESS: basename(file), IEXEC_DATASET_FILENAME: basename(file) };
  };

  it('hands run() the values, typed by its schema', async () => {
    const seen = vi.fn(async () => ({ result: 'ok' }));
    expect((await runApp({ ...app, protectedData, run: seen }, await withDataset({ email: 'owner@example.org', score: 7.5 }))).exitCode).toBe(0);
    expect(seen).toHaveBeenCalledWith(expect.objectContaining({ protectedData: { email: 'owner@example.org', score: 7.5 } }));
  });

  it.each([
    ['no dataset', async () => ({ IEXEC_APP_DEVELOPER_SECRET: secret }), 'PROTECTED_DATA_MISSING: '],
    ['a field breaking its rule', () => withDataset({ email: 'canary-value-not-an-email', score: 1 }), 'PROTECTED_DATA_INVALID: field "email" must be an email address'],
  ])('reports %s with its code, never a value', async (_, env, line) => {
    const run = await runApp({ ...app, protectedData, run: async () => ({ result: 'never' }) }, await env());
    expect(run.files['error.txt']!.startsWith(line)).toBe(true);
    expect(run.stdout + run.stderr + Object.values(run.files).join('')).not.toContain('canary-value');
  });
});

describe('run, a bulk task (DataProtector bulk processing): the app once per protected data', () => {
  const app = scoreApp;
  const spec = app.protectedData!;
  // Addresses as the SDK writes a slice's (EIP-55), each naming its file in IEXEC_IN.
  const ADDRESSES = ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB'];
  /** A bulk of these protected data (undefined: an item the worker did not deliver). */
  async function bulk(items: (DataObject | undefined)[]): Promise<NodeJS.ProcessEnv> {
    const input = mkdtempSync(join(tmpdir(), 'bulk-in-'));
    for (const [i, data] of items.entries()) if (data !== undefined) copyFileSync(await protectedDataFile(data, 'borsh'), join(input, ADDRESSES[i]!));
    return {
      IEXEC_IN: input,
      IEXEC_DATASET_ADDRESS: `0x${'0'.repeat(40)}`,
      IEXEC_DATASET_FILENAME: `0x${'0'.repeat(40)}`,
      IEXEC_BULK_SLICE_SIZE: String(items.length),
      ...Object.fromEntries(items.map((_, i) => [`IEXEC_DATASET_${i + 1}_FILENAME`, ADDRESSES[i]])),
    };
  }
  const CANARY = 'owner-canary@example.org';
  const report = (files: Record<string, string>) => JSON.parse(files['result.txt']!) as Record<string, unknown>;

  it('per item: reports each one, a bad one by its code only, and goes on', async () => {
    const env = await bulk([{ email: CANARY, score: 90 }, { email: CANARY, score: 120 }, { email: CANARY, score: '12' }, undefined]);
    const run = await runApp(app, env);
    expect([run.exitCode, run.stderr]).toEqual([0, '']);
    expectSuccess(run.files, run.out);
    expect(report(run.files)).toEqual({
      'total-count': 4,
      'success-count': 1,
      'error-count': 3,
      results: [
        { index: 1, dataset: ADDRESSES[0], success: true, result: 'score band: high' },
        { index: 2, dataset: ADDRESSES[1], success: false, error: { code: 'SCORE_OUT_OF_RANGE', message: 'the score is not between 0 and 100' } },
        { index: 3, dataset: ADDRESSES[2], success: false, error: { code: 'PROTECTED_DATA_INVALID', message: expect.stringContaining('"score"') } },
        { index: 4, dataset: '', success: false, error: { code: 'PROTECTED_DATA_MISSING', message: 'the worker delivered no file for this protected data' } },
      ],
    });
    expect(run.stdout).toBe('bulk: 1 of 4 protected data processed\n');
    expect(run.stdout + run.stderr + Object.values(run.files).join('')).not.toContain('canary');
  });

  it('all or nothing: the first bad item fails the task with its own code, naming its place only', async () => {
    const env = await bulk([{ email: CANARY, score: 10 }, { email: CANARY, score: -5 }, { email: CANARY, score: 50 }]);
    const seen: number[] = [];
    const strict = { ...app, protectedData: { ...spec, bulk: 'all-or-nothing' as const }, run: async (task: Parameters<typeof app.run>[0]) => (seen.push(task.protectedData.score), app.run(task)) };
    const run = await runApp(strict, env);
    expect(run.exitCode).toBe(app.errors.SCORE_OUT_OF_RANGE);
    expect(run.files['error.txt']).toBe('SCORE_OUT_OF_RANGE: bulk item 2: the score is not between 0 and 100');
    expect(seen).toEqual([10, -5]);
    expect(Object.keys(run.files).sort()).toEqual(['computed.json', 'error.txt']);
  });

  it('refuses a bulk for an app that declares none, and leaves it alone for an app that reads no protected data', async () => {
    const env = await bulk([{ email: CANARY, score: 1 }]);
    const { schema, fields, read } = spec;
    const single = { ...app, protectedData: { schema, fields, read } };
    const refused = await runApp(single, env);
    expect([refused.exitCode, refused.files['error.txt']]).toEqual([TASK_ERRORS.INPUT_INVALID, 'INPUT_INVALID: this app takes one protected data, not a bulk of them (its contract declares no bulk processing)']);
    const ignoring = { ...app, protectedData: undefined, run: async () => ({ result: 'no protected data read' }) };
    expect((await runApp(ignoring, env)).files['result.txt']).toBe('no protected data read');
  });

  it('takes a non-empty text per item: an empty one is that item\'s RESULT_EMPTY', async () => {
    const env = await bulk([{ email: CANARY, score: 1 }]);
    const empty = { ...app, run: async () => ({ result: '' }) };
    expect(report((await runApp(empty, env)).files).results).toEqual([
      { index: 1, dataset: ADDRESSES[0], success: false, error: { code: 'RESULT_EMPTY', message: 'the result is empty, and iExec publishes no empty file (return at least one byte)' } },
    ]);
  });

  it('takes a text result per item: another kind is that item\'s RESULT_INVALID', async () => {
    const env = await bulk([{ email: CANARY, score: 1 }]);
    const unread = Readable.from(['never read']);
    const folder = { ...app, run: async () => ({ files: { 'a.txt': unread } }) };
    expect(report((await runApp(folder, env)).files).results).toEqual([
      { index: 1, dataset: ADDRESSES[0], success: false, error: { code: 'RESULT_INVALID', message: 'in a bulk task, each protected data gives a text result ({ result })' } },
    ]);
    // Its stream is let go, so that it cannot hold the task open.
    expect(unread.destroyed).toBe(true);
  });
});

describe('run, the offline app: a folder result streamed from an input file, keyed by a requester secret', () => {
  const CSV = 'name,email\nAda,ada-canary@example.org\nAlan,alan-canary@example.org\n';
  async function redact(env: NodeJS.ProcessEnv = {}, argv: string[] = ['--column', 'email']) {
    const input = mkdtempSync(join(tmpdir(), 'redact-in-'));
    writeFileSync(join(input, 'people.csv'), CSV);
    return runApp(redactApp, { IEXEC_IN: input, IEXEC_INPUT_FILES_FOLDER: input, IEXEC_INPUT_FILES_NUMBER: '1', IEXEC_INPUT_FILE_NAME_1: 'people.csv', IEXEC_REQUESTER_SECRET_1: 'salt-one', ...env }, argv);
  }
  const pseudonym = (key: string, value: string) => createHmac('sha256', key).update(value).digest('hex').slice(0, 16);

  it('replaces the column by a keyed hash, and counts the rows in its summary', async () => {
    const { out, exitCode, files } = await redact();
    expect(exitCode).toBe(0);
    expect(expectSuccess(files, out).kind).toBe('folder');
    expect(files['result/redacted.csv']).toBe(`name,email\nAda,${pseudonym('salt-one', 'ada-canary@example.org')}\nAlan,${pseudonym('salt-one', 'alan-canary@example.org')}\n`);
    expect(JSON.parse(files['result/summary.json']!)).toEqual({ column: 'email', rows: 2 });
    expect(Object.values(files).join('')).not.toContain('canary');
  });

  it.each([
    ['no requester secret', { IEXEC_REQUESTER_SECRET_1: '' }, undefined, 'REQUESTER_SECRET_MISSING'],
    ['no input file', { IEXEC_INPUT_FILES_NUMBER: '0' }, undefined, 'REDACT_NO_INPUT'],
    ['a column the CSV lacks', {}, ['--column', 'phone'], 'REDACT_NO_COLUMN'],
  ])('fails with its code for %s, writing no result', async (_, env, argv, code) => {
    const { exitCode, files } = await redact(env, argv);
    expect(files['error.txt']).toMatch(new RegExp(`^${code}: `));
    expect(exitCode).toBe({ ...TASK_ERRORS, ...redactApp.errors }[code as string]);
    expect(Object.keys(files).sort()).toEqual(['computed.json', 'error.txt']);
  });
});

describe('reportFailure', () => {
  it('reports OUTPUT_UNWRITABLE on stderr and in the exit code when IEXEC_OUT is missing', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(run(APPS[0]!.app, { env: { IEXEC_APP_DEVELOPER_SECRET: 'my-app/hits' }, argv: [] })).resolves.toBe(8);
    expect(stderr.mock.calls.map(([c]) => String(c))).toEqual(['OUTPUT_UNWRITABLE: IEXEC_OUT is not set\n']);
  });

  it('says on a second line why error.txt could not be written after another failure', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(reportFailure(new Error('x'), { IEXEC_OUT: '/nonexistent/iexec_out' })).toBe(1);
    expect(stderr.mock.calls.map(([c]) => String(c))).toEqual([
      'UNEXPECTED: unexpected internal error (details withheld: they may hold secret data)\n',
      'OUTPUT_UNWRITABLE: IEXEC_OUT is not a writable folder\n',
    ]);
  });

  it('reports an unexpected error by code only: its message may quote the secret', () => {
    const out = mkdtempSync(join(tmpdir(), 'iexec-out-'));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(reportFailure(new Error('boom: sk_live_do_not_print'), { IEXEC_OUT: out })).toBe(1);
    const printed = stderr.mock.calls.map(([c]) => String(c)).join('');
    expect(printed).toBe('UNEXPECTED: unexpected internal error (details withheld: they may hold secret data)\n');
    expect(readFileSync(join(out, 'error.txt'), 'utf8') + readFileSync(join(out, 'computed.json'), 'utf8')).not.toContain('sk_live');
  });
});
