import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { defineArgs, parseRequesterArgs } from '../../src/iexec/args';
import { failureOf } from '../helpers/errors';

const spec = defineArgs({
  schema: z.strictObject({ city: z.string().check(z.regex(/^[a-z]+$/, { error: 'must be letters a-z' })), 'max-items': z.optional(z.string()) }),
  options: { city: { description: 'a city' }, 'max-items': { description: 'how many' } },
});

describe('parseRequesterArgs', () => {
  it.each([
    [['--city', 'paris'], { city: 'paris' }],
    [['--city=paris', '--max-items', '3'], { city: 'paris', 'max-items': '3' }],
  ])('reads %j', (argv, expected) => {
    expect(parseRequesterArgs(argv, spec)).toEqual(expected);
  });

  it('names the arguments as a whole when the rule broken is about no single option', async () => {
    const both = defineArgs({ ...spec, schema: spec.schema.check(z.refine((args) => args.city !== 'rome', { error: 'x' })) });
    expect((await failureOf(() => parseRequesterArgs(['--city', 'rome'], both))).line).toBe('ARGS_INVALID: arguments is not valid');
  });

  it.each([
    ['an unknown option', ['--city', 'paris', '--cty', 'x'], 'unknown option --cty'],
    ['an unknown option whose name looks like a value', ['--city', 'paris', '--sk_live_0123456789abcdef0123456789abcdef'], 'unknown option (a name that is withheld)'],
    ['a short option', ['-c', 'paris'], 'unknown option (a name that is withheld)'],
    ['a plain value', ['paris'], 'arguments must be options (--name value); a plain value was given'],
    ['a value after --', ['--city', 'paris', '--', 'x'], 'arguments must be options (--name value); a plain value was given'],
    ['an option without its value', ['--city'], 'option --city needs a value'],
    ['an option given twice', ['--city', 'paris', '--city', 'rome'], 'option --city is given twice'],
    ['a value breaking its rule', ['--city', 'Paris-1'], 'option --city must be letters a-z'],
    ['a required option missing', ['--max-items', '2'], 'option --city is required'],
  ])('refuses %s, repeating no value', async (_, argv, message) => {
    const error = await failureOf(() => parseRequesterArgs(argv, spec));
    expect(error.line).toBe(`ARGS_INVALID: ${message}`);
    expect(error.exitCode).toBe(9);
    for (const value of ['paris', 'Paris-1', 'rome']) expect(error.message).not.toContain(value);
  });
});

describe('parseRequesterArgs, for an app that takes plain words (the key _)', () => {
  const words = defineArgs({
    schema: z.strictObject({
      _: z.array(z.string().check(z.regex(/^[a-z]+$/, { error: 'must be letters a-z' }))).check(z.maxLength(2, { error: 'are at most 2 words' })),
      lang: z.optional(z.enum(['en', 'fr'])),
    }),
    options: { _: { description: 'the words to look up' }, lang: { description: 'a language' } },
  });

  it.each([
    [[], { _: [] }],
    [['paris', 'rome'], { _: ['paris', 'rome'] }],
    [['paris', '--lang', 'fr', 'rome'], { _: ['paris', 'rome'], lang: 'fr' }],
    [['--lang', 'en', '--', 'rome'], { _: ['rome'], lang: 'en' }],
  ])('reads %j in order, options anywhere', (argv, expected) => {
    expect(parseRequesterArgs(argv, words)).toEqual(expected);
  });

  it.each([
    ['a word breaking its rule', ['Paris-1'], 'the plain arguments must be letters a-z'],
    ['too many words', ['paris', 'rome', 'oslo'], 'the plain arguments are at most 2 words'],
    ['the key as an option', ['--_', 'paris'], 'unknown option (a name that is withheld)'],
    ['an unknown option', ['paris', '--city', 'rome'], 'unknown option --city'],
  ])('refuses %s, repeating no value', async (_, argv, message) => {
    const error = await failureOf(() => parseRequesterArgs(argv, words));
    expect(error.line).toBe(`ARGS_INVALID: ${message}`);
    for (const value of ['paris', 'Paris-1', 'rome', 'oslo']) expect(error.message).not.toContain(value);
  });
});
