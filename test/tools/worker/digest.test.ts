import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callbackDigest, fileDigest, folderDigest, resultDigest } from '../../../tools/worker/digest';

/**
 * iExec's own test vectors (GitHub, iExecBlockchainComputing), the same bytes in the same files:
 * - iexec-common src/test/.../utils/FileHashUtilsTests (shouldGetFileSha256,
 *   shouldGetFileTreeSha256SinceFileTree) and worker/result/ResultUtilsTests
 *   (shouldComputeWeb2ResultDigest, shouldComputeWeb3ResultDigest);
 * - iexec-worker src/test/.../result/ResultServiceTests (…Web2ResultDigestSinceFileTree,
 *   …SinceFile, …Web3ResultDigest), with its resources under src/test/resources/tmp/test-worker/;
 * - tee-worker-post-compute (Java) src/itest/resources/iexec_out/computed.json and its expected
 *   post-computed result; tee-worker-compute-rust post-compute result_utils.rs
 *   (compute_web3_result_digest_returns_digest_when_valid_input).
 */
const IEXEC = {
  result1: { name: 'result1.txt', text: 'A result', digest: '0xd885f429a59e0816822fc0927be6a6af20ade2c79db49df6c6022f79cb27ac16' },
  result2: { name: 'result2.txt', text: 'Another result' },
  twoResults: '0xcc77508549295dd5de5876a2f4f00d4c3c27a547c6403450e43ab4de191bf1bc',
  workerComputed: { name: 'computed.json', text: '{\n  "deterministic-output-path": "/iexec_out"\n}' },
  workerFolder: '0xc6114778cc5c33db5fbbd4d0f9be116ed0232961045341714aba5a72d3ef7402',
  trace: {
    name: 'computing-trace.txt',
    text: 'Detected face in image1.jpg\nDetected face in image4.jpg\nDetected face in image5.jpg\nEnd compute',
    digest: '0x09b727883db89fa3b3504f83e0c67d04a0d4fc35a9670cc4517c49d2a27ad171',
  },
  callbacks: [
    [`0x${'0'.repeat(63)}1`, '0xb10e2d527612073b26eecdfd717e6a320cf44b4afac2b0732d9fcbe2b7fa0cf6'],
    [`0x${'0'.repeat(63)}a`, '0xc65a7bb8d6351c1cf70c95a316cc6a92839c986682d98bc35f958f4883f9d2a8'],
  ],
  // What the old Rust post-compute (tee-worker-post-compute-rust) gave for the first: Keccak-256 of the text.
  oldRustCallback: '0xcb371be217faa47dab94e0d0ff0840c6cbf41645f0dc1a6ae3f34447155a76f3',
} as const;

function folder(...files: { name: string; text: string }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'digest-'));
  for (const { name, text } of files) writeFileSync(join(dir, name), text);
  return dir;
}

describe("the result digest, on iExec's own test vectors", () => {
  it('a file: 0x + sha256 of its bytes', () => {
    const dir = folder(IEXEC.result1, IEXEC.trace);
    expect(fileDigest(join(dir, IEXEC.result1.name))).toBe(IEXEC.result1.digest);
    expect(resultDigest(join(dir, IEXEC.trace.name))).toBe(IEXEC.trace.digest);
  });

  it('a folder: Keccak-256 over the 32-byte sha256 of each entry, sorted by name; computed.json included', () => {
    expect(folderDigest(folder(IEXEC.result2, IEXEC.result1))).toBe(IEXEC.twoResults);
    expect(resultDigest(folder(IEXEC.result1, IEXEC.result2, IEXEC.workerComputed))).toBe(IEXEC.workerFolder);
  });

  it.each(IEXEC.callbacks)('callback-data %s: Keccak-256 of its decoded bytes', (data, digest) => {
    expect(callbackDigest(data)).toBe(digest);
    expect(callbackDigest(data)).not.toBe(IEXEC.oldRustCallback);
  });
});

describe('the result digest where the Rust post-compute decides (today\'s workers)', () => {
  it('a folder drops empty files, sub-folders and broken links, follows links, and counts hidden files', () => {
    const dir = folder(IEXEC.result1, { name: 'empty.txt', text: '' });
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'nested', 'z.txt'), 'not hashed');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'broken'));
    const elsewhere = folder(IEXEC.result2);
    symlinkSync(join(elsewhere, IEXEC.result2.name), join(dir, IEXEC.result2.name));
    expect(folderDigest(dir)).toBe(IEXEC.twoResults);
    writeFileSync(join(dir, '.hidden'), 'counted');
    expect(folderDigest(dir)).not.toBe(IEXEC.twoResults);
  });

  it('sorts by the bytes of the names: upper case before lower case, not as a locale would', () => {
    const upper = folder({ name: 'B', text: 'A result' }, { name: 'a', text: 'Another result' });
    const sameOrder = folder({ name: 'x1', text: 'A result' }, { name: 'x2', text: 'Another result' });
    expect(folderDigest(upper)).toBe(folderDigest(sameOrder));
  });

  it('has none for an empty file, an empty folder, or missing, empty or non-hex callback-data', () => {
    const dir = folder({ name: 'empty.txt', text: '' });
    expect(fileDigest(join(dir, 'empty.txt'))).toBeUndefined();
    expect(folderDigest(mkdtempSync(join(tmpdir(), 'digest-empty-')))).toBeUndefined();
    for (const data of [undefined, null, 42, '', '0xzz', `0X${'0'.repeat(63)}1`]) expect(callbackDigest(data)).toBeUndefined();
  });

  it('decodes callback-data as hex_string_to_byte_array does: the 0x optional, an odd first digit a byte of its own', () => {
    const [[data, digest]] = IEXEC.callbacks;
    expect(callbackDigest(data.slice(2))).toBe(digest);
    expect(callbackDigest('0x1')).toBe(callbackDigest('0x01'));
    // Keccak-256 of nothing: Ethereum's, not SHA3-256's (0xa7ffc6f8…).
    expect(callbackDigest('0x')).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  });
});
