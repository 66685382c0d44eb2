import axios, { type AxiosResponse } from 'axios';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as z from 'zod/mini';
import { AppError, type ErrorTable } from '../errors';

/** The four ways a call to a remote service fails, each its own code. */
type Failure = 'unreachable' | 'timeout' | 'httpError' | 'badResponse';
const SUFFIXES: Record<Failure, string> = { unreachable: 'UNREACHABLE', timeout: 'TIMEOUT', httpError: 'HTTP_ERROR', badResponse: 'BAD_RESPONSE' };

/** A remote service the app calls, with its failure codes, its bounds and its retry policy. */
export interface Upstream {
  /** Named in messages: "counter could not be reached". */
  name: string;
  /** `<NAME>_UNREACHABLE`, `_TIMEOUT`, `_HTTP_ERROR`, `_BAD_RESPONSE`, each with its exit code. */
  codes: Readonly<Record<Failure, string>>;
  exitCodes: Readonly<Record<Failure, number>>;
  /** HTTP statuses that mean something of their own to the app (404: no such symbol), each its own code. */
  statuses: Readonly<Record<number, OwnStatus>>;
  /** The codes with their exit codes, as the app's error table lists them. */
  errors: ErrorTable;
  /** Bound on one attempt, from connect to the last byte of the answer. */
  timeoutMs: number;
  maxResponseBytes: number;
  /**
   * Whether a call may be sent again after the service may have acted on it: true when doing it
   * twice is doing it once (reading a quote), false when each call counts (a hit on a counter).
   * Each call's default; a request's own `idempotent` wins.
   */
  idempotent: boolean;
}

/** A status's own failure: its code, exit code, and what it means (written by the app: never a value). */
export interface OwnStatus {
  code: string;
  exitCode: number;
  message: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024;
// At most 3 attempts and 2 waits of at most 5 s each: a call takes at most 3 × timeoutMs + 10 s.
export const MAX_RETRIES = 2;
export const MAX_RETRY_AFTER_S = 5;
/** An idempotent call's wait before its first retry, doubled before the next: 200 ms, then 400 ms. */
const BACKOFF_MS = 200;
/**
 * The statuses an idempotent call retries: a service that failed in passing (500), a gateway whose
 * service answered badly (502) or not in time (504), a service overloaded or restarting (503).
 * Not 501, 505 and the other 5xx: they say the same request will fail the same way.
 */
const PASSING_STATUSES = [500, 502, 503, 504];

export function defineUpstream(
  name: string,
  exitCodes: Readonly<Record<Failure, number>>,
  {
    timeoutMs = DEFAULT_TIMEOUT_MS,
    maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
    statuses = {},
    idempotent = false,
  }: { timeoutMs?: number; maxResponseBytes?: number; statuses?: Record<number, OwnStatus>; idempotent?: boolean } = {},
): Upstream {
  const prefix = name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  const codes = Object.fromEntries(Object.entries(SUFFIXES).map(([failure, suffix]) => [failure, `${prefix}_${suffix}`])) as Record<Failure, string>;
  const errors = Object.fromEntries([
    ...Object.entries(codes).map(([failure, code]) => [code, exitCodes[failure as Failure]]),
    ...Object.values(statuses).map(({ code, exitCode }) => [code, exitCode]),
  ]);
  return { name, codes, exitCodes, statuses, errors, timeoutMs, maxResponseBytes, idempotent };
}

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** This call's retry policy, when it is not its upstream's. */
  idempotent?: boolean;
}

/**
 * One bounded call that must answer 2xx with JSON matching `schema` (`shape` describes it in the
 * error). Bounded in time per attempt and in size; no redirect, no proxy from the environment.
 * Retried as `retryWaitMs` says, at most MAX_RETRIES times.
 */
export async function requestJson<S extends z.ZodMiniType>(upstream: Upstream, request: HttpRequest, schema: S, shape: string): Promise<z.output<S>> {
  const fail: Fail = (failure, message) => new AppError(upstream.codes[failure], `${upstream.name} ${message}`, upstream.exitCodes[failure]);
  const idempotent = request.idempotent ?? upstream.idempotent;
  let outcome = await send(upstream, request, fail);
  for (let retry = 1; retry <= MAX_RETRIES; retry++) {
    const waitMs = retryWaitMs(upstream, outcome, idempotent, retry);
    if (waitMs === undefined) break;
    // Capped again here, so that no change to the rule can make the app sleep longer.
    await sleep(Math.min(waitMs, MAX_RETRY_AFTER_S * 1000));
    outcome = await send(upstream, request, fail);
  }
  if (outcome instanceof AppError) throw outcome;
  // Below 200 too: a 101 without Upgrade is handed over as an answer, and so are 099 or 000.
  if (outcome.status < 200 || outcome.status > 299) throw statusError(upstream, outcome.status, fail);
  let body: unknown;
  try {
    body = JSON.parse(outcome.data);
  } catch {
    throw fail('badResponse', 'answer is not JSON');
  }
  const answer = schema.safeParse(body);
  if (!answer.success) throw fail('badResponse', `answer is not ${shape}`);
  return answer.data;
}

/** An attempt's answer, or why there was none (or only part of one). */
type Outcome = AxiosResponse<string> | AppError;

