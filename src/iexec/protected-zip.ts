/**
 * The entries of a protected data's ZIP, read from the file as a stream: memory stays flat
 * whatever the size of a file field. Loaded only when a task has a protected data
 * (protected-data.ts imports it dynamically).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
// fflate's Node build loads worker_threads when it is evaluated, for asynchronous APIs not used here.
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate/browser';
import { taskError } from '../errors';

export interface ScannedEntry {
  /** Bytes once uncompressed. */
  size: number;
  /** The entry's bytes, for the entries that were asked for. */
  bytes?: Buffer;
}

type OnData = (data: Uint8Array, final: boolean) => void;

// fflate's messages are about the format only, but they are replaced like any library's.
function notDataProtectorZip() {
  return taskError('PROTECTED_DATA_INVALID', 'protected data is not a ZIP file as DataProtector makes it');
}

/**
 * Pushes the file through fflate's streaming reader, one chunk at a time. `onFile` says where an
 * entry's data goes; every entry is started, because fflate keeps the data of an entry that is
 * not started in memory.
 */
async function* pushThrough(path: string, onFile: (file: UnzipFile) => OnData | undefined): AsyncGenerator<void> {
  const unzip = new Unzip((file) => {
    const onData = onFile(file);
    file.ondata = (error, data, final) => {
      // Stryker disable next-line ConditionalExpression: fflate reports only an unknown compression here, and then fails on its own
      if (error) throw error;
      onData?.(data, final);
    };
    file.start();
  });
  // DataProtector stores its entries; a compressed one is read too.
  unzip.register(UnzipInflate);
  try {
    for await (const chunk of createReadStream(path)) {
      unzip.push(chunk as Buffer);
      yield;
    }
    // A ZIP cut short ends inside an entry: fflate throws.
    unzip.push(new Uint8Array(0), true);
  } catch {
    throw notDataProtectorZip();
  }
}

/**
 * Reads the whole ZIP once: each entry's size, and the bytes of those named in `keep`. A file
 * with no entry at all is not one DataProtector made; an entry named twice makes the data ambiguous.
 */
export async function scanZip(path: string, keep: ReadonlySet<string>): Promise<Map<string, ScannedEntry>> {
  const entries = new Map<string, ScannedEntry>();
  let duplicate = false;
  const pushes = pushThrough(path, (file) => {
    duplicate ||= entries.has(file.name);
    const entry: ScannedEntry = { size: 0 };
    entries.set(file.name, entry);
    const parts = keep.has(file.name) ? [] as Uint8Array[] : undefined;
    return (data, final) => {
      // Counted, not taken from the header: an entry may have its sizes after its data.
      entry.size += data.length;
      parts?.push(data);
      if (final && parts) entry.bytes = Buffer.concat(parts);
    };
  });
  while (!(await pushes.next()).done);
  if (entries.size === 0) throw notDataProtectorZip();
  if (duplicate) throw taskError('PROTECTED_DATA_INVALID', 'protected data has two entries for one field');
  return entries;
}

/** One entry's data as a stream, read from the file as it is consumed; the file is closed at the entry's end. */
export function entryStream(path: string, name: string): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    const ready: Buffer[] = [];
    let done = false;
    const pushes = pushThrough(path, (file) =>
      file.name === name
        ? (data, final) => {
            ready.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
            done = final;
          }
        : undefined,
    );
    try {
      while (!done && !(await pushes.next()).done) yield* ready.splice(0);
    } finally {
      // Closes the file when the entry ends, or when the reader stops early.
      await pushes.return(undefined);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
