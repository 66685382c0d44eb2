import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutput } from '../../../tools/worker/check-output';
import { ZERO_ADDRESS } from '../../../tools/worker/worker-env';

/** An IEXEC_OUT holding `files`, and computed.json as given (an object is written as JSON). */
function out(files: Record<string, string>, computed: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'iexec-out-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  if (computed !== undefined) writeFileSync(join(dir, 'computed.json'), typeof computed === 'string' ? computed : JSON.stringify(computed));
  return dir;
}
const failed = (dir: string, deal = {}) => checkOutput(dir, deal).checks.filter((c) => !c.ok).map((c) => c.text);
const SHA256_X = '0x2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881';

describe('checkOutput, as the post-compute reads IEXEC_OUT', () => {
  it('passes a result file and gives its digest; IEXEC_OUT as the app saw it may differ from the host folder', () => {
    const dir = out({ 'result.txt': 'x' }, { 'deterministic-output-path': '/iexec_out/result.txt' });
    expect(checkOutput(dir, { appOut: '/iexec_out' })).toMatchObject({ ok: true, digest: SHA256_X });
    const local = out({ 'result.txt': 'x' }, {});
    writeFileSync(join(local, 'computed.json'), JSON.stringify({ 'deterministic-output-path': join(local, 'result.txt') }));
    expect(checkOutput(local)).toMatchObject({ ok: true, digest: SHA256_X });
  });

  it.each([
    ['no computed.json', undefined],
    ['computed.json not JSON', '{"deterministic-output-path":'],
    ['computed.json an array', '[]'],
    ['a field that is not a string', { 'deterministic-output-path': '/iexec_out/result.txt', 'error-message': 7 }],
  ])('refuses %s', (_, computed) => {
    expect(failed(out({ 'result.txt': 'x' }, computed))).toEqual(['computed.json exists and parses (its fields strings or null)']);
  });

  it.each([
    ['missing', {}, 'deterministic-output-path is set'],
    ['empty', { 'deterministic-output-path': '' }, 'deterministic-output-path is set'],
    ['relative', { 'deterministic-output-path': 'result.txt' }, 'deterministic-output-path is an absolute path inside IEXEC_OUT (result.txt)'],
    ['outside', { 'deterministic-output-path': '/iexec_out/../etc/passwd' }, 'deterministic-output-path is an absolute path inside IEXEC_OUT (/iexec_out/../etc/passwd)'],
    ['a sibling that only starts the same', { 'deterministic-output-path': '/iexec_outer/result.txt' }, 'deterministic-output-path is an absolute path inside IEXEC_OUT (/iexec_outer/result.txt)'],
    ['not there', { 'deterministic-output-path': '/iexec_out/other.txt' }, 'deterministic-output-path other.txt exists (result_utils.rs compute_web2_result_digest)'],
  ])('refuses a deterministic-output-path %s', (_, computed, text) => {
    expect(failed(out({ 'result.txt': 'x' }, computed), { appOut: '/iexec_out' })).toEqual([text]);
  });

  it('takes a name inside IEXEC_OUT that merely starts with dots', () => {
    expect(checkOutput(out({ '..result': 'x' }, { 'deterministic-output-path': '/iexec_out/..result' }), { appOut: '/iexec_out' })).toMatchObject({ ok: true, digest: SHA256_X });
  });

  it('refuses an empty result file and an empty folder: no digest, the task fails', () => {
    const noDigest = 'has a digest: a file that is not empty, or a folder with an entry (result_utils.rs get_file_tree_sha256)';
    expect(failed(out({ 'result.txt': '' }, { 'deterministic-output-path': '/iexec_out/result.txt' }), { appOut: '/iexec_out' })).toEqual([`deterministic-output-path result.txt ${noDigest}`]);
    const dir = out({}, { 'deterministic-output-path': '/iexec_out/result' });
    mkdirSync(join(dir, 'result'));
    expect(failed(dir, { appOut: '/iexec_out' })).toEqual([`deterministic-output-path result ${noDigest}`]);
  });

  it('takes the whole IEXEC_OUT as the output: computed.json is then hashed too', () => {
    const report = checkOutput(out({ 'a.txt': 'x' }, { 'deterministic-output-path': '/iexec_out' }), { appOut: '/iexec_out' });
    expect(report.ok).toBe(true);
    expect(report.digest).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('counts file names in bytes of UTF-8, regular files at any depth only', () => {
    const thirtyOneBytes = `${'é'.repeat(15)}x`; // 16 characters
    const thirtyTwoBytes = 'é'.repeat(16); // 16 characters too
    const ok = out({ [`deep/${thirtyOneBytes}`]: 'x', 'result.txt': 'x' }, { 'deterministic-output-path': '/iexec_out/result.txt' });
    mkdirSync(join(ok, 'a-folder-whose-name-is-longer-than-31-bytes'));
    symlinkSync(join(ok, 'result.txt'), join(ok, 'a-link-whose-name-is-longer-than-31-bytes'));
    // Not valid UTF-8: web2_result.rs skips such a name (to_str() is None).
    writeFileSync(Buffer.concat([Buffer.from(`${ok}/`), Buffer.alloc(40, 0xff)]), 'x');
    expect(checkOutput(ok, { appOut: '/iexec_out' }).ok).toBe(true);
    const long = out({ [`deep/${thirtyTwoBytes}`]: 'x', 'result.txt': 'x' }, { 'deterministic-output-path': '/iexec_out/result.txt' });
    expect(failed(long, { appOut: '/iexec_out' })).toEqual([`file names longer than 31 bytes of UTF-8, which fail the task (POST_COMPUTE_TOO_LONG_RESULT_FILE_NAME): ${thirtyTwoBytes}`]);
  });

  it("with the deal's callback, digests callback-data and checks nothing else", () => {
    const callback = `0x${'ab'.repeat(20)}`;
    const computed = { 'callback-data': `0x${'0'.repeat(63)}1` };
    expect(checkOutput(out({ [`${'r'.repeat(40)}.txt`]: 'x' }, computed), { callback })).toEqual({
      ok: true,
      checks: [{ ok: true, text: 'computed.json exists and parses (its fields strings or null)' }, { ok: true, text: "callback-data, for the deal's callback: non-empty hex (result_utils.rs compute_web3_result_digest)" }],
      digest: '0xb10e2d527612073b26eecdfd717e6a320cf44b4afac2b0732d9fcbe2b7fa0cf6',
    });
    expect(failed(out({}, { 'deterministic-output-path': '/iexec_out/result.txt' }), { callback })).toEqual(["callback-data, for the deal's callback: non-empty hex (result_utils.rs compute_web3_result_digest)"]);
  });

  it('without a callback in the deal (none, or the zero address), callback-data does not decide the digest', () => {
    const dir = out({ 'result.txt': 'x' }, { 'deterministic-output-path': '/iexec_out/result.txt', 'callback-data': '0x01' });
    for (const deal of [{ appOut: '/iexec_out' }, { appOut: '/iexec_out', callback: ZERO_ADDRESS }]) {
      expect(checkOutput(dir, deal)).toMatchObject({ ok: true, digest: SHA256_X });
    }
  });

  it('shows the error-message a failed app wrote', () => {
    const dir = out({ 'error.txt': 'X: y' }, { 'deterministic-output-path': '/iexec_out/error.txt', 'error-message': 'X: y' });
    expect(checkOutput(dir, { appOut: '/iexec_out' })).toMatchObject({ ok: true, errorMessage: 'X: y' });
  });
});
