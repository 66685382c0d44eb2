import { IExecDataProtectorDeserializer } from '@iexec/dataprotector-deserializer';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { defineProtectedData, protectedFile, ProtectedFile, readProtectedData, type ProtectedShape } from '../../src/iexec/protected-data';
import { type DataObject, type Generation, protectedDataFile } from '../../tools/worker/dataprotector';
import { failureOf } from '../helpers/errors';

const spec = defineProtectedData({
  schema: z.object({
    email: z.string().check(z.regex(/^[^@\s]+@[^@\s]+$/, { error: 'must be an email address' })),
    age: z.number(),
    verified: z.boolean(),
    nickname: z.optional(z.string()),
    profile: z.object({ name: z.string(), photo: protectedFile }),
  }),
  fields: {
    email: { description: 'where to write' },
    age: { description: 'in years' },
    verified: { description: 'whether the address was checked' },
    nickname: { description: 'how to greet' },
    profile: { name: { description: 'full name' }, photo: { description: 'a picture' } },
  },
});
const PHOTO = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
const DATA: DataObject = { email: 'alice@example.org', age: 42, verified: true, profile: { name: 'Alice Ünïcødé 🐱', photo: PHOTO } };

const stored = async (data: DataObject, generation: Generation) => protectedDataFile(data, generation);
const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('readProtectedData, on protected data made by DataProtector', () => {
  it.each<Generation>(['borsh', 'legacy'])('reads every field of the %s generation, typed', async (generation) => {
    const values = await readProtectedData(await stored(DATA, generation), spec);
    expect(values).toEqual({ email: 'alice@example.org', age: 42, verified: true, profile: { name: 'Alice Ünïcødé 🐱', photo: expect.any(ProtectedFile) } });
    expect(values.nickname).toBeUndefined();
    expect(values.profile.photo.size).toBe(PHOTO.length);
    expect(new Uint8Array(await values.profile.photo.bytes())).toEqual(PHOTO);
  });

  it('reads what only borsh stores: big integers (i128, both ends of its range) and fractional numbers', async () => {
    const wide = defineProtectedData({
      schema: z.object({ min: z.bigint(), max: z.bigint(), minusOne: z.bigint(), ratio: z.number(), tiny: z.number() }),
      fields: { min: { description: '' }, max: { description: '' }, minusOne: { description: '' }, ratio: { description: '' }, tiny: { description: '' } },
    });
    const data = { min: -(2n ** 127n), max: 2n ** 127n - 1n, minusOne: -1n, ratio: -0.125, tiny: 5e-324 };
    expect(await readProtectedData(await stored(data, 'borsh'), wide)).toEqual(data);
  });

  it('reads a legacy number of eight digits as the number, not as the f64 its 8 bytes could also be', async () => {
    const one = defineProtectedData({ schema: z.object({ n: z.number() }), fields: { n: { description: '' } } });
    expect(await readProtectedData(await stored({ n: 12345678 }, 'legacy'), one)).toEqual({ n: 12345678 });
    expect(await readProtectedData(await stored({ n: -1234567 }, 'legacy'), one)).toEqual({ n: -1234567 });
    expect(await readProtectedData(await stored({ n: 12345678 }, 'borsh'), one)).toEqual({ n: 12345678 });
  });

  it('reads a legacy string that is also a borsh string as borsh, as the deserializer\'s "optimistic" mode does', async () => {
    const one = defineProtectedData({ schema: z.object({ s: z.string() }), fields: { s: { description: '' } } });
    const path = await stored({ s: '\u0002\u0000\u0000\u0000ok' }, 'legacy');
    expect(await readProtectedData(path, one)).toEqual({ s: 'ok' });
    expect(await new IExecDataProtectorDeserializer({ mode: 'optimistic', protectedDataPath: path }).getValue('s', 'string')).toBe('ok');
  });

  it('never reads an entry the spec does not name', async () => {
    const path = await stored({ ...DATA, other: 'x'.repeat(10), huge: new Uint8Array(3) }, 'borsh');
    expect(Object.keys(await readProtectedData(path, spec)).sort()).toEqual(['age', 'email', 'profile', 'verified']);
  });

  it('streams a file field from the file as it is read, in chunks, and reads it again on each call', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const values = await readProtectedData(await stored({ ...DATA, profile: { name: 'x', photo: big } }, 'borsh'), spec);
    const photo = values.profile.photo;
    expect(photo.size).toBe(big.length);
    expect(photo.stream().readableObjectMode).toBe(false);
    const chunks = await photo.stream().toArray();
    expect(chunks.length).toBeGreaterThan(1);
    expect(digest(Buffer.concat(chunks))).toBe(digest(big));
    expect(digest(await photo.bytes())).toBe(digest(big));
  });

  it('closes the file when a stream is left before its end, and at its end', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const values = await readProtectedData(await stored({ ...DATA, profile: { name: 'x', photo: randomBytes(2 * 1024 * 1024) } }, 'borsh'), spec);
    const before = fds();
    const stream = values.profile.photo.stream();
    for await (const chunk of stream) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    // A file is closed asynchronously: waited for, not timed.
    await vi.waitFor(() => expect(fds()).toBe(before), { timeout: 10_000 });
    await values.profile.photo.bytes();
    await vi.waitFor(() => expect(fds()).toBe(before), { timeout: 10_000 });
  });

  it('reads an empty file field', async () => {
    const values = await readProtectedData(await stored({ ...DATA, profile: { name: 'x', photo: new Uint8Array(0) } }, 'legacy'), spec);
    expect(values.profile.photo.size).toBe(0);
    expect(await values.profile.photo.bytes()).toHaveLength(0);
  });

  it('reads compressed entries too (DataProtector stores its entries, other ZIP makers deflate them)', async () => {
    const path = await stored(DATA, 'borsh');
    const { readFileSync } = await import('node:fs');
    const { unzipSync } = await import('fflate');
    const deflated = zipSync(unzipSync(readFileSync(path)), { level: 9 });
    writeFileSync(path, deflated);
    const values = await readProtectedData(path, spec);
    expect(values.profile.name).toBe('Alice Ünïcødé 🐱');
    expect(new Uint8Array(await values.profile.photo.bytes())).toEqual(PHOTO);
  });
});

