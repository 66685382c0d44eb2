import { keccak_256 } from '@noble/hashes/sha3.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IExecDataProtectorDeserializer } from '@iexec/dataprotector-deserializer';
import { ROOT } from '../../../tools/build';
import { splitArgs } from '../../../tools/worker/local';
import { APPS, decodeQuote, EXAMPLE_APP, QUOTE_APP, SCORE_APP, type AppUnderTest } from '../../helpers/apps';

const fixture = (name: string) => join(ROOT, 'test', 'fixtures', name);

/** `npm run local -- <args>`, as a developer runs it (through tsx, in a child process), for one app. */
function local(args: string[], { app = EXAMPLE_APP, env = {} }: { app?: AppUnderTest; env?: NodeJS.ProcessEnv } = {}) {
  const callerEnv: NodeJS.ProcessEnv = { ...process.env, TEMPLATE_APP: app.dir };
  delete callerEnv.IEXEC_APP_DEVELOPER_SECRET;
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/worker/local.ts', ...args], { cwd: ROOT, env: { ...callerEnv, ...env }, encoding: 'utf8' });
  return { code: run.status, output: run.stdout + run.stderr };
}

const outFolder = (output: string): string => join(ROOT, /task folder (\S+)/.exec(output)![1]!, 'iexec_out');

describe.each(APPS)('npm run local, for $label', (app) => {
  it("runs the bundle against the app's stand-in and passes every check, showing no sensitive value", () => {
    const { code, output } = local([], { app });
    expect(output).toContain('app exited with code 0');
    expect(output).toMatch(/result digest: 0x[0-9a-f]{64}/);
    expect(output).not.toContain('✗');
    expect(output).toContain('OK: the output is what iExec expects.');
    expect(code).toBe(0);
    const demo = app.demo.secret?.('http://x') ?? {};
    for (const [name, value] of Object.entries(demo)) {
      if (app.app.secret?.fields[name]?.sensitive) expect(output).not.toContain(String(value));
    }
    expect(output).toContain(app.app.secret === undefined ? 'secret: none (the app takes none)' : '<hidden>');
    // Values long enough that finding one can only mean it leaked.
    const privateValues = [...Object.values(app.demo.requesterSecrets ?? {}), ...Object.values(app.demo.protectedData ?? {})].filter((v): v is string => typeof v === 'string' && v.length >= 6);
    for (const value of privateValues) expect(output).not.toContain(value);
    expect(output).toContain(`inputs: ${Object.keys(app.demo.inputFiles ?? {}).length} input file(s), ${app.demo.protectedData === undefined ? 'no dataset' : 'a dataset'}`);
  });

  it('--repeat 3 says what the app declares about its result, and does not fail on it', () => {
    const { code, output } = local(['--repeat', '3'], { app });
    expect(code).toBe(0);
    expect(output).toContain(
      app.app.resultVaries === undefined ? '✓ result digest stable across 3 runs' : `result digest changes between runs (3 distinct), as this app declares: ${app.app.resultVaries}.`,
    );
  });

  it('passes --args to the app as a worker does, and shows a bad one as the app reports it', () => {
    // As a shell passes it: --args=… because the value starts with a dash.
    const { code, output } = local(["--args=--no-such-option 'a value'"], { app });
    expect(code).toBe(1);
    expect(output).toContain('app exited with code 9');
    expect(output).toContain('error-message: ARGS_INVALID: unknown option --no-such-option');
  });
});

