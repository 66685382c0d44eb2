import axios, { AxiosError } from 'axios';
import { delay, http, HttpResponse, passthrough } from 'msw';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod/mini';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { defineUpstream, requestJson, type HttpRequest, type Upstream } from '../../src/iexec/http';
import { failureOf } from '../helpers/errors';
import { mockNetwork } from '../helpers/msw';
import { closedPort } from '../helpers/ports';

// The waits between attempts, recorded (and really waited unless a test says otherwise).
vi.mock('node:timers/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:timers/promises')>();
  return { ...actual, setTimeout: vi.fn(actual.setTimeout) };
});
const sleeps = vi.mocked(sleep);
beforeEach(() => {
  sleeps.mockReset();
});
const waitedMs = () => sleeps.mock.calls.map(([ms]) => ms);
/** From here on in this test, the waits are recorded, not waited. */
const skipWaits = () => sleeps.mockResolvedValue(undefined);

const URL_ = 'https://service.test/things/42';
const EXIT_CODES = { unreachable: 30, timeout: 31, httpError: 32, badResponse: 33 };
const service = defineUpstream('service', EXIT_CODES, { timeoutMs: 200, maxResponseBytes: 1024 });
const idempotentService = defineUpstream('service', EXIT_CODES, { timeoutMs: 200, maxResponseBytes: 1024, idempotent: true });
const Answer = z.object({ id: z.int() });
const call = (request: Partial<HttpRequest> = {}, upstream: Upstream = service) => requestJson(upstream, { url: URL_, ...request }, Answer, '{"id": <integer>}');
const callIdempotent = (request: Partial<HttpRequest> = {}) => call(request, idempotentService);

const server = mockNetwork();

/** Serves the given answers in turn and records what each request carried. */
function serveInTurn(...answers: (() => Response | Promise<Response>)[]) {
  const seen = { requests: 0, methods: [] as string[], headers: [] as Headers[], bodies: [] as string[] };
  server.use(
    http.all(URL_, async ({ request }) => {
      seen.methods.push(request.method);
      seen.headers.push(request.headers);
      seen.bodies.push(await request.text());
      return answers[Math.min(seen.requests++, answers.length - 1)]!();
    }),
  );
  return seen;
}
const ok = () => HttpResponse.json({ id: 1 });
const status = (code: number, headers: Record<string, string> = {}) => () => HttpResponse.json({ error: 'no' }, { status: code, headers });

describe('requestJson', () => {
  it('sends the method, headers and body, asks for JSON, and returns the parsed answer', async () => {
    const seen = serveInTurn(ok);
    await expect(call({ method: 'POST', headers: { 'X-Key': 'k' }, body: '{"a":1}' })).resolves.toEqual({ id: 1 });
    expect(seen.methods).toEqual(['POST']);
    expect(seen.headers[0]!.get('x-key')).toBe('k');
    expect(seen.headers[0]!.get('accept')).toBe('application/json');
    expect(seen.bodies).toEqual(['{"a":1}']);
  });

  it.each([201, 299])('accepts any 2xx: %i', async (code) => {
    serveInTurn(() => HttpResponse.json({ id: 2 }, { status: code }));
    await expect(call()).resolves.toEqual({ id: 2 });
  });
});

/** The call fails with the HTTP error of `answer`, without a second request (which would succeed) or a wait. */
async function expectFinal(answer: () => Response, upstream: Upstream) {
  const seen = serveInTurn(answer, ok);
  expect((await failureOf(() => call({}, upstream))).code).toBe('SERVICE_HTTP_ERROR');
  expect(seen.requests).toBe(1);
  expect(waitedMs()).toEqual([]);
}

