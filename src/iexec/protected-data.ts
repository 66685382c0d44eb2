/**
 * The protected data an app accepts (DataProtector, given to the task as its dataset), declared
 * as a zod schema and read into typed values. Its values are the data owner's secrets: no message
 * here ever holds one.
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import * as z from 'zod/mini';
import { taskError } from '../errors';
import { safeName } from './fields';

/**
 * A file field: read on demand from the protected data, as a stream or whole. The plumbing never
 * holds its bytes.
 */
export class ProtectedFile {
  constructor(
    /** Its size in bytes, uncompressed. */
    readonly size: number,
    private readonly open: () => Readable,
  ) {}

  /** Its bytes as a stream: read from the protected data as it is consumed. */
  stream(): Readable {
    return this.open();
  }

  async bytes(): Promise<Buffer> {
    return Buffer.concat(await this.stream().toArray());
  }
}

/** The schema of a file field (any value DataProtector stores as raw bytes: a Uint8Array, a file). */
export const protectedFile = z.instanceof(ProtectedFile);

/** What DataProtector stores, each readable from both of its generations (see decode below). */
type Leaf = z.ZodMiniString<string> | z.ZodMiniNumber<number> | z.ZodMiniBigInt<bigint> | z.ZodMiniBoolean<boolean> | typeof protectedFile;
/** Fields of the protected object: leaves, optional leaves, and nested objects (`a.b` is the ZIP entry `a/b`). */
export type ProtectedShape = { readonly [key: string]: Leaf | z.ZodMiniOptional<Leaf> | z.ZodMiniObject<ProtectedShape> };

/** What tools and the README say about each field, nested as the schema is. */
export type ProtectedFields<S extends ProtectedShape> = {
  readonly [K in keyof S]: S[K] extends z.ZodMiniObject<infer N extends ProtectedShape> ? ProtectedFields<N> : { description: string };
};

/** How a failing item of a bulk task counts (src/iexec/bulk.ts): alone ('per-item') or for the whole task ('all-or-nothing'). */
export type BulkMode = 'per-item' | 'all-or-nothing';

/** What an app declares: the protected data's fields, a zod object (the single source of the type), and what to say about each. */
export interface ProtectedDataFields<S extends ProtectedShape = ProtectedShape> {
  schema: z.ZodMiniObject<S>;
  fields: ProtectedFields<S>;
  /**
   * Whether the app takes a bulk of protected data in one task (DataProtector's bulk processing),
   * and how a failing one counts (src/iexec/bulk.ts); none: one protected data a task.
   */
  bulk?: BulkMode;
}

export interface ProtectedDataSpec<S extends ProtectedShape = ProtectedShape> extends ProtectedDataFields<S> {
  /**
   * Reads the task's protected data as declared. Carried by the spec so that src/main.ts never
   * imports this module: an app that takes no protected data bundles none of it.
   */
  read(dataset: string | undefined): Promise<z.output<z.ZodMiniObject<S>>>;
}

export const defineProtectedData = <S extends ProtectedShape>(declared: ProtectedDataFields<S>): ProtectedDataSpec<S> => ({
  ...declared,
  read: (dataset) => readProtectedData(dataset, declared),
});

type Kind = 'string' | 'number' | 'bigint' | 'boolean' | 'file';
interface Field {
  path: string[];
  kind: Kind;
}

/** Every leaf of the schema with its path; zod's own type names say how to decode it. */
function fieldsOf(shape: ProtectedShape, parent: string[] = []): Field[] {
  return Object.entries(shape).flatMap(([key, schema]) => {
    const path = [...parent, key];
    if (schema instanceof z.ZodMiniObject) return fieldsOf(schema.shape, path);
    const leaf = schema instanceof z.ZodMiniOptional ? schema.def.innerType : schema;
    const type = leaf.def.type;
    return [{ path, kind: type === 'custom' ? 'file' : type }];
  });
}

const invalid = (message: string) => taskError('PROTECTED_DATA_INVALID', message);
/** A field's path as messages show it: each key through safeName, like a secret's field. */
const named = (path: readonly PropertyKey[]) => `field "${path.map((key) => safeName(key, String)).join('.')}"`;

const BORSH_STRING_HEADER = 4;

