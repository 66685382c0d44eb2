import { accessSync, constants, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskError } from '../errors';

// File names in IEXEC_OUT must stay within 31 characters, temporary ones included.
const RESULT_FILE = 'result.txt';
const ERROR_FILE = 'error.txt';
const COMPUTED_FILE = 'computed.json';

/** IEXEC_OUT, checked to be a writable folder before any work is done. */
export function resolveOutputDir(env: NodeJS.ProcessEnv): string {
  const dir = env.IEXEC_OUT;
  if (!dir) throw taskError('OUTPUT_UNWRITABLE', 'IEXEC_OUT is not set');
  try {
    // Stryker disable next-line StringLiteral: the catch below drops this message
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    accessSync(dir, constants.W_OK);
  } catch {
    throw taskError('OUTPUT_UNWRITABLE', 'IEXEC_OUT is not a writable folder');
  }
  return dir;
}

/**
 * Writes through a temporary file and a rename, so a reader (the worker) sees the whole file
 * or none of it. The temporary file is created, never opened: an existing name there (a file
 * or a link planted to send the write elsewhere) is refused, so nothing is ever written outside
 * IEXEC_OUT. The rename replaces a link at the final name, not its target. No fsync: the worker
 * reads IEXEC_OUT from the same kernel once the app has exited, and a machine crash fails the
 * task anyway.
 */
function writeAtomically(dir: string, name: string, content: string): void {
  const temporary = join(dir, `.${name}.tmp`);
  let created = false;
  try {
    // O_CREAT | O_EXCL: fails on any existing name, a link included, without following it.
    writeFileSync(temporary, content, { flag: 'wx' });
    created = true;
    renameSync(temporary, join(dir, name));
  } catch (error) {
    // Only what this call created is removed: a planted file stays for whoever looks into it.
    if (created) removeQuietly(temporary);
    // Stryker disable next-line StringLiteral: unreachable, node:fs errors always carry a code
    const reason = (error as NodeJS.ErrnoException).code ?? 'write failed';
    throw taskError('OUTPUT_UNWRITABLE', `cannot write ${name} in IEXEC_OUT (${reason})`);
  }
}

/** computed.json comes last: it only ever points at a complete result. */
export function writeResult(dir: string, text: string): void {
  // The post-compute finds no digest for an empty file and fails the task without a word
  // (tee-worker-compute-rust, result_utils.rs sha256_file): a coded failure says why instead.
  if (text === '') throw taskError('RESULT_EMPTY', 'the result is empty, and iExec publishes no empty file (return at least one byte)');
  const resultPath = join(dir, RESULT_FILE);
  writeAtomically(dir, RESULT_FILE, text);
  writeAtomically(dir, COMPUTED_FILE, JSON.stringify({ 'deterministic-output-path': resultPath }));
}

/**
 * The failure, as iExec's own templates report it; `line` must be safe to publish.
 * result.txt goes only once computed.json no longer points at it.
 */
export function writeFailure(dir: string, line: string): void {
  writeAtomically(dir, ERROR_FILE, line);
  writeAtomically(
    dir,
    COMPUTED_FILE,
    JSON.stringify({ 'deterministic-output-path': join(dir, ERROR_FILE), 'error-message': line }),
  );
  removeQuietly(join(dir, RESULT_FILE));
}

function removeQuietly(path: string): void {
  try {
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: without force a missing file throws, and the catch ignores it
    rmSync(path, { force: true });
  } catch {
    // Nothing more to do: the caller reports the failure that brought us here.
  }
}