/** The same data read by iExec's deserializer, field by field, in the mode of its generation. */
async function readByIexec(path: string, data: DataObject, generation: Generation): Promise<DataObject> {
  const deserializer = new IExecDataProtectorDeserializer({ mode: generation, protectedDataPath: path });
  const schemaName = (value: unknown): string => {
    if (typeof value === 'string') return 'string';
    if (typeof value === 'bigint') return 'i128';
    if (typeof value === 'number') return generation === 'borsh' ? 'f64' : 'number';
    if (typeof value === 'boolean') return generation === 'borsh' ? 'bool' : 'boolean';
    return 'application/octet-stream';
  };
  const read = async (object: DataObject, parent: string[]): Promise<DataObject> => {
    const out: DataObject = {};
    for (const [key, value] of Object.entries(object)) {
      const path = [...parent, key];
      out[key] =
        typeof value === 'object' && !(value instanceof Uint8Array)
          ? await read(value, path)
          : ((await deserializer.getValue(path.join('.'), schemaName(value))) as DataObject[string]);
    }
    return out;
  };
  return read(data, []);
}

/** A spec that takes exactly the fields of `data`, with their types. */
function specOf(data: DataObject) {
  const shapeOf = (object: DataObject): ProtectedShape =>
    Object.fromEntries(
      Object.entries(object).map(([key, value]) => {
        if (value instanceof Uint8Array) return [key, protectedFile];
        if (typeof value === 'object') return [key, z.object(shapeOf(value))];
        return [key, { string: z.string(), number: z.number(), bigint: z.bigint(), boolean: z.boolean() }[typeof value as 'string']];
      }),
    );
  return defineProtectedData({ schema: z.object(shapeOf(data)), fields: {} });
}

/** Our values, with each file read whole, to compare with the deserializer's. */
async function readAll(path: string, data: DataObject): Promise<DataObject> {
  const whole = async (value: unknown): Promise<unknown> => {
    if (value instanceof ProtectedFile) return new Uint8Array(await value.bytes());
    if (typeof value === 'object' && value !== null) return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await whole(v)])));
    return value;
  };
  return (await whole(await readProtectedData(path, specOf(data)))) as DataObject;
}

/** A legacy string that is also a borsh one (its first 4 bytes are the length of the rest): read as borsh, as the deserializer's "optimistic" mode does. */
const borshShaped = (text: string) => {
  const bytes = Buffer.from(text);
  return bytes.length >= 4 && bytes.readUInt32LE(0) === bytes.length - 4;
};

const KEY = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const scalars = (generation: Generation) =>
  generation === 'borsh'
    ? fc.oneof(fc.string({ unit: 'grapheme' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.bigInt({ min: -(2n ** 127n), max: 2n ** 127n - 1n }), fc.boolean(), fc.uint8Array({ maxLength: 64 }))
    : fc.oneof(fc.string({ unit: 'grapheme', minLength: 1 }).filter((text) => !borshShaped(text)), fc.maxSafeInteger(), fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 64 }));