describe('a call that is not idempotent is retried only when the server says it did nothing', () => {
  it.each(['429', '503'])('retries a %s with Retry-After: 0, then succeeds', async (code) => {
    const seen = serveInTurn(status(Number(code), { 'Retry-After': '0' }), ok);
    await expect(call()).resolves.toEqual({ id: 1 });
    expect(seen.requests).toBe(2);
    expect(waitedMs()).toEqual([0]);
  });

  it('waits as long as Retry-After asks', async () => {
    const seen = serveInTurn(status(503, { 'Retry-After': '1' }), ok);
    await expect(call()).resolves.toEqual({ id: 1 });
    expect(waitedMs()).toEqual([1000]);
    expect(seen.requests).toBe(2);
  });

  it.each(['5', '05', '005'])('retries when Retry-After is the 5 s limit, written %j (delay-seconds: any digits)', async (retryAfter) => {
    skipWaits();
    const seen = serveInTurn(status(429, { 'Retry-After': retryAfter }), ok);
    await expect(call()).resolves.toEqual({ id: 1 });
    expect(waitedMs()).toEqual([5000]);
    expect(seen.requests).toBe(2);
  });

  it('gives up after two retries, with the last answer', async () => {
    const seen = serveInTurn(status(429, { 'Retry-After': '0' }));
    const error = await failureOf(() => call());
    expect(error.line).toBe('SERVICE_HTTP_ERROR: service answered HTTP 429');
    expect(error.exitCode).toBe(32);
    expect(seen.requests).toBe(3);
    expect(waitedMs()).toEqual([0, 0]);
  });

  it.each([
    ['429 without Retry-After', status(429)],
    ['429 asking for 6 s', status(429, { 'Retry-After': '6' })],
    ['429 asking for a long wait', status(429, { 'Retry-After': '60' })],
    ['429 with a date (not supported)', status(429, { 'Retry-After': 'Wed, 21 Oct 2026 07:28:00 GMT' })],
    ['429 with a negative wait', status(429, { 'Retry-After': '-1' })],
    ['429 with a fractional wait', status(429, { 'Retry-After': '1.5' })],
    ['429 with a unit', status(429, { 'Retry-After': '3 s' })],
    ['429 with a wait over the limit in many digits', status(429, { 'Retry-After': '0006' })],
    ['503 without Retry-After', status(503)],
    ['500, which may have done the work', status(500, { 'Retry-After': '0' })],
    ['500 without Retry-After', status(500)],
    ['502', status(502, { 'Retry-After': '0' })],
    ['504', status(504)],
  ])('does not retry %s', async (_, answer) => {
    await expectFinal(answer, service);
  });

  it('does not retry after a timeout: the work may have been done', async () => {
    const seen = serveInTurn(async () => (await delay(500), ok()));
    const error = await failureOf(() => call());
    expect(error.line).toBe('SERVICE_TIMEOUT: service did not answer in time');
    expect(error.exitCode).toBe(31);
    expect(seen.requests).toBe(1);
  });

  it('does not retry a failed connection', async () => {
    const seen = serveInTurn(() => HttpResponse.error(), ok);
    expect((await failureOf(() => call())).code).toBe('SERVICE_UNREACHABLE');
    expect(seen.requests).toBe(1);
    expect(waitedMs()).toEqual([]);
  });
});

describe('an idempotent call is also retried when the failure may pass', () => {
  const slow = async () => (await delay(500), ok());
  it.each([
    ['a 500', status(500)],
    ['a 502', status(502)],
    ['a 503 without Retry-After', status(503)],
    ['a 504', status(504)],
    ['a timeout', slow],
    ['a failed connection', () => HttpResponse.error()],
  ])('retries %s after 200 ms, then succeeds', async (_, failure) => {
    skipWaits();
    const seen = serveInTurn(failure, ok);
    await expect(callIdempotent()).resolves.toEqual({ id: 1 });
    expect(seen.requests).toBe(2);
    expect(waitedMs()).toEqual([200]);
  });

  it.each([
    ['500', status(500), 'SERVICE_HTTP_ERROR: service answered HTTP 500', 32],
    ['504', status(504), 'SERVICE_HTTP_ERROR: service answered HTTP 504', 32],
    ['timeout', slow, 'SERVICE_TIMEOUT: service did not answer in time', 31],
    ['failed connection', () => HttpResponse.error(), 'SERVICE_UNREACHABLE: service could not be reached', 30],
  ])('gives up on a %s after two retries, 200 ms then 400 ms apart, with the last failure', async (_, failure, line, exitCode) => {
    skipWaits();
    const seen = serveInTurn(failure);
    const error = await failureOf(() => callIdempotent());
    expect([error.line, error.exitCode]).toEqual([line, exitCode]);
    expect(seen.requests).toBe(3);
    expect(waitedMs()).toEqual([200, 400]);
  });

  it('retries a connection the system gave up on (ETIMEDOUT)', async () => {
    skipWaits();
    const request = vi.spyOn(axios, 'request').mockRejectedValue(new AxiosError('connect ETIMEDOUT 192.0.2.1:443', 'ETIMEDOUT'));
    expect((await failureOf(() => callIdempotent())).code).toBe('SERVICE_TIMEOUT');
    expect(request).toHaveBeenCalledTimes(3);
  });

  it('waits as long as Retry-After asks, on any status it retries', async () => {
    skipWaits();
    const seen = serveInTurn(status(500, { 'Retry-After': '1' }), status(429, { 'Retry-After': '0' }), ok);
    await expect(callIdempotent()).resolves.toEqual({ id: 1 });
    expect(seen.requests).toBe(3);
    expect(waitedMs()).toEqual([1000, 0]);
  });

  it.each([
    ['a 503 asking for 30 s', status(503, { 'Retry-After': '30' })],
    ['a 502 asking for a date', status(502, { 'Retry-After': 'Wed, 21 Oct 2026 07:28:00 GMT' })],
    ['a 429 without Retry-After', status(429)],
    ['a 501, which will not pass', status(501)],
    ['a 505', status(505)],
    ['a 400', status(400)],
    ['a 408', status(408)],
  ])('does not retry %s: the server says not to come back soon, or that it would fail again', async (_, answer) => {
    await expectFinal(answer, idempotentService);
  });

  it.each([
    ['not JSON', () => new HttpResponse('<html>busy</html>', { status: 200 })],
    ['the wrong shape', () => HttpResponse.json({ id: 'x' })],
  ])('does not retry a complete answer that is %s', async (_, answer) => {
    const seen = serveInTurn(answer, ok);
    expect((await failureOf(() => callIdempotent())).code).toBe('SERVICE_BAD_RESPONSE');
    expect(seen.requests).toBe(1);
  });

  it('retries an answer over the size cap as one cut short (the same verdict)', async () => {
    skipWaits();
    const seen = serveInTurn(() => HttpResponse.json({ id: 1, padding: 'x'.repeat(1024) }), ok);
    await expect(callIdempotent()).resolves.toEqual({ id: 1 });
    expect(seen.requests).toBe(2);
  });
});

