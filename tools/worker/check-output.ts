/**
 * Checks an IEXEC_OUT folder as iExec does after a task, so that a problem shows up here rather
 * than as a failed task that was paid for. The rules are those of the post-compute today's workers
 * run (iExecBlockchainComputing/tee-worker-compute-rust, post-compute/src/compute/: app_runner.rs,
 * computed_file.rs, web2_result.rs, utils/result_utils.rs), each with its source; iapp's own
 * checks (iapp cli/src/utils/deterministicOutput.ts, cli/src/cmd/test.ts) where they add one.
 */
import { isUtf8 } from 'node:buffer';
import { existsSync, lstatSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { callbackDigest, resultDigest } from './digest';
import { ZERO_ADDRESS } from './worker-env';

// web2_result.rs RESULT_FILE_NAME_MAX_LENGTH, counted in bytes of UTF-8 (Java counts UTF-16 units).
const MAX_FILE_NAME_BYTES = 31;
// iapp cli/src/config/config.ts IEXEC_RESULT_UPLOAD_MAX_SIZE; the post-compute itself sets none.
const MAX_OUTPUT_BYTES = 50 * 1024 * 1024;
// computed_file.rs ComputedFile: each an Option<String>, so a value of another type fails to parse.
const COMPUTED_FIELDS = ['deterministic-output-path', 'callback-data', 'task-id', 'result-digest', 'enclave-signature', 'error-message'];

export interface Check {
  ok: boolean;
  text: string;
}

export interface OutputReport {
  checks: Check[];
  ok: boolean;
  digest?: string;
  errorMessage?: string;
}

export interface TaskDeal {
  /**
   * IEXEC_OUT as the app saw it (/iexec_out in an image), which computed.json's paths start
   * with; `outDir` itself unless given.
   */
  appOut?: string;
  /** The deal's callback address (iexec app run --callback); none, or the zero address, for a result file. */
  callback?: string | undefined;
}

/** Regular files under `dir`, at any depth, with their names as bytes (web2_result.rs check_result_files_name: WalkDir, is_file). */
function* regularFiles(dir: Buffer): Generator<{ name: Buffer; path: Buffer }> {
  for (const entry of readdirSync(dir, { encoding: 'buffer', withFileTypes: true }) as Dirent<Buffer>[]) {
    const path = Buffer.concat([dir, Buffer.from('/'), entry.name]);
    if (entry.isDirectory()) yield* regularFiles(path);
    else if (entry.isFile()) yield { name: entry.name, path };
  }
}

export function checkOutput(outDir: string, { appOut = outDir, callback }: TaskDeal = {}): OutputReport {
  const root = Buffer.from(outDir);
  const checks: Check[] = [];
  let errorMessage: string | undefined;
  const check = (ok: boolean, text: string) => (checks.push({ ok, text }), ok);
  const report = (digest?: string): OutputReport => ({
    checks,
    ok: checks.every((c) => c.ok),
    ...(digest === undefined ? {} : { digest }),
    ...(errorMessage === undefined ? {} : { errorMessage }),
  });

  // computed_file.rs read_computed_file: missing, not JSON or a field of the wrong type is PostComputeComputedFileNotFound.
  const computed = readComputed(join(outDir, 'computed.json'));
  if (!check(computed !== undefined, 'computed.json exists and parses (its fields strings or null)') || computed === undefined) return report();
  if (typeof computed['error-message'] === 'string') errorMessage = computed['error-message'];

  // The deal decides, not computed.json (iexec-commons-poco TaskDescription.containsCallback; the SMS's RESULT_STORAGE_CALLBACK).
  if (callback !== undefined && callback.toLowerCase() !== ZERO_ADDRESS) {
    const digest = callbackDigest(computed['callback-data']);
    check(digest !== undefined, 'callback-data, for the deal\'s callback: non-empty hex (result_utils.rs compute_web3_result_digest)');
    return report(digest);
  }
  if (computed['callback-data'] != null) check(true, 'callback-data is not used: the deal has no callback address (npm run local -- --callback ADDRESS)');

  const files = [...regularFiles(root)];
  // Names that are not valid UTF-8 are skipped there (to_str() is None).
  const longNames = files.filter(({ name }) => name.length > MAX_FILE_NAME_BYTES && isUtf8(name)).map(({ name }) => name.toString());
  check(
    longNames.length === 0,
    longNames.length === 0
      ? `file names at most ${MAX_FILE_NAME_BYTES} bytes of UTF-8 (web2_result.rs)`
      : `file names longer than ${MAX_FILE_NAME_BYTES} bytes of UTF-8, which fail the task (POST_COMPUTE_TOO_LONG_RESULT_FILE_NAME): ${longNames.join(', ')}`,
  );
  const size = files.reduce((sum, { path }) => sum + lstatSync(path).size, 0);
  check(size <= MAX_OUTPUT_BYTES, `output size ${size} bytes (iapp test's limit: 50 MiB)`);

  const target = computed['deterministic-output-path'];
  if (!check(typeof target === 'string' && target !== '', 'deterministic-output-path is set') || typeof target !== 'string') return report();
  // Opened as given in the post-compute's container, where only /iexec_out is the app's (a relative
  // path resolves against its own folder); iapp asks for a path starting with /iexec_out.
  const inside = posix.relative(appOut, posix.normalize(target));
  if (!check(isAbsolute(target) && !/^\.\.(\/|$)/.test(inside), `deterministic-output-path is an absolute path inside IEXEC_OUT (${target})`)) return report();
  const hostPath = join(outDir, inside);
  if (!check(existsSync(hostPath), `deterministic-output-path ${inside || '.'} exists (result_utils.rs compute_web2_result_digest)`)) return report();
  const digest = resultDigest(hostPath);
  check(digest !== undefined, `deterministic-output-path ${inside || '.'} has a digest: a file that is not empty, or a folder with an entry (result_utils.rs get_file_tree_sha256)`);
  return report(digest);
}

function readComputed(path: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const fields = parsed as Record<string, unknown>;
    return COMPUTED_FIELDS.every((field) => fields[field] == null || typeof fields[field] === 'string') ? fields : undefined;
  } catch {
    return undefined;
  }
}