/**
 * A scalar as DataProtector serialized it, or undefined when the bytes cannot be one.
 * Borsh (DataProtector 1 and later, `createZipFromObject` in its src/utils/data.ts): `string` is a
 * u32 LE length then UTF-8, `f64` 8 bytes LE, `i128` 16 bytes LE, `bool` one byte 0 or 1.
 * Legacy (DataProtector 0): a string is plain UTF-8, a number the decimal text of a safe integer,
 * a boolean one byte 0 or 1. No schema says which generation a file is: a string is borsh when its
 * length prefix matches, as @iexec/dataprotector-deserializer's "optimistic" mode reads it; a
 * number is legacy when its bytes are the decimal text of a safe integer (an f64 whose 8 bytes
 * are all digits would be below 1e-32), else an f64.
 */
function decode(kind: Exclude<Kind, 'file'>, bytes: Buffer): unknown {
  switch (kind) {
    case 'string': {
      const text = bytes.length >= BORSH_STRING_HEADER && bytes.readUInt32LE(0) === bytes.length - BORSH_STRING_HEADER ? bytes.subarray(BORSH_STRING_HEADER) : bytes;
      return isUtf8(text) ? text.toString('utf8') : undefined;
    }
    case 'number': {
      const text = bytes.toString('latin1');
      // What Number#toString gives for a safe integer; Number() alone would take '1e3' or ' 12'.
      if (/^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
      return bytes.length === 8 ? bytes.readDoubleLE(0) : undefined;
    }
    case 'bigint':
      return bytes.length === 16 ? (bytes.readBigInt64LE(8) << 64n) | bytes.readBigUInt64LE(0) : undefined;
    case 'boolean':
      return bytes.length === 1 && (bytes[0] === 0 || bytes[0] === 1) ? bytes[0] === 1 : undefined;
  }
}

/** The nested objects of the schema, empty: a missing leaf is then reported by its own path. */
const skeleton = (shape: ProtectedShape): Record<string, unknown> =>
  Object.fromEntries(Object.entries(shape).flatMap(([key, schema]) => (schema instanceof z.ZodMiniObject ? [[key, skeleton(schema.shape)]] : [])));

/** Sets a leaf in the skeleton. */
function setAt(values: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const parent = path.slice(0, -1).reduce((at, key) => at[key] as Record<string, unknown>, values);
  parent[path[path.length - 1] as string] = value;
}

/**
 * The task's protected data, read and validated as the app's spec says. Scalars are decoded
 * from either DataProtector generation; file fields are opened only when the app reads them.
 * Entries the spec does not name are never read.
 */
export async function readProtectedData<S extends ProtectedShape>(dataset: string | undefined, spec: ProtectedDataFields<S>): Promise<z.output<z.ZodMiniObject<S>>> {
  if (dataset === undefined) {
    throw taskError('PROTECTED_DATA_MISSING', 'the task has no protected data (iexec app run --dataset <address>, or DataProtector processProtectedData)');
  }
  const fields = fieldsOf(spec.schema.shape);
  const entryOf = (field: Field) => field.path.join('/');
  const { scanZip, entryStream } = await import('./protected-zip');
  // Stryker disable next-line MethodExpression,ConditionalExpression,StringLiteral: keeping a file's bytes too would cost only memory, which no unit test measures
  const entries = await scanZip(dataset, new Set(fields.filter((f) => f.kind !== 'file').map(entryOf)));

  const values = skeleton(spec.schema.shape);
  const missing = new Set<string>();
  for (const field of fields) {
    const name = entryOf(field);
    const entry = entries.get(name);
    if (entry === undefined) {
      missing.add(name);
      continue;
    }
    if (field.kind === 'file') {
      setAt(values, field.path, new ProtectedFile(entry.size, () => entryStream(dataset, name)));
      continue;
    }
    // scanZip kept the bytes of every scalar's entry.
    const value = decode(field.kind, entry.bytes as Buffer);
    if (value === undefined) throw invalid(`${named(field.path)} is not a ${field.kind} as DataProtector stores it`);
    setAt(values, field.path, value);
  }

  const parsed = spec.schema.safeParse(values);
  if (parsed.success) return parsed.data;
  // Stryker disable next-line all: a failed parse has at least one issue
  const [issue = { path: [], message: 'is not valid' }] = parsed.error.issues;
  throw invalid(`${named(issue.path)} ${missing.has(issue.path.join('/')) ? 'is required' : issue.message}`);
}
