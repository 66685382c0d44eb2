import type * as z from 'zod/mini';
import { taskError } from '../errors';
import { safeName, validateNamed, type Shape } from './fields';

/** The SMS refuses larger secrets (HTTP 413), so no real secret can exceed it. */
export const SECRET_MAX_BYTES = 4096;

/**
 * What tools say about a field of the secret (pack-secret's prompts and summary, npm run local).
 * Every value is private unless the app says otherwise: the tools print a value only when its
 * field is `shown`.
 */
export type FieldInfo = { description: string } & (
  /** Never shown again once typed: not echoed, not printed, not put on a command line. */
  | { sensitive: true; shown?: never }
  /** Echoed as typed; printed by the tools only when `shown` is true (a value anyone may see). */
  | { sensitive?: false; shown?: boolean }
);

export interface SecretSpec<S extends Shape = Shape> {
  schema: z.ZodMiniObject<S>;
  fields: { readonly [K in keyof S]: FieldInfo };
  /** Reads a value that is not a JSON object (a legacy form), or undefined to refuse it. */
  plainText?: (text: string) => Record<string, unknown> | undefined;
}

/** The developer secret's fields: a strict zod object (the single source of the type) and what to say about each field. */
export const defineSecret = <S extends Shape>(spec: SecretSpec<S>): SecretSpec<S> => spec;

const invalid = (message: string) => taskError('SECRET_INVALID', message);

/**
 * The app developer secret, as the SMS injects it into the enclave. Checks its presence and its
 * size, then unpacks it as the app's spec says.
 */
export function readDeveloperSecret<S extends Shape>(env: NodeJS.ProcessEnv, spec: SecretSpec<S>): z.output<z.ZodMiniObject<S>> {
  const raw = env.IEXEC_APP_DEVELOPER_SECRET;
  if (raw === undefined || raw === '') {
    throw taskError(
      'SECRET_MISSING',
      'IEXEC_APP_DEVELOPER_SECRET is not set (push it with `iexec app push-secret` and run with a TEE tag)',
    );
  }
  return unpackSecret(raw, spec);
}

/** A packed secret's fields, validated as the app will validate them (pack-secret uses this too). */
export function unpackSecret<S extends Shape>(raw: string, spec: SecretSpec<S>): z.output<z.ZodMiniObject<S>> {
  // Says the limit, never the actual size: the length of a secret is a hint about it.
  if (Buffer.byteLength(raw) > SECRET_MAX_BYTES) throw invalid(`secret is larger than ${SECRET_MAX_BYTES} bytes of UTF-8`);
  const text = raw.trim();
  const fields = text.startsWith('{') ? parseJsonObject(text) : spec.plainText?.(text);
  if (fields === undefined) throw invalid('secret must be a JSON object');
  return validateNamed(spec.schema, fields, invalid, { one: (name) => `field ${safeName(name)}`, all: 'secret' });
}

/**
 * JSON.parse's own messages quote the input, so they are replaced. The text starts with `{`:
 * whatever parses is an object.
 */
function parseJsonObject(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw invalid('secret is not valid JSON');
  }
}