describe('npm run local', () => {
  it('shows a bad secret as the app reports it, with no secret value, and fails', () => {
    const secret = JSON.stringify({ ...EXAMPLE_APP.demo.secret!('https://upstream.example.org'), canary_field: 'value-canary-4821' });
    const { code, output } = local([], { env: { IEXEC_APP_DEVELOPER_SECRET: secret } });
    expect(code).toBe(1);
    expect(output).toContain('app exited with code 3');
    expect(output).toContain('error-message: SECRET_INVALID: unknown field "canary_field" in secret');
    expect(output).toContain('FAILED');
    for (const value of ['value-canary-4821', secret]) expect(output).not.toContain(value);
  });

  it('reads the secret from --secret-file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'secret.json');
    writeFileSync(file, '{}');
    const { code, output } = local(['--secret-file', file]);
    expect(code).toBe(1);
    expect(output).toMatch(/error-message: SECRET_INVALID: field "\w+" is required/);
    expect(output).toContain(`secret: from ${file} (not shown)`);
  });

  it.each([
    ['a missing --secret-file', ['--secret-file', '/nonexistent/secret.json'], 'npm run local: --secret-file /nonexistent/secret.json: no such file (see --help)'],
    ['a folder as --secret-file', ['--secret-file', ROOT], `npm run local: --secret-file ${ROOT}: is a folder (see --help)`],
    ['a missing input file', ['--input-file', '/nonexistent/in.txt'], 'npm run local: input /nonexistent/in.txt: no such file (see --help)'],
    ['a bad requester secret', ['--requester-secret', '0=x'], 'npm run local: --requester-secret takes <n>=<path>, n from 1 (see --help)'],
    ['unbalanced quotes in --args', ["--args=--key 'x"], "npm run local: --args has an unbalanced ' (see --help)"],
    ['a bad --repeat', ['--repeat', '0'], 'npm run local: --repeat takes a whole number from 1 (see --help)'],
    ['a bad --bot', ['--bot', 'x'], 'npm run local: --bot takes a whole number from 1 (see --help)'],
    ['--protected-data not JSON', ['--protected-data', join(ROOT, 'README.md')], `npm run local: --protected-data ${join(ROOT, 'README.md')}: not JSON (see --help)`],
    ['--protected-data and --dataset', ['--protected-data', join(ROOT, 'tsconfig.json'), '--dataset', join(ROOT, 'README.md')], 'npm run local: --dataset and --protected-data are both the dataset: give one (see --help)'],
    ['--protected-data holding an array', ['--protected-data', join(ROOT, 'tsconfig.json')], `npm run local: --protected-data ${join(ROOT, 'tsconfig.json')}: DataProtector refuses this object (each value a string, number, boolean, object, {"@bigint": "…"} or {"@file": "path"}) (see --help)`],
    ['--bot with --repeat', ['--bot', '2', '--repeat', '2'], 'npm run local: --bot and --repeat go one at a time: the tasks of a bag differ by design (see --help)'],
    ['a bad --callback', ['--callback', '0x12'], 'npm run local: --callback takes an address: 0x and 40 hex digits (see --help)'],
    ['an unknown --worker', ['--worker', 'v7'], 'npm run local: --worker takes one of v9-tdx, v8-tee, v8-standard (see --help)'],
  ])('says in one line what is wrong with %s, and exits 2', (_, args, line) => {
    const { code, output } = local(args);
    expect(code).toBe(2);
    expect(output.trim()).toBe(line);
  });

  it('refuses an unknown option with its usage', () => {
    const { code, output } = local(['--secret-fil', 'x']);
    expect(code).toBe(2);
    expect(output).toContain("Unknown option '--secret-fil'");
    expect(output).toContain('Usage: npm run local');
    expect(output).not.toMatch(/\n\s+at .*:\d+:\d+/);
  });

  it('gives the app input files, the dataset and requester secrets as a worker names them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-'));
    writeFileSync(join(dir, 'topics.txt'), 'courage\n');
    writeFileSync(join(dir, 'data.bin'), 'dataset');
    writeFileSync(join(dir, 'signature'), 'sig-canary-1');
    const { code, output } = local(
      ['--args', '', '--input-file', join(dir, 'topics.txt'), '--dataset', join(dir, 'data.bin'), '--requester-secret', `1=${join(dir, 'signature')}`],
      { app: QUOTE_APP },
    );
    expect(code).toBe(0);
    const out = outFolder(output);
    expect(decodeQuote(readFileSync(join(out, 'result.txt'), 'utf8'))).toEqual({ topic: 'courage', quote: 'On courage, in fr: be brief.' });
    expect(readdirSync(join(out, '..', 'iexec_in')).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^0x[0-9a-f]{64}$/), expect.stringMatching(/^0x[0-9a-f]{40}$/)]));
    expect(output).not.toContain('sig-canary-1');
  });

  it('catches a file name longer than 31 characters', () => {
    const { code, output } = local(['--app', fixture('long-name-app.cjs')]);
    expect(code).toBe(1);
    expect(output).toContain(`✗ file names longer than 31 bytes of UTF-8, which fail the task (POST_COMPUTE_TOO_LONG_RESULT_FILE_NAME): ${'r'.repeat(28)}.txt`);
  });

  it('catches a deterministic-output-path outside IEXEC_OUT', () => {
    const { code, output } = local(['--app', fixture('outside-path-app.cjs')]);
    expect(code).toBe(1);
    expect(output).toMatch(/✗ deterministic-output-path is an absolute path inside IEXEC_OUT \(\S+\/\.\.\/iexec_in\/result\.txt\)/);
  });

  it('gives the app the worker variables and PATH, nothing else from the caller', () => {
    const { code, output } = local(['--app', fixture('env-dump-app.cjs')], { env: { CALLER_ONLY_VARIABLE: 'x', HOME: '/root' } });
    expect(code).toBe(0);
    const names = JSON.parse(readFileSync(join(outFolder(output), 'env.json'), 'utf8')) as string[];
    expect(names).toEqual([
      'IEXEC_APP_DEVELOPER_SECRET', 'IEXEC_APP_DEVELOPER_SECRET_1', 'IEXEC_BOT_FIRST_INDEX', 'IEXEC_BOT_SIZE',
      'IEXEC_BOT_TASK_INDEX', 'IEXEC_DATASET_ADDRESS', 'IEXEC_DATASET_FILENAME', 'IEXEC_DEAL_ID', 'IEXEC_IN',
      'IEXEC_INPUT_FILES_NUMBER', 'IEXEC_OUT', 'IEXEC_TASK_ID', 'IEXEC_TASK_INDEX', 'PATH',
    ]);
  });

  it('--repeat 3 fails a bundle whose result varies without saying so, and passes a fixed one', () => {
    const varying = local(['--repeat', '3', '--app', fixture('varying-output-app.cjs')]);
    expect(varying.output).toContain('✗ result digest NOT stable across 3 runs (3 distinct)');
    expect(varying.code).toBe(1);
    const fixed = local(['--repeat', '3', '--app', fixture('fixed-output-app.cjs')]);
    expect(fixed.output).toContain('✓ result digest stable across 3 runs');
    // Computed apart from the tool by test/vectors/keccak_reference.py: the same three files.
    expect(fixed.output).toContain('result digest: 0x5cc3f61a49e05b50d0ff1327b11c56a23661264e6505c21dbf97d35e68612256');
    expect(fixed.code).toBe(0);
  });

  it("--callback: the digest is callback-data's, which an app that writes none fails", () => {
    const { code, output } = local(['--callback', `0x${'ab'.repeat(20)}`]);
    expect(code).toBe(1);
    expect(output).toContain("✗ callback-data, for the deal's callback: non-empty hex");
    expect(output).not.toContain('file names at most');
  });

  it("--callback: an app that writes callback-data (the second app) passes, with Keccak-256 of its bytes as the digest", () => {
    const { code, output } = local(['--callback', `0x${'ab'.repeat(20)}`], { app: QUOTE_APP });
    expect(code).toBe(0);
    const data = readFileSync(join(outFolder(output), 'result.txt'), 'utf8');
    expect(decodeQuote(data)).toEqual({ topic: 'brevity', quote: 'On brevity, in fr: be brief.' });
    expect(output).toContain(`result digest: 0x${Buffer.from(keccak_256(Buffer.from(data.slice(2), 'hex'))).toString('hex')}`);
  });

  it('--worker v8-standard: the variables of a task without TEE, so no secret for the app', () => {
    const { code, output } = local(['--worker', 'v8-standard']);
    expect(code).toBe(1);
    expect(output).toContain('error-message: SECRET_MISSING:');
  });

  it('--bot 3 runs the three tasks of a bag, each with its index, and shows each digest', () => {
    const { code, output } = local(['--bot', '3', '--app', fixture('env-dump-app.cjs')]);
    expect(code).toBe(0);
    for (const index of [0, 1, 2]) expect(output).toContain(`task ${index} of the bag of 3: task folder`);
    expect(output.match(/result digest: 0x[0-9a-f]{64}/g)).toHaveLength(3);
    const values = [...output.matchAll(/task folder (\S+)/g)].map(([, folder]) => JSON.parse(readFileSync(join(ROOT, folder!, 'iexec_out', 'bot.json'), 'utf8')));
    expect(values).toEqual([0, 1, 2].map((index) => ({ size: '3', first: '0', index: String(index) })));
  });

  it('--protected-data: a protected data made by DataProtector from JSON, given as the dataset, which iExec\'s deserializer reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-pd-'));
    writeFileSync(join(dir, 'photo.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(join(dir, 'data.json'), JSON.stringify({ email: 'owner@example.org', big: { '@bigint': '12345678901234567890' }, profile: { photo: { '@file': 'photo.bin' } } }));
    const { code, output } = local(['--protected-data', join(dir, 'data.json')]);
    expect(code).toBe(0);
    const input = join(outFolder(output), '..', 'iexec_in');
    const [name] = readdirSync(input);
    expect(name).toMatch(/^0x[0-9a-f]{40}$/);
    const read = new IExecDataProtectorDeserializer({ mode: 'borsh', protectedDataPath: join(input, name!) });
    expect(await read.getValue('email', 'string')).toBe('owner@example.org');
    expect(await read.getValue('big', 'i128')).toBe(12345678901234567890n);
    expect(Buffer.from(await read.getValue('profile.photo', 'application/octet-stream'))).toEqual(Buffer.from([1, 2, 3]));
    expect(output).not.toContain('owner@example.org');
  });

  it('has --help', () => {
    expect(local(['--help']).output).toContain('Usage: npm run local');
  });
});

