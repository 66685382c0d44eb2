/**
 * The result digest, as the post-compute of today's workers computes it (the value replicated
 * workers must agree on): iExecBlockchainComputing/tee-worker-compute-rust, post-compute
 * src/compute/utils/result_utils.rs and hash_utils.rs, which SMS 9.x names for TDX and SCONE.
 * Where iExec's Java code (iexec-common FileHashUtils, ResultUtils; the worker's standard tasks
 * and the old Java post-compute) differs, the difference is said beside the rule.
 * Each function returns undefined where the post-compute finds no digest, which fails the task
 * (PostComputeResultDigestComputationFailed).
 * Keccak-256 is Ethereum's hash, not SHA3-256 (they pad differently).
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';

const hex = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString('hex')}`;
const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** sha256_file: the bytes a path reads (links followed); none for an empty file or what cannot be read (a folder). Java hashes an empty file. */
function fileSha256(path: string | Buffer): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  return bytes.length === 0 ? undefined : sha256(bytes);
}

/** A file: 0x + sha256 of its bytes; an empty file has none. */
export function fileDigest(path: string): string | undefined {
  const digest = fileSha256(path);
  return digest && hex(digest);
}

/**
 * A folder (get_file_tree_sha256): its direct entries sorted by name (bytes), each entry's sha256
 * (links followed; a sub-folder, an empty file or a broken link gives nothing), the 32-byte
 * digests concatenated, then Keccak-256. An empty folder has none (Java: Keccak-256 of nothing).
 */
export function folderDigest(path: string): string | undefined {
  const names = readdirSync(path, { encoding: 'buffer' }).sort(Buffer.compare);
  if (names.length === 0) return undefined;
  const digests = names.flatMap((name) => fileSha256(Buffer.concat([Buffer.from(`${path}/`), name])) ?? []);
  return hex(keccak_256(Buffer.concat(digests)));
}

/**
 * callback-data (compute_web3_result_digest): Keccak-256 of its hex-decoded bytes
 * (hex_string_to_byte_array: a lowercase `0x` is dropped, an odd length's first digit is a byte
 * of its own). None when it is missing or empty; the Rust post-compute panics on a character
 * that is not hex (Java hashes garbage). The old Rust post-compute (tee-worker-post-compute-rust)
 * hashed the text itself, fixed in tee-worker-compute-rust ae06ba3 (#11) to agree with Java.
 */
export function callbackDigest(callbackData: unknown): string | undefined {
  if (typeof callbackData !== 'string' || callbackData === '') return undefined;
  const digits = callbackData.replace(/^0x/, '');
  if (!/^[0-9a-fA-F]*$/.test(digits)) return undefined;
  return hex(keccak_256(Buffer.from(digits.length % 2 === 0 ? digits : `0${digits}`, 'hex')));
}

/** The digest of a deterministic output that exists: a folder's or a file's. */
export const resultDigest = (path: string): string | undefined => (statSync(path).isDirectory() ? folderDigest(path) : fileDigest(path));

