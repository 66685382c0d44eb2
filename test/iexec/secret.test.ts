import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { AppError } from '../../src/errors';
import { parseJsonObject, readDeveloperSecret, SECRET_MAX_BYTES, validateSecretFields } from '../../src/iexec/secret';

const withSecret = (value: string | undefined): NodeJS.ProcessEnv => ({ IEXEC_APP_DEVELOPER_SECRET: value });

function errorOf(action: () => unknown): AppError {
  try {
    action();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('readDeveloperSecret', () => {
  it('returns the secret as the SMS injected it', () => {
    expect(readDeveloperSecret(withSecret('my-app/hits'))).toBe('my-app/hits');
  });

  it.each([undefined, ''])('reports SECRET_MISSING when the variable is %j', (value) => {
    const error = errorOf(() => readDeveloperSecret(withSecret(value)));
    expect(error.code).toBe('SECRET_MISSING');
    expect(error.exitCode).toBe(2);
  });

  it('accepts exactly 4096 bytes and refuses 4097', () => {
    expect(readDeveloperSecret(withSecret('a'.repeat(SECRET_MAX_BYTES)))).toHaveLength(4096);
    const error = errorOf(() => readDeveloperSecret(withSecret('a'.repeat(SECRET_MAX_BYTES + 1))));
    expect(error.line).toBe('SECRET_INVALID: secret is larger than 4096 bytes of UTF-8');
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 'é' is 2 bytes, '€' is 3, '😀' is 4 (2 UTF-16 units): 1366 euros are 4098 bytes but 1366 characters.
    expect(readDeveloperSecret(withSecret('é'.repeat(2048)))).toHaveLength(2048);
    expect(errorOf(() => readDeveloperSecret(withSecret('€'.repeat(1366)))).code).toBe('SECRET_INVALID');
    expect(readDeveloperSecret(withSecret('😀'.repeat(1024)))).toHaveLength(2048);
    expect(errorOf(() => readDeveloperSecret(withSecret(`${'😀'.repeat(1024)}a`))).code).toBe('SECRET_INVALID');
  });

  it('never tells the actual size', () => {
    const error = errorOf(() => readDeveloperSecret(withSecret('a'.repeat(5000))));
    expect(error.message).not.toMatch(/5000|4097/);
  });
});

describe('parseJsonObject', () => {
  it('parses an object', () => {
    expect(parseJsonObject('{"a":"ü"}')).toEqual({ a: 'ü' });
  });

  it("never repeats JSON.parse's message, which quotes the input", () => {
    const error = errorOf(() => parseJsonObject('{"token": sk_live_secret_value}'));
    expect(error.line).toBe('SECRET_INVALID: secret is not valid JSON');
  });

  it.each(['[]', '1', '"text"', 'null', 'true'])('refuses %s', (raw) => {
    expect(errorOf(() => parseJsonObject(raw)).line).toBe('SECRET_INVALID: secret must be a JSON object');
  });
});

describe('validateSecretFields, whatever the schema', () => {
  it.each(['text', null, 5, []])('refuses %j against an object schema without naming a field', (value) => {
    const error = errorOf(() => validateSecretFields(z.strictObject({ field: z.string() }), value));
    expect(error.line).toBe('SECRET_INVALID: secret is not valid');
  });

  it.each([
    ['a string', z.string(), 'text'],
    ['null', z.null(), null],
  ])('names the field a check on %s points at, with its rule', (_, schema, value) => {
    const check = z.refine(() => false, { path: ['field'], error: 'must be another value' });
    const error = errorOf(() => validateSecretFields(schema.check(check), value));
    expect(error.line).toBe('SECRET_INVALID: field "field" must be another value');
  });
});
