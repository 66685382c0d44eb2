import * as z from 'zod/mini';
import { AppError } from '../errors';
import { parseJsonObject, validateSecretFields } from '../iexec/secret';

export const DEFAULT_ENDPOINT = 'https://abacus.jasoncameron.dev';

// The counter service's own rule for namespaces and keys.
const NAME = /^[A-Za-z0-9_\-.]{3,64}$/;
const NAME_RULE = 'must be 3 to 64 characters among A-Z a-z 0-9 _ - .';
// Plain http is only for a counter on this machine: local runs and tests.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const ENDPOINT_RULE = 'must be an absolute https URL (http only for loopback) without credentials, query or fragment';

function isAllowedEndpoint(text: string): boolean {
  if (!URL.canParse(text) || /[?#]/.test(text)) return false;
  const url = new URL(text);
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  return secure && url.username === '' && url.password === '';
}

const name = z.string({ error: NAME_RULE }).check(z.regex(NAME, { error: NAME_RULE }));

/** The fields packed into IEXEC_APP_DEVELOPER_SECRET. Change this to carry your app's own. */
export const CounterSecretSchema = z.strictObject({
  endpoint: z._default(
    z.string({ error: ENDPOINT_RULE }).check(z.refine(isAllowedEndpoint, { error: ENDPOINT_RULE })),
    DEFAULT_ENDPOINT,
  ),
  namespace: name,
  key: name,
  // Visible ASCII only: it goes into an HTTP header, where a line break would split it.
  token: z.optional(
    z.string({ error: 'must be a string' }).check(z.regex(/^[\x21-\x7e]+$/, { error: 'must be visible ASCII, no spaces' })),
  ),
});

export type CounterSecret = z.infer<typeof CounterSecretSchema>;

/** A JSON object, or the seed tutorial's plain `namespace/key`, which keeps working. */
export function unpackCounterSecret(raw: string): CounterSecret {
  const text = raw.trim();
  if (text.startsWith('{')) return validateSecretFields(CounterSecretSchema, parseJsonObject(text));
  const slash = text.indexOf('/');
  if (slash < 0) throw new AppError('SECRET_INVALID', 'secret must be a JSON object or "namespace/key"');
  return validateSecretFields(CounterSecretSchema, { namespace: text.slice(0, slash), key: text.slice(slash + 1) });
}
