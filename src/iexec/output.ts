import { accessSync, constants, createWriteStream, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, taskError, toAppError } from '../errors';
import type { FileContent, TaskResult } from './app';

// File names in IEXEC_OUT must stay within 31 bytes, temporary ones included.
const RESULT_FILE = 'result.txt';
const RESULT_FOLDER = 'result';
const STAGING_FOLDER = '.result.tmp';
const ERROR_FILE = 'error.txt';
const COMPUTED_FILE = 'computed.json';
// A folder result's path segment: what iExec takes (web2_result.rs RESULT_FILE_NAME_MAX_LENGTH, 31
// bytes; ASCII, so one byte a character) and nothing that could climb out or hide (no '.' first).
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,30}$/;
// callback-data: whole bytes, with the lowercase 0x the post-compute drops (result_utils.rs hex_string_to_byte_array).
const CALLBACK_HEX = /^0x(?:[0-9a-fA-F]{2})+$/;

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
    throw unwritable(name, error);
  }
}

/** The app's result, in its kind, then computed.json: it only ever points at a complete result. */
export async function writeResult(dir: string, taskResult: TaskResult): Promise<void> {
  try {
    await writeKind(dir, taskResult);
  } catch (error) {
    destroyStreams(taskResult);
    throw error;
  }
}

/**
 * The app's Node streams left unread are destroyed, so that none holds the process open (an HTTP
 * body) once its result is refused. Those read to their end are closed already.
 */
export function destroyStreams({ files }: TaskResult): void {
  for (const content of Object.values(files ?? {})) if (content instanceof Readable) content.destroy();
}

async function writeKind(dir: string, taskResult: TaskResult): Promise<void> {
  const { result, files, callback } = taskResult;
  if ([result, files, callback].filter((value) => value !== undefined).length !== 1) {
    throw taskError('RESULT_INVALID', 'run() must return exactly one of { result }, { files } or { callback }');
  }
  if (files !== undefined) {
    await writeFolder(dir, files);
    return writeComputed(dir, { 'deterministic-output-path': join(dir, RESULT_FOLDER) });
  }
  if (callback !== undefined) {
    if (!CALLBACK_HEX.test(callback)) throw taskError('RESULT_INVALID', 'callback is not 0x followed by an even, non-zero number of hex digits');
    // result.txt holds the same bytes, so that a deal without a callback still gets a result.
    writeAtomically(dir, RESULT_FILE, callback);
    return writeComputed(dir, { 'deterministic-output-path': join(dir, RESULT_FILE), 'callback-data': callback });
  }
  // The post-compute finds no digest for an empty file and fails the task without a word
  // (tee-worker-compute-rust, result_utils.rs sha256_file): a coded failure says why instead.
  if (result === '') throw taskError('RESULT_EMPTY', 'the result is empty, and iExec publishes no empty file (return at least one byte)');
  writeAtomically(dir, RESULT_FILE, result);
  writeComputed(dir, { 'deterministic-output-path': join(dir, RESULT_FILE) });
}

const writeComputed = (dir: string, fields: Record<string, string>) => writeAtomically(dir, COMPUTED_FILE, JSON.stringify(fields));

/** Names are checked before anything is written; a message gives the file's place, never its name. */
function checkFolder(files: Record<string, FileContent>): void {
  const names = Object.keys(files);
  if (names.length === 0) throw taskError('RESULT_EMPTY', 'the result folder has no file, and iExec publishes no empty folder');
  const all = new Set(names);
  names.forEach((name, index) => {
    const segments = name.split('/');
    if (!segments.every((segment) => SEGMENT.test(segment))) {
      throw taskError('RESULT_INVALID', `file ${index + 1} of the result folder has a name iExec refuses: '/'-separated parts of A-Z a-z 0-9 . _ -, none empty or starting with '.', each at most 31 bytes`);
    }
    if (segments.slice(0, -1).some((_, last) => all.has(segments.slice(0, last + 1).join('/')))) {
      throw taskError('RESULT_INVALID', `file ${index + 1} of the result folder is inside another file of it`);
    }
  });
}

/**
 * All the files or none: each streamed into a staging folder that this call creates (an existing
 * name there, a planted link included, is refused and never followed), then one rename to
 * result/. On any failure the staging folder goes, and nothing else.
 */
async function writeFolder(dir: string, files: Record<string, FileContent>): Promise<void> {
  checkFolder(files);
  const staging = join(dir, STAGING_FOLDER);
  try {
    mkdirSync(staging);
  } catch (error) {
    throw unwritable(`${RESULT_FOLDER}/`, error);
  }
  try {
    let written = false;
    for (const [name, content] of Object.entries(files)) {
      const path = join(staging, name);
      mkdirSync(dirname(path), { recursive: true });
      // Stryker disable next-line ObjectLiteral: in a folder this call created, no name exists before it is written; wx keeps it so under a race
      const file = createWriteStream(path, { flags: 'wx' });
      await pipeline(fromApp(content), file);
      written ||= !name.includes('/') && file.bytesWritten > 0;
    }
    // The folder digest covers its top-level files, empty ones dropped (result_utils.rs
    // get_file_tree_sha256): with none left, every such folder has the same digest, which says
    // nothing of the result.
    if (!written) throw taskError('RESULT_EMPTY', 'no top-level file of the result folder has content, and the result digest covers only those');
    renameSync(staging, join(dir, RESULT_FOLDER));
  } catch (error) {
    // Stryker disable next-line BooleanLiteral: the staging folder exists (this call created it); force keeps a racing removal from hiding the failure
    rmSync(staging, { recursive: true, force: true });
    throw error instanceof AppError ? error : unwritable(`${RESULT_FOLDER}/`, error);
  }
}

// Stryker disable next-line ConditionalExpression,StringLiteral: a string taken for a stream is written a character at a time, the same bytes
const isStream = (content: FileContent): content is AsyncIterable<string | Uint8Array> => typeof content !== 'string' && !(content instanceof Uint8Array);

/** A file's content as chunks; the app's own stream failing is the app's error, as if run() had thrown it. */
async function* fromApp(content: FileContent): AsyncGenerator<string | Uint8Array> {
  try {
    yield* isStream(content) ? content : [content];
  } catch (error) {
    throw toAppError(error);
  }
}

const unwritable = (name: string, error: unknown): AppError =>
  // Stryker disable next-line StringLiteral: unreachable, node:fs errors always carry a code
  taskError('OUTPUT_UNWRITABLE', `cannot write ${name} in IEXEC_OUT (${(error as NodeJS.ErrnoException).code ?? 'write failed'})`);

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
