import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { counterService, hitCounter } from '../../src/app/counter';
import { app } from '../../src/app';
import { failureOf } from '../helpers/errors';
import { mockNetwork } from '../helpers/msw';

const ENDPOINT = 'https://counter.test';
const hit = { endpoint: ENDPOINT, namespace: 'my-app', key: 'hits' };

const server = mockNetwork();

/** Answers hits on any counter of the namespace and records the requests. */
function counter(answer: (key: string) => Response = () => HttpResponse.json({ value: 42 })) {
  const seen: { url: string; authorization: string | null }[] = [];
  server.use(
    http.get(`${ENDPOINT}/*`, ({ request }) => {
      seen.push({ url: request.url, authorization: request.headers.get('authorization') });
      return answer(new URL(request.url).pathname.split('/').at(-1)!);
    }),
  );
  return seen;
}

describe('hitCounter', () => {
  it('counts one hit on /hit/<namespace>/<key> and returns the new value', async () => {
    const seen = counter();
    await expect(hitCounter(hit)).resolves.toBe(42);
    expect(seen).toEqual([{ url: `${ENDPOINT}/hit/my-app/hits`, authorization: null }]);
  });

  it('keeps the endpoint path, without doubling slashes', async () => {
    const seen = counter();
    await hitCounter({ ...hit, endpoint: `${ENDPOINT}/base//` });
    expect(seen[0]!.url).toBe(`${ENDPOINT}/base/hit/my-app/hits`);
  });

  it('sends the token only as a Bearer header', async () => {
    const seen = counter();
    await hitCounter({ ...hit, token: 'tok-123' });
    expect(seen[0]).toEqual({ url: `${ENDPOINT}/hit/my-app/hits`, authorization: 'Bearer tok-123' });
  });

  it('accepts a value of 0 and extra fields in the answer', async () => {
    counter(() => HttpResponse.json({ value: 0, namespace: 'my-app' }));
    await expect(hitCounter(hit)).resolves.toBe(0);
  });

  it.each([
    ['a string value', { value: '42' }],
    ['a negative value', { value: -1 }],
    ['a fractional value', { value: 1.5 }],
    ['no value', { count: 3 }],
  ])('refuses an answer with %s', async (_, body) => {
    counter(() => HttpResponse.json(body));
    const error = await failureOf(() => hitCounter(hit));
    expect(error.line).toBe('COUNTER_BAD_RESPONSE: counter answer is not {"value": <integer >= 0>}');
    expect(error.exitCode).toBe(7);
  });

  it('has its documented codes', () => {
    expect(counterService.errors).toEqual({ COUNTER_UNREACHABLE: 4, COUNTER_TIMEOUT: 5, COUNTER_HTTP_ERROR: 6, COUNTER_BAD_RESPONSE: 7 });
    expect(app.errors).toEqual(counterService.errors);
  });
});

describe('the counter app', () => {
  const task = { inputFiles: [], dataset: undefined, requesterSecrets: new Map(), bot: { size: 1, firstIndex: 0, index: 0 }, protectedData: undefined };

  it("hits the secret's key and reports the count", async () => {
    const seen = counter();
    await expect(app.run({ ...task, secret: hit, args: {} })).resolves.toEqual({ result: 'endpoint hit 42 times', log: 'endpoint hit 42 times' });
    expect(seen[0]!.url).toBe(`${ENDPOINT}/hit/my-app/hits`);
  });

  it('says what its option is, and why its result differs between runs', () => {
    expect(app.args.options.key.description).toMatch(/^[a-z].{5,}/);
    expect(app.resultVaries).toMatch(/^[a-z].{5,}/);
  });

  it('hits the key the requester names with --key, in the same namespace', async () => {
    const seen = counter();
    await app.run({ ...task, secret: hit, args: { key: 'other-key' } });
    expect(seen[0]!.url).toBe(`${ENDPOINT}/hit/my-app/other-key`);
  });
});