describe('the policy of a call', () => {
  it("is its upstream's unless the request says otherwise, both ways", async () => {
    skipWaits();
    let seen = serveInTurn(status(500), ok);
    await expect(call({ idempotent: true })).resolves.toEqual({ id: 1 });
    expect(seen.requests).toBe(2);
    seen = serveInTurn(status(500), ok);
    expect((await failureOf(() => callIdempotent({ idempotent: false }))).code).toBe('SERVICE_HTTP_ERROR');
    expect(seen.requests).toBe(1);
    seen = serveInTurn(status(500), ok);
    await expect(callIdempotent({ idempotent: true })).resolves.toEqual({ id: 1 });
    expect(seen.requests).toBe(2);
  });

  it.each([false, true])('never retries a status the app gave a meaning of its own (idempotent: %s)', async (idempotent) => {
    skipWaits();
    const own = defineUpstream('service', EXIT_CODES, {
      idempotent,
      statuses: { 503: { code: 'SERVICE_DOWN', exitCode: 35, message: 'is down' }, 500: { code: 'SERVICE_BROKEN', exitCode: 36, message: 'is broken' } },
    });
    const ownCall = () => requestJson(own, { url: URL_ }, Answer, '{"id": <integer>}');
    let seen = serveInTurn(status(503, { 'retry-after': '0' }), ok);
    expect((await failureOf(ownCall)).line).toBe('SERVICE_DOWN: service is down');
    expect(seen.requests).toBe(1);
    seen = serveInTurn(status(500), ok);
    expect((await failureOf(ownCall)).line).toBe('SERVICE_BROKEN: service is broken');
    expect(seen.requests).toBe(1);
    // The other statuses keep the rule: a 429 with a short Retry-After goes again.
    seen = serveInTurn(status(429, { 'retry-after': '0' }), ok);
    await expect(ownCall()).resolves.toEqual({ id: 1 });
    expect(seen.requests).toBe(2);
    expect(waitedMs()).toEqual([0]);
  });
});

