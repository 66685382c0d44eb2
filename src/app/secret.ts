import * as z from 'zod/mini';
import { taskError } from '#errors';
import { defineSecret } from '#iexec/secret';

export const DEFAULT_ENDPOINT = 'https://abacus.jasoncameron.dev';

// The counter service's own rule for namespaces and keys.
const NAME = /^[A-Za-z0-9_\-.]{3,64}$/;
const NAME_RULE = 'must be 3 to 64 characters among A-Z a-z 0-9 _ - .';
// The string's error covers its checks too: one message for any way a name breaks the rule.
export const counterName = z.string({ error: NAME_RULE }).check(z.regex(NAME));

// Plain http is only for a counter on this machine: local runs and tests.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const ENDPOINT_RULE = 'must be an absolute https URL (http only for loopback) without credentials, query or fragment';

function isAllowedEndpoint(text: string): boolean {
  if (!URL.canParse(text) || /[?#]/.test(text)) return false;
  const url = new URL(text);
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  return secure && url.username === '' && url.password === '';
}

/** The fields packed into IEXEC_APP_DEVELOPER_SECRET. */
export const counterSecret = defineSecret({
  schema: z.strictObject({
    endpoint: z._default(z.string({ error: ENDPOINT_RULE }).check(z.refine(isAllowedEndpoint)), DEFAULT_ENDPOINT),
    namespace: counterName,
    key: counterName,
    // Visible ASCII only: it goes into an HTTP header, where a line break would split it.
    token: z.optional(z.string({ error: 'must be a string' }).check(z.regex(/^[\x21-\x7e]+$/, { error: 'must be visible ASCII, no spaces' }))),
  }),
  fields: {
    endpoint: { description: 'counter service URL (https; http only for loopback)' },
    namespace: { description: 'counter namespace' },
    key: { description: 'counter key (the default; a requester can pick another with --key)' },
    token: { description: 'bearer token for the counter service, if it needs one', sensitive: true },
  },
  // The seed tutorial's plain `namespace/key`, which keeps working.
  plainText(text) {
    const slash = text.indexOf('/');
    if (slash < 0) throw taskError('SECRET_INVALID', 'secret must be a JSON object or "namespace/key"');
    return { namespace: text.slice(0, slash), key: text.slice(slash + 1) };
  },
});