/**
 * The wait before retry number `retry`, or undefined when the outcome is final:
 * - any call goes again after a 429 or 503 with a Retry-After of at most 5 s: the service says it
 *   did nothing, so even a call that is not idempotent is safe to repeat;
 * - an idempotent call also after a timeout, a failed connection, an answer cut short or a
 *   500, 502, 503 or 504 (the service may have acted: repeating it changes nothing), after
 *   BACKOFF_MS, doubled each time, or the Retry-After the answer asks for;
 * - never after a status the app gave a meaning of its own (a final answer), nor after a
 *   Retry-After that asks for longer or that is not whole seconds (a date): never sooner than asked.
 */
function retryWaitMs(upstream: Upstream, outcome: Outcome, idempotent: boolean, retry: number): number | undefined {
  const backoffMs = BACKOFF_MS * 2 ** (retry - 1);
  if (outcome instanceof AppError) {
    const transient = [upstream.codes.timeout, upstream.codes.unreachable, upstream.codes.badResponse].includes(outcome.code);
    return idempotent && transient ? backoffMs : undefined;
  }
  const { status } = outcome;
  if (upstream.statuses[status] !== undefined) return undefined;
  const passing = idempotent && PASSING_STATUSES.includes(status);
  const header = outcome.headers['retry-after'];
  if (header === undefined) return passing ? backoffMs : undefined;
  if (!/^\d+$/.test(String(header)) || Number(header) > MAX_RETRY_AFTER_S) return undefined;
  return status === 429 || status === 503 || passing ? Number(header) * 1000 : undefined;
}

type Fail = (failure: Failure, message: string) => AppError;

/** An answer other than 2xx: the status's own failure when the app gave it one, else the HTTP error. */
function statusError(upstream: Upstream, status: number | undefined, fail: Fail): AppError {
  // Stryker disable next-line ConditionalExpression: statuses[undefined] is undefined too; the check is for the type checker
  const own = status === undefined ? undefined : upstream.statuses[status];
  return own === undefined ? fail('httpError', `answered HTTP ${status}`) : new AppError(own.code, `${upstream.name} ${own.message}`, own.exitCode);
}

/** One attempt: its answer, or its failure as the error it is. */
function send(upstream: Upstream, request: HttpRequest, fail: Fail): Promise<Outcome> {
  return new Promise((resolve) => {
    const informational = (status: number | undefined) => resolve(statusError(upstream, status, fail));
    axios
      .request<string>({
        // Stryker disable next-line StringLiteral: axios sends a GET for an empty method too
        method: request.method ?? 'GET',
        url: request.url,
        headers: { Accept: 'application/json', ...request.headers },
        data: request.body,
        // Stryker disable next-line StringLiteral: axios picks its http adapter in Node anyway; named so that fetch (undici) never is
        adapter: 'http',
        transport: guardedTransport(informational),
        signal: AbortSignal.timeout(upstream.timeoutMs),
        responseType: 'text',
        maxContentLength: upstream.maxResponseBytes,
        maxRedirects: 0,
        proxy: false,
        validateStatus: null,
      })
      .then(resolve, (error: unknown) => {
        // The axios error holds the URL and the headers: only facts about it are kept.
        const code = axios.isAxiosError(error) ? error.code : undefined;
        resolve(classify(code, axios.isAxiosError(error) && answerStarted(error.request), upstream, fail));
      });
  });
}

/**
 * node:http, or node:https for an https URL (the TLS stack loads only then), with two rules the
 * environment cannot change:
 * - certificates are always verified: `rejectUnauthorized` given with the request wins over
 *   NODE_TLS_REJECT_UNAUTHORIZED=0 (README, "Who controls what");
 * - an informational answer (1xx) is the answer: the HTTP error of its status, at once. Node
 *   would wait past an interim one for another answer, and drops a 101 that switches protocols
 *   (never asked for) without a word, so that the call would never settle.
 */
function guardedTransport(informational: (status: number | undefined) => void) {
  return {
    request(options: RequestOptions, onResponse: (response: IncomingMessage) => void): ClientRequest {
      const { request } = options.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
      const sent = request({ ...options, rejectUnauthorized: true }, onResponse);
      sent.on('information', ({ statusCode }) => {
        sent.destroy();
        informational(statusCode);
      });
      sent.on('upgrade', ({ statusCode }: IncomingMessage, socket: Duplex) => {
        socket.destroy();
        informational(statusCode);
      });
      return sent;
    },
  };
}

/** Node's ClientRequest holds res = null until the answer's headers arrive: then the service was reached. */
const answerStarted = (request: { res?: unknown } | undefined): boolean => request?.res != null;

function classify(code: string | undefined, answered: boolean, upstream: Upstream, fail: Fail): AppError {
  // ERR_CANCELED: our AbortSignal.timeout fired (axios's own `timeout`, which reports ECONNABORTED,
  // is not used). ETIMEDOUT: the system gave up on the connection first (minutes, by default).
  if (code === 'ERR_CANCELED' || code === 'ETIMEDOUT') return fail('timeout', 'did not answer in time');
  // An answer that began and then broke (reset, too large, short of its length) is one verdict,
  // whichever of axios's stream events reported it first (ERR_BAD_RESPONSE comes only then).
  if (answered) {
    return fail('badResponse', `answer was cut short, malformed or over ${upstream.maxResponseBytes} bytes`);
  }
  // A system error code (ECONNREFUSED, ENOTFOUND…) says why without saying where.
  return fail('unreachable', `could not be reached${code && /^E[A-Z_]+$/.test(code) ? ` (${code})` : ''}`);
}