describe('requestJson failures', () => {
  it.each([404, 401, 500, 302])('HTTP %i is an HTTP error, and a redirect is not followed', async (code) => {
    const seen = serveInTurn(code === 302 ? () => HttpResponse.redirect('https://service.test/elsewhere', 302) : status(code));
    expect((await failureOf(() => call())).line).toBe(`SERVICE_HTTP_ERROR: service answered HTTP ${code}`);
    expect(seen.requests).toBe(1);
  });

  it('a status the app gave a meaning of its own fails with its code and message, the others as HTTP errors; its codes join the table', async () => {
    const own = defineUpstream('service', { unreachable: 30, timeout: 31, httpError: 32, badResponse: 33 }, {
      statuses: { 404: { code: 'SERVICE_NO_SUCH_THING', exitCode: 34, message: 'knows no such thing' }, 503: { code: 'SERVICE_DOWN', exitCode: 35, message: 'is down' } },
    });
    expect(own.errors).toEqual({ SERVICE_UNREACHABLE: 30, SERVICE_TIMEOUT: 31, SERVICE_HTTP_ERROR: 32, SERVICE_BAD_RESPONSE: 33, SERVICE_NO_SUCH_THING: 34, SERVICE_DOWN: 35 });
    const ownCall = () => requestJson(own, { url: URL_ }, Answer, '{"id": <integer>}');
    serveInTurn(status(404));
    const error = await failureOf(ownCall);
    expect([error.line, error.exitCode]).toEqual(['SERVICE_NO_SUCH_THING: service knows no such thing', 34]);
    serveInTurn(status(503));
    expect((await failureOf(ownCall)).line).toBe('SERVICE_DOWN: service is down');
    serveInTurn(status(500));
    expect((await failureOf(ownCall)).line).toBe('SERVICE_HTTP_ERROR: service answered HTTP 500');
  });

  it.each([
    ['not JSON', () => new HttpResponse('<html>busy</html>', { status: 200 }), 'service answer is not JSON'],
    ['the wrong shape', () => HttpResponse.json({ id: 'x' }), 'service answer is not {"id": <integer>}'],
    ['a JSON array', () => HttpResponse.json([1]), 'service answer is not {"id": <integer>}'],
  ])('a 200 with %s is a bad response', async (_, answer, message) => {
    serveInTurn(answer);
    const error = await failureOf(() => call());
    expect(error.line).toBe(`SERVICE_BAD_RESPONSE: ${message}`);
    expect(error.exitCode).toBe(33);
  });

  it('stops reading a body over its size cap', async () => {
    serveInTurn(() => HttpResponse.json({ id: 1, padding: 'x'.repeat(1024) }));
    expect((await failureOf(() => call())).line).toBe('SERVICE_BAD_RESPONSE: service answer was cut short, malformed or over 1024 bytes');
  });

  it('reports a network error as unreachable', async () => {
    serveInTurn(() => HttpResponse.error());
    const error = await failureOf(() => call());
    expect(error.line).toBe('SERVICE_UNREACHABLE: service could not be reached');
    expect(error.exitCode).toBe(30);
  });

  it('names the system error when nothing listens (a closed loopback port, really connected to)', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/things`;
    server.use(http.all(url, () => passthrough()));
    const error = await failureOf(() => requestJson(service, { url }, Answer, 'x'));
    expect(error.line).toBe('SERVICE_UNREACHABLE: service could not be reached (ECONNREFUSED)');
    expect(error.exitCode).toBe(30);
  });

  // The system gives up on a connection only after minutes (ETIMEDOUT), longer than a test may
  // take: axios's request is made to fail as it then does. Stubbed, as nothing else here can be.
  it('reports a connection the system gave up on (ETIMEDOUT) as a timeout, and does not retry it', async () => {
    const request = vi.spyOn(axios, 'request').mockRejectedValueOnce(new AxiosError('connect ETIMEDOUT 192.0.2.1:443', 'ETIMEDOUT'));
    const error = await failureOf(() => call());
    expect(error.line).toBe('SERVICE_TIMEOUT: service did not answer in time');
    expect(error.exitCode).toBe(31);
    expect(request).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['ECONNRESET', ' (ECONNRESET)'],
    ['EAI_AGAIN', ' (EAI_AGAIN)'],
    ['xECONNREFUSED', ''],
    ['ECONNREFUSED at https://sekret-host.test', ''],
    ['econnrefused', ''],
  ])('repeats the code %j of a failed connection only when it is a bare system code', async (code, suffix) => {
    vi.spyOn(axios, 'request').mockRejectedValueOnce(new AxiosError('failed', code));
    expect((await failureOf(() => call())).line).toBe(`SERVICE_UNREACHABLE: service could not be reached${suffix}`);
  });

  it('never carries the URL, the headers or the axios error', async () => {
    server.use(http.get('https://sekret-host.test/sekret-path', () => HttpResponse.error()));
    const error = await failureOf(() => requestJson(service, { url: 'https://sekret-host.test/sekret-path', headers: { Authorization: 'Bearer sekret-token' } }, Answer, 'x'));
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toMatch(/sekret/);
    expect(error.cause).toBeUndefined();
  });
});

/** Bytes written as they are, or what to do with the connection instead. */
type RawAnswer = string | ((socket: Socket) => void);

/** A real server on 127.0.0.1 that answers each request with the given answers in turn, the last one again. */
async function serveRaw(...answers: RawAnswer[]): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const raw = createNetServer((socket) => {
    socket.once('data', () => {
      const answer = answers[Math.min(requests++, answers.length - 1)]!;
      if (typeof answer === 'string') socket.end(answer);
      else answer(socket);
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/things`;
  server.use(http.all(url, () => passthrough()));
  return { url, requests: () => requests, close: () => new Promise((resolve) => raw.close(() => resolve())) };
}

const body = '{"id":1}';
const okBytes = `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

describe('requestJson refuses every status outside 200-299, informational ones included (a real server)', () => {
  it.each([
    ['101 that switches protocols (Node drops it unless told)', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 101],
    ['101 without Upgrade', `HTTP/1.1 101 Switching Protocols\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 101],
    ['100 Continue, never asked for', `HTTP/1.1 100 Continue\r\n\r\n${okBytes}`, 100],
    ['103 Early Hints, even before a 200', `HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${okBytes}`, 103],
    ['199 followed by nothing', 'HTTP/1.1 199 Whatever\r\n\r\n', 199],
    ['099', `HTTP/1.1 099 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 99],
    ['000', `HTTP/1.1 000 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 0],
    ['300', `HTTP/1.1 300 Multiple Choices\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 300],
  ])('a %s is an HTTP error, at once and not retried, even by an idempotent call', async (_, answer, status) => {
    for (const upstream of [service, idempotentService]) {
      // A retry would get the 200.
      const raw = await serveRaw(answer, okBytes);
      try {
        const error = await failureOf(() => requestJson(upstream, { url: raw.url }, Answer, 'x'));
        expect(error.line).toBe(`SERVICE_HTTP_ERROR: service answered HTTP ${status}`);
        expect(error.exitCode).toBe(32);
        expect(raw.requests()).toBe(1);
      } finally {
        await raw.close();
      }
    }
  });

  it.each([200, 299])('accepts a %i at the edge of the range, sent as bytes', async (status) => {
    const raw = await serveRaw(`HTTP/1.1 ${status} OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    try {
      await expect(requestJson(service, { url: raw.url }, Answer, 'x')).resolves.toEqual({ id: 1 });
    } finally {
      await raw.close();
    }
  });
});

