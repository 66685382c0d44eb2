import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { taskError } from '../../src/errors';
import { defineSecret, readDeveloperSecret, SECRET_MAX_BYTES, unpackSecret } from '../../src/iexec/secret';
import { failureOf } from '../helpers/errors';

const spec = defineSecret({
  schema: z.strictObject({ name: z.string().check(z.minLength(3, { error: 'must be 3 characters or more' })), note: z.optional(z.string()) }),
  fields: { name: { description: 'a name' }, note: { description: 'a note', sensitive: true } },
});
const withSecret = (value: string | undefined): NodeJS.ProcessEnv => ({ IEXEC_APP_DEVELOPER_SECRET: value });

describe('defineSecret', () => {
  it('refuses, at compile time, a field both sensitive and shown', () => {
    const field = { schema: z.strictObject({ a: z.string() }) };
    // @ts-expect-error a sensitive value is never shown
    expect(defineSecret({ ...field, fields: { a: { description: 'a', sensitive: true, shown: true } } }).fields.a.shown).toBe(true);
    expect(defineSecret({ ...field, fields: { a: { description: 'a', shown: true } } }).fields.a.shown).toBe(true);
  });
});

describe('readDeveloperSecret', () => {
  it('returns the fields of the secret as the SMS injected it', () => {
    expect(readDeveloperSecret(withSecret('{"name":"abc"}'), spec)).toEqual({ name: 'abc' });
  });

  it.each([undefined, ''])('reports SECRET_MISSING when the variable is %j', async (value) => {
    const error = await failureOf(() => readDeveloperSecret(withSecret(value), spec));
    expect(error.line).toBe('SECRET_MISSING: IEXEC_APP_DEVELOPER_SECRET is not set (push it with `iexec app push-secret` and run with a TEE tag)');
    expect(error.exitCode).toBe(2);
  });
});

describe('unpackSecret', () => {
  const padded = (bytes: number, char = 'a') => `{"name":"${char.repeat(Math.floor((bytes - 11) / Buffer.byteLength(char)))}"}`;

  it('accepts exactly 4096 bytes and refuses 4097, saying the limit and never the size', async () => {
    expect(Buffer.byteLength(padded(4096))).toBe(4096);
    expect(unpackSecret(padded(4096), spec).name).toHaveLength(4085);
    const error = await failureOf(() => unpackSecret(`${padded(4096)} `, spec));
    expect(error.line).toBe('SECRET_INVALID: secret is larger than 4096 bytes of UTF-8');
    expect(error.exitCode).toBe(3);
    expect(error.message).not.toMatch(/4097/);
  });

  it('counts UTF-8 bytes, not characters', async () => {
    // '€' is 3 bytes: 1362 of them make 4086 + 11 = 4097 bytes, yet only 1373 characters.
    const euros = `{"name":"${'€'.repeat(1362)}"}`;
    expect(euros.length).toBeLessThan(SECRET_MAX_BYTES);
    expect((await failureOf(() => unpackSecret(euros, spec))).code).toBe('SECRET_INVALID');
  });

  it('ignores white space around the packed value (a pasted secret often ends with a newline)', () => {
    expect(unpackSecret(' {"name":"abc"}\n', spec)).toEqual({ name: 'abc' });
  });

  it.each([
    ['not JSON', '{"name": abc}', 'secret is not valid JSON'],
    ['a JSON array', '{"name": 1}]', 'secret is not valid JSON'],
    ['not an object', '[1, 2]', 'secret must be a JSON object'],
    ['a plain word, with no plain-text form in the spec', 'abc', 'secret must be a JSON object'],
    ['a field breaking its rule', '{"name":"ab"}', 'field "name" must be 3 characters or more'],
    ['a required field missing', '{"note":"x"}', 'field "name" is required'],
    ['an unknown field', '{"name":"abc","nmae":"x"}', 'unknown field "nmae" in secret'],
    ['an unknown field whose name looks like a value', '{"name":"abc","sk_live_0123456789abcdef0123456789abcdef":1}', 'unknown field (a name that is withheld) in secret'],
  ])('refuses %s with a message that quotes nothing', async (_, raw, message) => {
    const error = await failureOf(() => unpackSecret(raw, spec));
    expect(error.line).toBe(`SECRET_INVALID: ${message}`);
  });

  it("never repeats JSON.parse's message, which quotes the input", async () => {
    const error = await failureOf(() => unpackSecret('{"name": sk_live_secret_value}', spec));
    expect(error.message).not.toContain('sk_live');
  });

  it("reads a plain-text form through the spec's own reader", async () => {
    const legacy = defineSecret({ ...spec, plainText: (text) => (text.includes(':') ? { name: text.split(':')[0] } : undefined) });
    expect(unpackSecret('abc:rest', legacy)).toEqual({ name: 'abc' });
    expect(unpackSecret('abc:rest}', legacy)).toEqual({ name: 'abc' }); // JSON only when it starts with {
    expect((await failureOf(() => unpackSecret('abc', legacy))).message).toBe('secret must be a JSON object');
    const strict = defineSecret({ ...spec, plainText: () => { throw taskError('SECRET_INVALID', 'secret must be JSON or name:rest'); } });
    expect((await failureOf(() => unpackSecret('abc', strict))).message).toBe('secret must be JSON or name:rest');
  });
});
