import type * as z from 'zod/mini';
import type { AppError } from '../errors';

/** The fields of a zod object: a secret's, or the requester's options. */
export type Shape = z.ZodMiniObject['shape'];

/** A field or option name is shown only when it looks like one: a "name" could be a pasted value. */
const PRINTABLE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
export const safeName = (name: PropertyKey, show = (printable: string) => `"${printable}"`): string =>
  typeof name === 'string' && PRINTABLE_NAME.test(name) ? show(name) : '(a name that is withheld)';

export interface Naming {
  /** A name as the message shows it: `field "key"`, `option --key`. */
  one: (name: PropertyKey) => string;
  /** The whole: `secret`, `arguments`. */
  all: string;
}

/**
 * Validates an object of named values (secret fields, requester arguments). The error names the
 * first bad one and the rule it breaks, using only the schema's own messages (zod/mini's defaults
 * never quote the input).
 */
export function validateNamed<S extends z.ZodMiniType>(schema: S, value: Record<string, unknown>, fail: (message: string) => AppError, naming: Naming): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  // Stryker disable next-line all: a failed parse has at least one issue (this is for the type checker)
  if (issue === undefined) throw fail(`${naming.all} is not valid`);
  if (issue.code === 'unrecognized_keys') {
    // Stryker disable next-line StringLiteral: such an issue names at least one key
    const [unknown = ''] = issue.keys;
    throw fail(`unknown ${naming.one(unknown)} in ${naming.all}`);
  }
  const key = issue.path[0];
  if (key === undefined) throw fail(`${naming.all} is not valid`);
  throw fail(`${naming.one(key)} ${key in value ? issue.message : 'is required'}`);
}
