/**
 * The result digest, as an iExec worker computes it (the value workers must agree on):
 * - a file: 0x + sha256 of its bytes;
 * - a folder: sha256 of each direct child file, in sorted name order, the 32-byte digests
 *   concatenated, then Keccak-256 of that;
 * - with callback-data: Keccak-256 of the hex-decoded callback bytes.
 * Keccak-256 is Ethereum's hash, not SHA3-256 (they pad differently).
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const hex = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString('hex')}`;
const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

export function fileDigest(path: string): string {
  return hex(sha256(readFileSync(path)));
}

export function folderDigest(path: string): string {
  const files = readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
  return hex(keccak_256(Buffer.concat(files.map((name) => sha256(readFileSync(join(path, name)))))));
}

export function callbackDigest(callbackData: string): string {
  return hex(keccak_256(Buffer.from(callbackData.replace(/^0x/, ''), 'hex')));
}

/** The digest the worker would publish for this deterministic output (and callback data). */
export function resultDigest(deterministicPath: string, callbackData?: string): string {
  if (callbackData !== undefined) return callbackDigest(callbackData);
  return statSync(deterministicPath).isDirectory() ? folderDigest(deterministicPath) : fileDigest(deterministicPath);
}
