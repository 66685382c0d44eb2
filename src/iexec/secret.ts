import type * as z from 'zod/mini';
import { AppError } from '../errors';

/** The SMS refuses larger secrets (HTTP 413), so no real secret can exceed it. */
export const SECRET_MAX_BYTES = 4096;

/**
 * The app developer secret, as the SMS injects it into the enclave.
 * Only its presence and size are checked here; its meaning belongs to the app.
 */
export function readDeveloperSecret(env: NodeJS.ProcessEnv): string {
  const raw = env.IEXEC_APP_DEVELOPER_SECRET;
  if (raw === undefined || raw === '') {
    throw new AppError(
      'SECRET_MISSING',
      'IEXEC_APP_DEVELOPER_SECRET is not set (push it with `iexec app push-secret` and run with a TEE tag)',
    );
  }
  // Says the limit, never the actual size: the length of a secret is a hint about it.
  // Stryker disable next-line StringLiteral: an empty encoding name means UTF-8 to Buffer.byteLength
  if (Buffer.byteLength(raw, 'utf8') > SECRET_MAX_BYTES) {
    throw new AppError('SECRET_INVALID', `secret is larger than ${SECRET_MAX_BYTES} bytes of UTF-8`);
  }
  return raw;
}

/** JSON.parse's own messages quote the input, so they are replaced. */
export function parseJsonObject(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new AppError('SECRET_INVALID', 'secret is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('SECRET_INVALID', 'secret must be a JSON object');
  }
  return value as Record<string, unknown>;
}

// A field name is shown only when it looks like one: a "name" could be a pasted value.
const PRINTABLE_FIELD = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const fieldName = (key: PropertyKey): string =>
  typeof key === 'string' && PRINTABLE_FIELD.test(key) ? `"${key}"` : '(a field whose name is withheld)';

/**
 * Validates the secret's fields; the error names the first bad field and the rule it breaks,
 * using only the schema's own messages (zod/mini's defaults never quote the input).
 */
export function validateSecretFields<S extends z.ZodMiniType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  // Stryker disable next-line OptionalChaining: a failed safeParse has at least one issue
  if (issue?.code === 'unrecognized_keys') {
    throw new AppError('SECRET_INVALID', `unknown field ${fieldName(issue.keys[0] ?? '')} in secret`);
  }
  // Stryker disable next-line OptionalChaining: as above
  const key = issue?.path[0];
  if (issue === undefined || key === undefined) throw new AppError('SECRET_INVALID', 'secret is not valid');
  const missing = typeof value === 'object' && value !== null && !(key in value);
  throw new AppError('SECRET_INVALID', `field ${fieldName(key)} ${missing ? 'is required' : issue.message}`);
}