const objects = (generation: Generation) =>
  fc.letrec<{ object: DataObject }>((tie) => ({
    object: fc.dictionary(KEY, fc.oneof({ depthSize: 'small' }, scalars(generation), tie('object')), { minKeys: 1, maxKeys: 5 }),
  })).object;

describe("readProtectedData reads what iExec's deserializer reads, on any data DataProtector makes", () => {
  // Legacy strings are never empty here: an empty one is the empty file its reader also reads as "".
  it.each<Generation>(['borsh', 'legacy'])('%s', async (generation) => {
    await fc.assert(
      fc.asyncProperty(objects(generation), async (data) => {
        const path = await stored(data, generation);
        expect(await readAll(path, data)).toEqual(await readByIexec(path, data, generation));
      }),
      { numRuns: 40 },
    );
  });
});

describe('readProtectedData refuses, with a coded error that names the field and quotes no value', () => {
  it('a task without a protected data', async () => {
    const error = await failureOf(() => readProtectedData(undefined, spec));
    expect(error.line).toBe('PROTECTED_DATA_MISSING: the task has no protected data (iexec app run --dataset <address>, or DataProtector processProtectedData)');
    expect(error.exitCode).toBe(14);
  });

  const NOT_A_ZIP = 'PROTECTED_DATA_INVALID: protected data is not a ZIP file as DataProtector makes it';
  it.each([
    ['an empty file', async () => new Uint8Array(0)],
    ['a text file', async () => Buffer.from('alice@example.org is not a ZIP')],
    // Cut inside an entry's data (cut between entries, the fields after the cut are missing).
    ['a ZIP cut short', async () => (await import('node:fs')).readFileSync(await stored(DATA, 'borsh')).subarray(0, 45)],
    ['a ZIP whose compressed data is broken', async () => {
      const zip = Buffer.from(zipSync({ email: Buffer.from('alice@example.org'.repeat(20)) }, { level: 9 }));
      zip.fill(0xff, 40, 50);
      return zip;
    }],
    ['a ZIP of an empty object', async () => zipSync({})],
    ['a ZIP whose entry has an unknown compression method', async () => {
      const zip = (await import('node:fs')).readFileSync(await stored(DATA, 'borsh'));
      zip.writeUInt16LE(99, 8); // the first local header's method
      return zip;
    }],
  ])('%s', async (_, make) => {
    const path = await stored(DATA, 'borsh');
    writeFileSync(path, await make());
    const error = await failureOf(() => readProtectedData(path, spec));
    expect(error.line).toBe(NOT_A_ZIP);
    expect(error.exitCode).toBe(15);
  });

  it('a ZIP with two entries of one name', async () => {
    const { Zip, ZipPassThrough } = await import('fflate');
    const parts: Uint8Array[] = [];
    const zip = new Zip((_, data) => parts.push(data));
    for (const text of ['alice@example.org', 'bob@example.org']) {
      const entry = new ZipPassThrough('email');
      zip.add(entry);
      entry.push(Buffer.from(text), true);
    }
    zip.end();
    const path = await stored(DATA, 'borsh');
    writeFileSync(path, Buffer.concat(parts));
    expect((await failureOf(() => readProtectedData(path, spec))).line).toBe('PROTECTED_DATA_INVALID: protected data has two entries for one field');
  });

  it.each<[string, DataObject, string]>([
    ['a required field missing', { ...DATA, email: undefined as never }, 'field "email" is required'],
    ['a nested field missing', { ...DATA, profile: { photo: PHOTO } }, 'field "profile.name" is required'],
    ['a nested object missing', { email: 'a@b', age: 1, verified: false }, 'field "profile.name" is required'],
    ['a file field missing', { ...DATA, profile: { name: 'x' } }, 'field "profile.photo" is required'],
    ['a field breaking its rule', { ...DATA, email: 'alice at example.org' }, 'field "email" must be an email address'],
    ['a string where a number is expected', { ...DATA, age: 'forty-two' }, 'field "age" is not a number as DataProtector stores it'],
    ['a boolean where a number is expected', { ...DATA, age: true }, 'field "age" is not a number as DataProtector stores it'],
    ['a number where a boolean is expected', { ...DATA, verified: 1 }, 'field "verified" is not a boolean as DataProtector stores it'],
    ['a byte other than 0 and 1 where a boolean is expected', { ...DATA, verified: new Uint8Array([2]) }, 'field "verified" is not a boolean as DataProtector stores it'],
    ['bytes that are not UTF-8 where a string is expected', { ...DATA, email: new Uint8Array([0x61, 0xff, 0x62]) }, 'field "email" is not a string as DataProtector stores it'],
  ])('%s', async (_, data, message) => {
    const defined = Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined));
    const error = await failureOf(async () => readProtectedData(await stored(defined, 'borsh'), spec));
    expect(error.line).toBe(`PROTECTED_DATA_INVALID: ${message}`);
  });

  it.each([
    ['a string', { n: 'abcdefgh' }],
    ['a number with a fraction, as text', { n: new Uint8Array(Buffer.from('1.5')) }],
    ['an integer past 2^53, as text', { n: new Uint8Array(Buffer.from('9007199254740993')) }],
    ['nine bytes', { n: new Uint8Array(9) }],
    ...['1e3', '12.0', ' 12', '0x1F', '+5', ''].map((text): [string, DataObject] => [`the text ${JSON.stringify(text)}, which Number() reads`, { n: new Uint8Array(Buffer.from(text)) }]),
  ])('%s where a number is expected', async (_, data) => {
    const one = defineProtectedData({ schema: z.object({ n: z.number() }), fields: { n: { description: '' } } });
    expect((await failureOf(async () => readProtectedData(await stored(data, 'borsh'), one))).message).toBe('field "n" is not a number as DataProtector stores it');
  });

  it.each([
    ['a string', 'some text of sixteen'],
    ['15 bytes', new Uint8Array(15)],
    ['17 bytes', new Uint8Array(17)],
  ])('%s where a bigint is expected', async (_, value) => {
    const one = defineProtectedData({ schema: z.object({ n: z.bigint() }), fields: { n: { description: '' } } });
    expect((await failureOf(async () => readProtectedData(await stored({ n: value }, 'borsh'), one))).message).toBe('field "n" is not a bigint as DataProtector stores it');
  });

  it('two bytes where a boolean is expected', async () => {
    const one = defineProtectedData({ schema: z.object({ b: z.boolean() }), fields: { b: { description: '' } } });
    expect((await failureOf(async () => readProtectedData(await stored({ b: new Uint8Array([1, 0]) }, 'borsh'), one))).message).toBe('field "b" is not a boolean as DataProtector stores it');
    expect(await readProtectedData(await stored({ b: new Uint8Array([0]) }, 'borsh'), one)).toEqual({ b: false });
  });

  it('withholds a field name that could be a value', async () => {
    const key = 'sk_live_0123456789abcdef0123456789abcdef';
    const odd = defineProtectedData({ schema: z.object({ [key]: z.string() }), fields: { [key]: { description: '' } } });
    expect((await failureOf(async () => readProtectedData(await stored(DATA, 'borsh'), odd))).message).toBe('field "(a name that is withheld)" is required');
  });

  // Values of 17 bytes or more: no number (8 bytes), bigint (16) or boolean (1) by chance.
  it('never quotes a value, whatever the value (any string in a field of another type, or breaking its rule)', async () => {
    const typed = defineProtectedData({
      schema: z.object({ n: z.number(), b: z.boolean(), i: z.bigint(), s: z.string().check(z.maxLength(0, { error: 'must be empty' })) }),
      fields: { n: { description: '' }, b: { description: '' }, i: { description: '' }, s: { description: '' } },
    });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('n', 'b', 'i', 's'), fc.string({ maxLength: 40 }).map((v) => `owner-secret-value:${v}`), fc.constantFrom<Generation>('borsh', 'legacy'), async (field, value, generation) => {
        const data: DataObject = { n: 1, b: true, i: new Uint8Array(16), s: '', [field]: `${value}` };
        const error = await failureOf(async () => readProtectedData(await stored(data, generation), typed));
        expect(error.code).toBe('PROTECTED_DATA_INVALID');
        expect(error.line).not.toContain(value);
        expect(error.stack).not.toContain(value);
      }),
      { numRuns: 30 },
    );
  });
});

describe('defineProtectedData', () => {
  it('types the values from the schema: zod formats of strings and numbers are fields too, other zod types are not', () => {
    const formats = defineProtectedData({
      schema: z.object({ e: z.email(), i: z.int(), o: z.optional(protectedFile), nested: z.object({ b: z.bigint() }) }),
      fields: { e: { description: '' }, i: { description: '' }, o: { description: '' }, nested: { b: { description: '' } } },
    });
    expectTypeOf(formats.schema.parse).returns.toEqualTypeOf<{ e: string; i: number; o?: ProtectedFile | undefined; nested: { b: bigint } }>();
    // @ts-expect-error DataProtector stores no enum: a string with a rule is the field
    defineProtectedData({ schema: z.object({ k: z.enum(['a']) }), fields: { k: { description: '' } } });
    // @ts-expect-error every field is described
    defineProtectedData({ schema: z.object({ k: z.string() }), fields: {} });
  });
});
