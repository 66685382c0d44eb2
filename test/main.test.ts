import fc from 'fast-check';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT_CODES, type ErrorCode } from '../src/errors';
import { reportFailure, run } from '../src/main';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  vi.restoreAllMocks();
});
afterAll(() => server.close());

/** Runs the app in this process and collects everything it printed and wrote. */
async function runApp(secret: string | undefined, options = { timeoutMs: 200 }) {
  const out = mkdtempSync(join(tmpdir(), 'iexec-out-'));
  const printed: string[] = [];
  const capture = (chunk: string | Uint8Array) => (printed.push(String(chunk)), true);
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  const env = { IEXEC_OUT: out, ...(secret === undefined ? {} : { IEXEC_APP_DEVELOPER_SECRET: secret }) };
  const exitCode = await run(env, options);
  vi.restoreAllMocks();
  const files = Object.fromEntries(readdirSync(out).map((name) => [name, readFileSync(join(out, name), 'utf8')]));
  return { out, exitCode, files, printed: printed.join(''), stderr: stderr.mock.calls.map(([c]) => String(c)).join('') };
}

describe('run', () => {
  it('writes result.txt and computed.json on success', async () => {
    server.use(http.get('https://abacus.jasoncameron.dev/hit/my-app/hits', () => HttpResponse.json({ value: 12 })));
    const { out, exitCode, files, printed } = await runApp('{"namespace": "my-app", "key": "hits"}');
    expect(exitCode).toBe(0);
    expect(files).toEqual({
      'result.txt': 'endpoint hit 12 times',
      'computed.json': `{"deterministic-output-path":"${out}/result.txt"}`,
    });
    expect(printed).toBe('endpoint hit 12 times\n');
  });

  it.each<[ErrorCode, string | undefined]>([
    ['SECRET_MISSING', undefined],
    ['SECRET_INVALID', 'nonsense'],
    ['COUNTER_HTTP_ERROR', 'my-app/hits'],
  ])('reports %s on stderr, in error.txt and in computed.json, with its exit code', async (code, secret) => {
    server.use(http.get('https://abacus.jasoncameron.dev/hit/my-app/hits', () => new HttpResponse(null, { status: 500 })));
    const { out, exitCode, files, stderr } = await runApp(secret);
    const line = files['error.txt']!;
    expect(line.startsWith(`${code}: `)).toBe(true);
    expect(stderr).toBe(`${line}\n`);
    expect(exitCode).toBe(EXIT_CODES[code]);
    expect(JSON.parse(files['computed.json']!)).toEqual({ 'deterministic-output-path': `${out}/error.txt`, 'error-message': line });
    expect(Object.keys(files).sort()).toEqual(['computed.json', 'error.txt']);
  });

  it('reports OUTPUT_UNWRITABLE on stderr and in the exit code when IEXEC_OUT is missing', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(run({ IEXEC_APP_DEVELOPER_SECRET: 'my-app/hits' })).resolves.toBe(8);
    expect(stderr.mock.calls.map(([c]) => String(c))).toEqual(['OUTPUT_UNWRITABLE: IEXEC_OUT is not set\n']);
  });

  it('reports an unexpected error by code only: its message may quote the secret', () => {
    const out = mkdtempSync(join(tmpdir(), 'iexec-out-'));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const error = new Error('boom: sk_live_do_not_print');
    expect(reportFailure(error, { IEXEC_OUT: out })).toBe(1);
    const printed = stderr.mock.calls.map(([c]) => String(c)).join('');
    expect(printed).toMatch(/^UNEXPECTED: /);
    expect(printed + readFileSync(join(out, 'error.txt'), 'utf8') + readFileSync(join(out, 'computed.json'), 'utf8')).not.toContain('sk_live');
  });
});

// Values long and random enough that finding one in the output can only mean it leaked.
const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{9,40}$/);
const token = fc.stringMatching(/^[\x21-\x7e]{10,60}$/).filter((t) => !t.includes('"') && !t.includes('\\'));
const host = fc.stringMatching(/^[a-z][a-z0-9]{9,20}$/);

