import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { taskError } from '../../src/errors';
import { safeName, validateNamed } from '../../src/iexec/fields';
import { failureOf } from '../helpers/errors';

describe('safeName', () => {
  it.each(['a', 'key', 'Max-items_2', 'k'.repeat(32)])('shows %j, which looks like a name', (name) => {
    expect(safeName(name)).toBe(`"${name}"`);
    expect(safeName(name, (printable) => `--${printable}`)).toBe(`--${name}`);
  });

  it.each(['k'.repeat(33), '1key', '-key', '_key', 'key!', 'key name', 'clé', '', 42, Symbol('key')])('withholds %j', (name) => {
    expect(safeName(name)).toBe('(a name that is withheld)');
  });
});

describe('validateNamed', () => {
  const fail = (message: string) => taskError('SECRET_INVALID', message);
  const naming = { one: (name: PropertyKey) => `field ${safeName(name)}`, all: 'secret' };

  it('names the whole when the rule broken is not about one field', async () => {
    const schema = z.strictObject({ a: z.optional(z.string()) }).check(z.refine((value) => value.a !== undefined, { error: 'must have a' }));
    expect((await failureOf(() => validateNamed(schema, {}, fail, naming))).message).toBe('secret is not valid');
    expect(validateNamed(schema, { a: 'x' }, fail, naming)).toEqual({ a: 'x' });
  });
});
