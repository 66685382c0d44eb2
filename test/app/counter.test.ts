import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hitCounter, MAX_RESPONSE_BYTES } from '../../src/app/counter';
import type { CounterSecret } from '../../src/app/secret';
import { AppError } from '../../src/errors';

const ENDPOINT = 'https://counter.test';
const HIT_URL = `${ENDPOINT}/hit/my-app/hits`;
const secret: CounterSecret = { endpoint: ENDPOINT, namespace: 'my-app', key: 'hits' };

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Serves the given answers in turn and counts the hits the counter actually took. */
function serveInTurn(...answers: (() => Response | Promise<Response>)[]) {
  const seen = { requests: 0, counted: 0, authorization: [] as (string | null)[] };
  server.use(
    http.get(HIT_URL, async ({ request }) => {
      seen.authorization.push(request.headers.get('authorization'));
      const answer = await answers[Math.min(seen.requests++, answers.length - 1)]!();
      if (answer.status === 200) seen.counted += 1;
      return answer;
    }),
  );
  return seen;
}

const ok = (value: unknown) => () => HttpResponse.json({ value });
const status = (code: number, headers: Record<string, string> = {}) => () =>
  HttpResponse.json({ error: 'no' }, { status: code, headers });

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('hitCounter', () => {
  it('counts one hit and returns the new value', async () => {
    const seen = serveInTurn(ok(42));
    await expect(hitCounter(secret)).resolves.toBe(42);
    expect(seen).toMatchObject({ requests: 1, counted: 1, authorization: [null] });
  });

  it('joins the endpoint path without doubling slashes', async () => {
    server.use(http.get(`${ENDPOINT}/base/hit/my-app/hits`, () => HttpResponse.json({ value: 1 })));
    await expect(hitCounter({ ...secret, endpoint: `${ENDPOINT}/base//` })).resolves.toBe(1);
  });

  it('sends the token only as a Bearer header', async () => {
    const seen = serveInTurn(ok(1));
    await hitCounter({ ...secret, token: 'tok-123' });
    expect(seen.authorization).toEqual(['Bearer tok-123']);
  });

  it('accepts a value of 0 and extra fields in the answer', async () => {
    serveInTurn(() => HttpResponse.json({ value: 0, namespace: 'my-app' }));
    await expect(hitCounter(secret)).resolves.toBe(0);
  });
});

describe('hitCounter retries only what was not counted', () => {
  it('retries a 429 with Retry-After and counts exactly one hit', async () => {
    const seen = serveInTurn(status(429, { 'Retry-After': '0' }), ok(7));
    await expect(hitCounter(secret)).resolves.toBe(7);
    expect(seen).toMatchObject({ requests: 2, counted: 1 });
  });

  it('waits as long as Retry-After asks before retrying', async () => {
    serveInTurn(status(503, { 'Retry-After': '1' }), ok(8));
    const started = Date.now();
    await expect(hitCounter(secret)).resolves.toBe(8);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after two retries', async () => {
    const seen = serveInTurn(status(429, { 'Retry-After': '0' }));
    const error = await failure(hitCounter(secret));
    expect(error.line).toBe('COUNTER_HTTP_ERROR: counter answered HTTP 429');
    expect(seen).toMatchObject({ requests: 3, counted: 0 });
  });

  it.each([
    ['429 without Retry-After', status(429)],
    ['429 asking for a long wait', status(429, { 'Retry-After': '60' })],
    ['429 with a date (not supported)', status(429, { 'Retry-After': 'Wed, 21 Oct 2026 07:28:00 GMT' })],
    ['500, which may have counted', status(500, { 'Retry-After': '0' })],
    ['502', status(502, { 'Retry-After': '0' })],
  ])('does not retry %s', async (_, answer) => {
    const seen = serveInTurn(answer, ok(1));
    const error = await failure(hitCounter(secret));
    expect(error.code).toBe('COUNTER_HTTP_ERROR');
    expect(seen.requests).toBe(1);
  });

  it('does not retry after a timeout: the hit may have been counted', async () => {
    const seen = serveInTurn(async () => {
      await delay(500);
      return HttpResponse.json({ value: 1 });
    });
    const error = await failure(hitCounter(secret, { timeoutMs: 100 }));
    expect(error.line).toBe('COUNTER_TIMEOUT: counter did not answer in time');
    expect(error.exitCode).toBe(5);
    expect(seen.requests).toBe(1);
  });
});

describe('hitCounter failures', () => {
  it.each([
    [404, 'COUNTER_HTTP_ERROR: counter answered HTTP 404'],
    [401, 'COUNTER_HTTP_ERROR: counter answered HTTP 401'],
    [500, 'COUNTER_HTTP_ERROR: counter answered HTTP 500'],
  ])('HTTP %i', async (code, line) => {
    serveInTurn(status(code));
    expect((await failure(hitCounter(secret))).line).toBe(line);
  });

  it('does not follow a redirect', async () => {
    const seen = serveInTurn(() => HttpResponse.redirect(`${ENDPOINT}/elsewhere`, 302));
    const error = await failure(hitCounter(secret));
    expect(error.line).toBe('COUNTER_HTTP_ERROR: counter answered HTTP 302');
    expect(seen.requests).toBe(1);
  });

  it.each([
    ['not JSON', () => new HttpResponse('<html>busy</html>', { status: 200 }), 'counter answer is not JSON'],
    ['a string value', ok('42'), 'counter answer is not {"value": <integer >= 0>}'],
    ['a negative value', ok(-1), 'counter answer is not {"value": <integer >= 0>}'],
    ['a fractional value', ok(1.5), 'counter answer is not {"value": <integer >= 0>}'],
    ['no value', () => HttpResponse.json({ count: 3 }), 'counter answer is not {"value": <integer >= 0>}'],
    ['a JSON array', () => HttpResponse.json([1]), 'counter answer is not {"value": <integer >= 0>}'],
  ])('a 200 with %s is a bad response', async (_, answer, message) => {
    serveInTurn(answer);
    const error = await failure(hitCounter(secret));
    expect(error.code).toBe('COUNTER_BAD_RESPONSE');
    expect(error.message).toBe(message);
  });

  it('stops reading an oversized body', async () => {
    serveInTurn(() => HttpResponse.json({ value: 1, padding: 'x'.repeat(MAX_RESPONSE_BYTES) }));
    const error = await failure(hitCounter(secret));
    expect(error.line).toBe(`COUNTER_BAD_RESPONSE: counter answer was cut short, malformed or over ${MAX_RESPONSE_BYTES} bytes`);
  });

  it('reports a network error as unreachable', async () => {
    serveInTurn(() => HttpResponse.error());
    const error = await failure(hitCounter(secret));
    expect(error.code).toBe('COUNTER_UNREACHABLE');
    expect(error.exitCode).toBe(4);
  });

  it('never carries the URL, the token or the axios error', async () => {
    const hidden: CounterSecret = { endpoint: 'https://sekret-host.test/sekret-path', namespace: 'ns-sekret', key: 'key-sekret', token: 'tok-sekret' };
    server.use(http.get('https://sekret-host.test/sekret-path/hit/ns-sekret/key-sekret', () => HttpResponse.error()));
    const error = await failure(hitCounter(hidden));
    const everything = JSON.stringify({ ...error, message: error.message, stack: error.stack });
    expect(everything).not.toMatch(/sekret/);
    expect(error.cause).toBeUndefined();
  });
});
