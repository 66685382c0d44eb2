import axios, { AxiosError } from 'axios';
import { delay, http, HttpResponse, passthrough } from 'msw';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod/mini';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { defineUpstream, requestJson, type HttpRequest } from '../../src/iexec/http';
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
  sleeps.mockClear();
});
const waitedMs = () => sleeps.mock.calls.map(([ms]) => ms);

const URL_ = 'https://service.test/things/42';
const service = defineUpstream('service', { unreachable: 30, timeout: 31, httpError: 32, badResponse: 33 }, { timeoutMs: 200, maxResponseBytes: 1024 });
const Answer = z.object({ id: z.int() });
const call = (request: Partial<HttpRequest> = {}) => requestJson(service, { url: URL_, ...request }, Answer, '{"id": <integer>}');

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

describe('requestJson retries only what the server says it did not do', () => {
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

  it.each(['5', '05'])('retries when Retry-After is the 5 s limit, written %j', async (retryAfter) => {
    sleeps.mockResolvedValueOnce(undefined); // the wait is checked, not waited
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
    ['429 with three digits', status(429, { 'Retry-After': '001' })],
    ['500, which may have done the work', status(500, { 'Retry-After': '0' })],
    ['502', status(502, { 'Retry-After': '0' })],
  ])('does not retry %s', async (_, answer) => {
    const seen = serveInTurn(answer, ok);
    expect((await failureOf(() => call())).code).toBe('SERVICE_HTTP_ERROR');
    expect(seen.requests).toBe(1);
    expect(waitedMs()).toEqual([]);
  });

  it('does not retry after a timeout: the work may have been done', async () => {
    const seen = serveInTurn(async () => (await delay(500), ok()));
    const error = await failureOf(() => call());
    expect(error.line).toBe('SERVICE_TIMEOUT: service did not answer in time');
    expect(error.exitCode).toBe(31);
    expect(seen.requests).toBe(1);
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
    // Still retried as the server asks first: its own meaning is for the final answer.
    const seen = serveInTurn(status(503, { 'retry-after': '0' }));
    expect((await failureOf(ownCall)).line).toBe('SERVICE_DOWN: service is down');
    expect(seen.requests).toBe(3);
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

/** A real server on 127.0.0.1 that writes `answer` as it is, bytes on the wire, to every request. */
async function serveRaw(answer: string): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const raw = createNetServer((socket) => {
    socket.once('data', () => {
      requests += 1;
      socket.end(answer);
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/things`;
  server.use(http.all(url, () => passthrough()));
  return { url, requests: () => requests, close: () => new Promise((resolve) => raw.close(() => resolve())) };
}

describe('requestJson refuses every status outside 200-299, informational ones included (a real server)', () => {
  const body = '{"id":1}';
  it.each([
    ['101 that switches protocols (Node drops it unless told)', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 101],
    ['101 without Upgrade', `HTTP/1.1 101 Switching Protocols\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 101],
    ['100 Continue, never asked for', `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 100],
    ['103 Early Hints, even before a 200', `HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 103],
    ['199 followed by nothing', 'HTTP/1.1 199 Whatever\r\n\r\n', 199],
    ['099', `HTTP/1.1 099 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 99],
    ['000', `HTTP/1.1 000 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 0],
    ['300', `HTTP/1.1 300 Multiple Choices\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 300],
  ])('a %s is an HTTP error, at once and not retried', async (_, answer, status) => {
    const raw = await serveRaw(answer);
    try {
      const error = await failureOf(() => requestJson(service, { url: raw.url }, Answer, 'x'));
      expect(error.line).toBe(`SERVICE_HTTP_ERROR: service answered HTTP ${status}`);
      expect(error.exitCode).toBe(32);
      expect(raw.requests()).toBe(1);
    } finally {
      await raw.close();
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
