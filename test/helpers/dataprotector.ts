/**
 * Protected data made by DataProtector's own code, as `protectData` makes them before encrypting
 * them: `ensureDataObjectIsValid` then `createZipFromObject` (src/utils/data.ts of
 * @iexec/dataprotector). Neither is exported by the package, so they are imported from its files.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
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