describe('npm run local, a bulk task (several --protected-data)', () => {
  const CANARY = 'bulk-owner-canary@example.org';
  function protectedData(...scores: number[]): string[] {
    const dir = mkdtempSync(join(tmpdir(), 'local-bulk-'));
    return scores.flatMap((score, i) => {
      writeFileSync(join(dir, `${i}.json`), JSON.stringify({ email: CANARY, score }));
      return ['--protected-data', join(dir, `${i}.json`)];
    });
  }

  it('runs the app once per protected data, a bad one recorded by its code, none of their values shown', () => {
    const { code, output } = local(protectedData(10, 120, 95), { app: SCORE_APP });
    expect(code).toBe(0);
    expect(output).toContain('a bulk of 3 protected data');
    expect(output).toContain('app stdout | bulk: 2 of 3 protected data processed');
    expect(output).not.toContain('✗');
    const report = JSON.parse(readFileSync(join(outFolder(output), 'result.txt'), 'utf8')) as { results: { success: boolean; error?: { code: string } }[] };
    expect(report.results.map((r) => r.error?.code ?? 'OK')).toEqual(['OK', 'SCORE_OUT_OF_RANGE', 'OK']);
    expect(output).not.toContain(CANARY);
  });

  it('needs a v9-tdx worker (SMS 9.2+)', () => {
    expect(local([...protectedData(1, 2), '--worker', 'v8-tee'], { app: SCORE_APP }).output).toBe(
      'npm run local: several --protected-data make a bulk task, which only v9-tdx workers run (see --help)\n',
    );
  });
});

describe('splitArgs, as a worker splits iexec app run --args', () => {
  it.each([
    ['--key hits', ['--key', 'hits']],
    ["--name 'two words' --x \"a b\"", ['--name', 'two words', '--x', 'a b']],
    ['  spaced   out  ', ['spaced', 'out']],
    ["--empty ''", ['--empty', '']],
    ['', []],
  ])('%j', (text, words) => {
    expect(splitArgs(text)).toEqual(words);
  });
});
