import fc from 'fast-check';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import { TASK_ERRORS } from '../../src/errors';
import { runApp as runAnyApp } from '../helpers/run-app';
import { mockNetwork } from '../helpers/msw';

const EXIT_CODES: Record<string, number> = { ...TASK_ERRORS, ...app.errors };
type ErrorCode = string;

const server = mockNetwork();

const runApp = async (secret: string) => {
  const { stdout, stderr, ...rest } = await runAnyApp(app, { IEXEC_APP_DEVELOPER_SECRET: secret });
  return { ...rest, printed: stdout + stderr };
};
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
