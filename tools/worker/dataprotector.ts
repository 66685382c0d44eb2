/**
 * Protected data made by DataProtector's own code, as `protectData` makes them before encrypting
 * them: `ensureDataObjectIsValid` then `createZipFromObject` (src/utils/data.ts of
 * @iexec/dataprotector). Neither is exported by the package, so they are imported from its files.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** borsh: DataProtector 1 and later (here 2.0.0-beta.27); legacy: DataProtector 0 (0.5.3, its last). */
export type Generation = 'borsh' | 'legacy';

/** A protected object as DataProtector takes it: nested objects, scalars, and bytes for files. */
export interface DataObject {
  [key: string]: string | number | bigint | boolean | Uint8Array | DataObject;
}

interface DataUtils {
  ensureDataObjectIsValid(data: DataObject): void;
  createZipFromObject(data: DataObject): Promise<Uint8Array>;
}

const require = createRequire(import.meta.url);
const UTILS: Record<Generation, [pkg: string, file: string]> = {
  borsh: ['dataprotector-v2', 'utils/data.js'],
  legacy: ['dataprotector-v0', 'utils/data.js'],
};
const loaded = new Map<Generation, Promise<DataUtils>>();
const utilsOf = (generation: Generation): Promise<DataUtils> => {
  const [pkg, file] = UTILS[generation];
  const utils = loaded.get(generation) ?? (import(pathToFileURL(join(dirname(require.resolve(pkg)), file)).href) as Promise<DataUtils>);
  loaded.set(generation, utils);
  return utils;
};

/** The ZIP DataProtector makes of `data` (it refuses what protectData refuses). */
export async function protectedZip(data: DataObject, generation: Generation): Promise<Uint8Array> {
  const { ensureDataObjectIsValid, createZipFromObject } = await utilsOf(generation);
  ensureDataObjectIsValid(data);
  return createZipFromObject(data);
}

/** The same, written to a fresh folder: the path a task's dataset would have. */
export async function protectedDataFile(data: DataObject, generation: Generation, name = '0x0123456789abcdef0123456789abcdef01234567'): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'protected-data-')), name);
  writeFileSync(path, await protectedZip(data, generation));
  return path;
}

/**
 * A protected object from JSON, as `npm run local -- --protected-data FILE.json` takes it: JSON's
 * strings, numbers, booleans and objects as they are; `{"@bigint": "123"}` a bigint and
 * `{"@file": "path"}` a file's bytes (the path relative to the JSON file's folder).
 */
export function dataObjectFromJson(value: unknown, folder: string): DataObject {
  const convert = (field: unknown): DataObject[string] => {
    if (typeof field === 'string' || typeof field === 'number' || typeof field === 'boolean') return field;
    if (typeof field !== 'object' || field === null || Array.isArray(field)) throw new Error('a value that is not a string, number, boolean or object');
    const { '@bigint': bigint, '@file': file, ...rest } = field as Record<string, unknown>;
    if (typeof bigint === 'string' && Object.keys(rest).length === 0 && file === undefined) return BigInt(bigint);
    if (typeof file === 'string' && Object.keys(rest).length === 0 && bigint === undefined) return readFileSync(join(folder, file));
    return dataObjectFromJson(field, folder);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, convert(field)]));
}