/** Each way the counter can answer, and what the app must report then. */
const counterBehaviours: Record<string, [ErrorCode | 'OK', (url: string) => Response | Promise<Response>]> = {
  success: ['OK', () => HttpResponse.json({ value: 5 })],
  status500: ['COUNTER_HTTP_ERROR', () => HttpResponse.json({ error: 'x' }, { status: 500 })],
  status429: ['COUNTER_HTTP_ERROR', () => new HttpResponse(null, { status: 429, headers: { 'Retry-After': '90' } })],
  // The Location echoes the secret's parts back: it must not be shown.
  redirect: ['COUNTER_HTTP_ERROR', (url) => HttpResponse.redirect(`${url}?again=1`, 301)],
  timeout: ['COUNTER_TIMEOUT', async () => (await delay(400), HttpResponse.json({ value: 1 }))],
  notJson: ['COUNTER_BAD_RESPONSE', (url) => new HttpResponse(`<p>${url}</p>`, { status: 200 })],
  badValue: ['COUNTER_BAD_RESPONSE', (url) => HttpResponse.json({ value: url })],
  oversized: ['COUNTER_BAD_RESPONSE', (url) => HttpResponse.json({ value: 1, echo: url.repeat(2000) })],
  networkError: ['COUNTER_UNREACHABLE', () => HttpResponse.error()],
};

describe('no part of the secret ever leaks', () => {
  it('on any counter behaviour, for generated secrets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ host, path: name, namespace: name, key: name, token }),
        fc.constantFrom(...Object.keys(counterBehaviours)),
        async (parts, behaviour) => {
          const [expected, answer] = counterBehaviours[behaviour]!;
          const endpoint = `https://${parts.host}.test/${parts.path}`;
          server.use(http.get(`${endpoint}/hit/:namespace/:key`, ({ request }) => answer(request.url)));
          const secret = JSON.stringify({ endpoint, namespace: parts.namespace, key: parts.key, token: parts.token });
          const { exitCode, files, printed } = await runApp(secret);
          expect(exitCode).toBe(expected === 'OK' ? 0 : EXIT_CODES[expected]);
          if (expected !== 'OK') expect(files['error.txt']).toMatch(new RegExp(`^${expected}: `));
          const everything = printed + Object.values(files).join('');
          for (const value of [parts.host, parts.path, parts.namespace, parts.key, parts.token, secret]) {
            expect(everything).not.toContain(value);
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('on every way the secret itself can be refused', async () => {
    await fc.assert(
      fc.asyncProperty(name, token, host, async (value, tokenValue, hostValue) => {
        const refusals = [
          JSON.stringify({ namespace: value, key: 'hits', extra: tokenValue }),
          JSON.stringify({ namespace: value, key: `${tokenValue}!`.repeat(3) }),
          JSON.stringify({ namespace: value, key: value, token: `${tokenValue} ${tokenValue}` }),
          JSON.stringify({ namespace: value, key: value, token: 12345 }),
          JSON.stringify({ endpoint: `http://${hostValue}.test/${value}`, namespace: value, key: value }),
          // Credentials from plain characters only: a token could start with "/" and end the authority.
          JSON.stringify({ endpoint: `https://${value}:pw${hostValue}@${hostValue}.test`, namespace: value, key: value }),
          JSON.stringify({ namespace: value, key: value, tokn: tokenValue }),
          `{"namespace": "${value}", "token": ${tokenValue}}`,
          `${value}/${tokenValue}!`,
          `${value}`,
          JSON.stringify({ namespace: value, key: value, token: tokenValue.repeat(420) }), // over 4096 bytes
        ];
        for (const secret of refusals) {
          const { exitCode, files, printed } = await runApp(secret);
          expect(exitCode).toBe(EXIT_CODES.SECRET_INVALID);
          const everything = printed + Object.values(files).join('');
          for (const part of [value, tokenValue, hostValue, secret]) expect(everything).not.toContain(part);
          // Nor its length (only the error line is checked: IEXEC_OUT's random path holds digits).
          expect(files['error.txt']).not.toMatch(new RegExp(`\\b${Buffer.byteLength(secret)}\\b`));
        }
      }),
      { numRuns: Number(process.env.LEAK_RUNS ?? 40) },
    );
  });
});
