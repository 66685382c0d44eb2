import { parseArgs } from 'node:util';
import type * as z from 'zod/mini';
import { taskError } from '../errors';
import { safeName, validateNamed, type Shape } from './fields';

/** What tools and the README show about a requester option. */
export interface OptionInfo {
  description: string;
}

/**
 * The requester's arguments (`iexec app run --args "--name value"`): options that each take one
 * string value, validated by a strict zod object whose keys are the option names. An app that
 * also takes plain words (`--args "a b"`, as DataProtector's processProtectedData and iExec's docs
 * pass them) declares the key `_`, an array of strings, which gets them in order.
 */
export interface ArgsSpec<S extends Shape = Shape> {
  schema: z.ZodMiniObject<S>;
  options: { readonly [K in keyof S]: OptionInfo };
}

export const defineArgs = <S extends Shape>(spec: ArgsSpec<S>): ArgsSpec<S> => spec;

/** The key of the plain words; no option can be named so (a shown name starts with a letter). */
export const WORDS = '_';

const invalid = (message: string) => taskError('ARGS_INVALID', message);
const option = (name: PropertyKey) => `option ${safeName(name, (printable) => `--${printable}`)}`;

/**
 * The arguments as the worker passes them: after the entrypoint on SCONE and Gramine, as the
 * container's command on TDX; so `process.argv` after the script. They come from the requester:
 * a refusal names the option only when it looks like a name, and never repeats a value.
 */
export function parseRequesterArgs<S extends Shape>(argv: readonly string[], spec: ArgsSpec<S>): z.output<z.ZodMiniObject<S>> {
  const takesWords = Object.hasOwn(spec.options, WORDS);
  const names = Object.keys(spec.options).filter((name) => name !== WORDS);
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(names.map((name) => [name, { type: 'string' }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, unknown> = {};
  const words: string[] = [];
  for (const token of tokens) {
    if (token.kind !== 'option') {
      if (!takesWords) throw invalid('arguments must be options (--name value); a plain value was given');
      // After `--`, every word is a plain one, even one that starts with a dash.
      if (token.kind === 'positional') words.push(token.value);
      continue;
    }
    if (!names.includes(token.name)) throw invalid(`unknown ${token.rawName.startsWith('--') ? option(token.name) : 'option (a name that is withheld)'}`);
    if (token.value === undefined) throw invalid(`${option(token.name)} needs a value`);
    if (Object.hasOwn(values, token.name)) throw invalid(`${option(token.name)} is given twice`);
    values[token.name] = token.value;
  }
  if (takesWords) values[WORDS] = words;
  return validateNamed(spec.schema, values, invalid, { one: (name) => (name === WORDS ? 'the plain arguments' : option(name)), all: 'arguments' });
}