describe('an answer cut short, or a connection reset (a real server)', () => {
  const cutShort = `HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"id"`;
  it.each([
    ['an answer shorter than its length', cutShort, 'SERVICE_BAD_RESPONSE'],
    ['a reset in the middle of the answer', (socket: Socket) => (socket.write(cutShort), socket.resetAndDestroy()), 'SERVICE_BAD_RESPONSE'],
    ['a reset before any answer', (socket: Socket) => socket.resetAndDestroy(), 'SERVICE_UNREACHABLE'],
  ])('%s: retried by an idempotent call, never by another', async (_, failure, code) => {
    skipWaits();
    const raw = await serveRaw(failure, failure, okBytes);
    try {
      expect((await failureOf(() => requestJson(service, { url: raw.url }, Answer, 'x'))).code).toBe(code);
      expect(raw.requests()).toBe(1);
      await expect(requestJson(idempotentService, { url: raw.url }, Answer, 'x')).resolves.toEqual({ id: 1 });
      expect(raw.requests()).toBe(3);
      expect(waitedMs()).toEqual([200]);
    } finally {
      await raw.close();
    }
  });
});

describe('requestJson verifies certificates whatever the environment says (a real TLS server)', () => {
  it('refuses a self-signed server even under NODE_TLS_REJECT_UNAUTHORIZED=0, before sending anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    let requests = 0;
    const tls = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_, response) => {
      requests += 1;
      response.end('{"id":1}');
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/things`;
    server.use(http.all(url, () => passthrough()));
    vi.stubEnv('NODE_TLS_REJECT_UNAUTHORIZED', '0');
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const error = await failureOf(() => requestJson(service, { url, headers: { Authorization: 'Bearer sekret' } }, Answer, 'x'));
      expect(error.line).toBe('SERVICE_UNREACHABLE: service could not be reached');
      expect(requests).toBe(0);
      // The environment did say so: Node read it (and warned) on this very connection.
      expect(warnings).toHaveBeenCalled();
    } finally {
      vi.unstubAllEnvs();
      warnings.mockRestore();
      await new Promise((resolve) => tls.close(resolve));
    }
  });
});
