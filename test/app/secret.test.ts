import { describe, expect, it } from 'vitest';
import { counterSecret, DEFAULT_ENDPOINT } from '../../src/app/secret';
import { AppError } from '../../src/errors';
import { unpackSecret } from '../../src/iexec/secret';

const unpackCounterSecret = (raw: string) => unpackSecret(raw, counterSecret);

const valid = { namespace: 'my-app', key: 'hits' };
const pack = (fields: Record<string, unknown>): string => JSON.stringify(fields);

function failure(raw: string): AppError {
  try {
    unpackCounterSecret(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected the secret to be refused');
}

describe('unpackCounterSecret: accepted forms', () => {
  it('takes a JSON object with every field', () => {
    const fields = { endpoint: 'https://counter.example.org/base', namespace: 'a.b_c-d', key: 'k_1', token: 'tok.en-123' };
    expect(unpackCounterSecret(pack(fields))).toEqual(fields);
  });

  it('defaults the endpoint and leaves the token out when absent', () => {
    expect(unpackCounterSecret(pack(valid))).toEqual({ ...valid, endpoint: 'https://abacus.jasoncameron.dev' });
    expect(DEFAULT_ENDPOINT).toBe('https://abacus.jasoncameron.dev');
  });

  it("keeps the seed tutorial's plain namespace/key form working", () => {
    expect(unpackCounterSecret('my-app/hits')).toEqual({ ...valid, endpoint: DEFAULT_ENDPOINT });
  });

  it('ignores white space around the packed value (a pasted secret often ends with a newline)', () => {
    expect(unpackCounterSecret(` ${pack(valid)}\n`).key).toBe('hits');
    expect(unpackCounterSecret('my-app/hits\n').key).toBe('hits');
  });

  it.each(['http://127.0.0.1:8080', 'http://localhost:3000/', 'http://[::1]:9000', 'https://127.0.0.1'])(
    'allows plain http only for loopback: %s',
    (endpoint) => {
      expect(unpackCounterSecret(pack({ ...valid, endpoint })).endpoint).toBe(endpoint);
    },
  );

  it('accepts names at both length bounds', () => {
    expect(unpackCounterSecret(pack({ namespace: 'abc', key: 'x'.repeat(64) })).key).toHaveLength(64);
  });

  it('accepts unicode elsewhere in the JSON as long as the fields keep their rules', () => {
    // A unicode token is refused (it goes into a header), but unicode JSON escapes of ASCII are fine.
    expect(unpackCounterSecret('{"namespace":"\\u006dy-app","key":"hits"}').namespace).toBe('my-app');
  });
});

describe('the secret as the tools show it', () => {
  it('says what each field is, and only the token is sensitive (never echoed or shown again)', () => {
    for (const info of Object.values(counterSecret.fields)) expect(info.description).toMatch(/^[a-z].{5,}/);
    expect(Object.entries(counterSecret.fields).filter(([, info]) => info.sensitive === true).map(([name]) => name)).toEqual(['token']);
  });

  it('shows none of its values: the endpoint, namespace and key are private too', () => {
    expect(Object.values(counterSecret.fields).filter((info) => info.shown === true)).toEqual([]);
  });
});

describe('unpackCounterSecret: refused, with the field named and no value shown', () => {
  it.each([
    ['a namespace too short', { namespace: 'ab', key: 'hits' }, 'field "namespace" must be 3 to 64 characters'],
    ['a key too long', { namespace: 'my-app', key: 'k'.repeat(65) }, 'field "key" must be 3 to 64 characters'],
    ['a key with a slash', { namespace: 'my-app', key: 'a/b/c' }, 'field "key" must be'],
    ['a namespace with unicode', { namespace: 'café-ns', key: 'hits' }, 'field "namespace" must be'],
    ['a missing key', { namespace: 'my-app' }, 'field "key" is required'],
    ['a missing namespace', { key: 'hits' }, 'field "namespace" is required'],
    ['a number as key', { namespace: 'my-app', key: 12345 }, 'field "key" must be'],
    ['an unknown field', { ...valid, tokne: 'x' }, 'unknown field "tokne"'],
    ['a token with a space', { ...valid, token: 'a b' }, 'field "token" must be visible ASCII'],
    ['a token with a line break', { ...valid, token: 'abc\r\nX-Evil: 1' }, 'field "token" must be visible ASCII'],
    ['a unicode token', { ...valid, token: 'tökén' }, 'field "token" must be visible ASCII'],
    ['an empty token', { ...valid, token: '' }, 'field "token" must be visible ASCII'],
    ['a token that is not a string', { ...valid, token: 42 }, 'field "token" must be a string'],
  ])('%s', (_, fields, message) => {
    const error = failure(pack(fields));
    expect(error.code).toBe('SECRET_INVALID');
    expect(error.message).toContain(message);
  });

  it.each([
    'http://counter.example.org',
    'ftp://127.0.0.1',
    'https://user:pass@counter.example.org',
    'https://user@counter.example.org',
    'https://:pw@counter.example.org',
    'https://counter.example.org/?key=1',
    'https://counter.example.org/?',
    'https://counter.example.org/#frag',
    'counter.example.org',
    '/relative/path',
    'http://127.0.0.2.example.org',
    'http://localhost.example.org',
    '',
  ])('an endpoint that is not allowed: %j', (endpoint) => {
    const error = failure(pack({ ...valid, endpoint }));
    expect(error.line).toBe(
      'SECRET_INVALID: field "endpoint" must be an absolute https URL (http only for loopback) without credentials, query or fragment',
    );
  });

  it('does not print an unknown field name that does not look like a name', () => {
    const error = failure(pack({ ...valid, 'sk_live_0123456789abcdef0123456789abcdef': 1 }));
    expect(error.message).toBe('unknown field (a name that is withheld) in secret');
  });

  it.each([
    ['not JSON', '{"namespace": "my-app", key: hits}', 'secret is not valid JSON'],
    ['a JSON array', '[1, 2]', 'secret must be a JSON object or "namespace/key"'],
    ['a JSON string (read as a legacy pair whose namespace has a quote)', '"my-app/hits"', 'field "namespace" must be'],
    ['a plain word', 'just-a-word', 'secret must be a JSON object or "namespace/key"'],
    ['a legacy form with a bad key', 'my-app/h', 'field "key" must be'],
    ['a legacy form with too many parts', 'my-app/hits/more', 'field "key" must be'],
    ['a legacy form with no namespace (the slash first)', '/hits', 'field "namespace" must be'],
    ['JSON null', 'null', 'secret must be a JSON object or "namespace/key"'],
  ])('%s', (_, raw, message) => {
    const error = failure(raw);
    expect(error.code).toBe('SECRET_INVALID');
    expect(error.message).toContain(message);
  });
});
