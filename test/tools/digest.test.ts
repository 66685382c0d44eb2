import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callbackDigest, fileDigest, folderDigest, resultDigest } from '../../tools/digest';

// Computed apart from the tool, by test/vectors/keccak_reference.py (its own Keccak and Python's sha256).
const VECTORS = {
  file: '0x64463a187566cb32894ef751a9892b4fbb5e696b5393333472cc43fd11c83925',
  folder: '0x5cc3f61a49e05b50d0ff1327b11c56a23661264e6505c21dbf97d35e68612256',
  callback: '0xbeced09521047d05b8960b7e7bcc1d1292cf3e4b2a6b63f48335cbde5f7545d2',
  empty: '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
};

function folderOfThree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'digest-'));
  // Written out of order: the digest must sort by name, not follow creation order.
  writeFileSync(join(dir, 'c.bin'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  writeFileSync(join(dir, 'a.txt'), 'alpha');
  writeFileSync(join(dir, 'b.txt'), 'bravo\n');
  return dir;
}

describe('result digest (worker algorithm)', () => {
  it('a file: 0x + sha256 of its bytes', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'digest-')), 'result.txt');
    writeFileSync(path, 'endpoint hit 42 times');
    expect(fileDigest(path)).toBe(VECTORS.file);
    expect(resultDigest(path)).toBe(VECTORS.file);
  });

  it('a folder: Keccak-256 over the sorted sha256 digests of its files', () => {
    const dir = folderOfThree();
    expect(folderDigest(dir)).toBe(VECTORS.folder);
    expect(resultDigest(dir)).toBe(VECTORS.folder);
  });

  it('a folder ignores its sub-folders (direct child files only)', () => {
    const dir = folderOfThree();
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'nested', 'z.txt'), 'ignored');
    expect(folderDigest(dir)).toBe(VECTORS.folder);
  });

  it('callback data: Keccak-256 of the decoded bytes, which wins over the file', () => {
    const callback = `0x${'00'.repeat(31)}2a`;
    expect(callbackDigest(callback)).toBe(VECTORS.callback);
    expect(resultDigest('/nonexistent', callback)).toBe(VECTORS.callback);
  });

  it('is Keccak-256, not SHA3-256 (they differ on every input)', () => {
    expect(callbackDigest('0x')).toBe(VECTORS.empty);
    expect(callbackDigest('0x')).not.toBe('0xa7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a');
  });
});
