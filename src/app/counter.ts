import axios, { type AxiosResponse } from 'axios';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod/mini';
import { AppError } from '../errors';
import type { CounterSecret } from './secret';

export interface HitOptions {
  /** Bound on one attempt, from connect to the last byte of the answer. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
// The answer is `{"value": N}`; anything much larger is not the counter talking.
export const MAX_RESPONSE_BYTES = 16 * 1024;
// Retried only when the server says it did not count the hit, and only if it asks us to wait briefly.
const MAX_RETRIES = 2;
const MAX_RETRY_AFTER_S = 5;

const CounterAnswer = z.object({ value: z.int().check(z.gte(0)) });

/** Counts one hit and returns the counter's new value. */
export async function hitCounter(secret: CounterSecret, { timeoutMs = DEFAULT_TIMEOUT_MS }: HitOptions = {}): Promise<number> {
  const url = `${secret.endpoint.replace(/\/+$/, '')}/hit/${secret.namespace}/${secret.key}`;
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (secret.token !== undefined) headers.Authorization = `Bearer ${secret.token}`;

  for (let attempt = 0; ; attempt++) {
    const response = await send(url, headers, timeoutMs);
    const wait = attempt < MAX_RETRIES ? retryDelayMs(response) : undefined;
    if (wait === undefined) return readValue(response);
    await sleep(wait);
  }
}

async function send(url: string, headers: Record<string, string>, timeoutMs: number): Promise<AxiosResponse<string>> {
  try {
    return await axios.get<string>(url, {
      headers,
      adapter: 'http',
      signal: AbortSignal.timeout(timeoutMs),
      responseType: 'text',
      maxContentLength: MAX_RESPONSE_BYTES,
      maxRedirects: 0,
      proxy: false,
      validateStatus: null,
    });
  } catch (error) {
    // The axios error holds the URL and the Authorization header: only facts about it are kept.
    throw axios.isAxiosError(error) ? classify(error.code, answerStarted(error.request)) : classify(undefined, false);
  }
}

/** Node's ClientRequest holds res = null until the answer's headers arrive: then the counter was reached. */
const answerStarted = (request: unknown): boolean =>
  typeof request === 'object' && request !== null && (request as { res?: unknown }).res != null;

function classify(code: string | undefined, answered: boolean): AppError {
  if (code === 'ERR_CANCELED' || code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return new AppError('COUNTER_TIMEOUT', 'counter did not answer in time');
  }
  // An answer that began and then broke (reset, too large, short of its length) is one verdict,
  // whichever of axios's stream events reported it first.
  if (answered || code === 'ERR_BAD_RESPONSE') {
    return new AppError('COUNTER_BAD_RESPONSE', `counter answer was cut short, malformed or over ${MAX_RESPONSE_BYTES} bytes`);
  }
  // A system error code (ECONNREFUSED, ENOTFOUND…) says why without saying where.
  return new AppError('COUNTER_UNREACHABLE', `counter could not be reached${code && /^E[A-Z_]+$/.test(code) ? ` (${code})` : ''}`);
}

/** 429 and 503 mean "not counted, come back later": safe to retry, unlike a timeout. */
function retryDelayMs(response: AxiosResponse): number | undefined {
  if (response.status !== 429 && response.status !== 503) return undefined;
  const header = String(response.headers['retry-after'] ?? '');
  if (!/^\d{1,2}$/.test(header) || Number(header) > MAX_RETRY_AFTER_S) return undefined;
  return Number(header) * 1000;
}

function readValue(response: AxiosResponse<string>): number {
  if (response.status !== 200) {
    throw new AppError('COUNTER_HTTP_ERROR', `counter answered HTTP ${response.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(response.data);
  } catch {
    throw new AppError('COUNTER_BAD_RESPONSE', 'counter answer is not JSON');
  }
  const answer = CounterAnswer.safeParse(body);
  if (!answer.success) {
    throw new AppError('COUNTER_BAD_RESPONSE', 'counter answer is not {"value": <integer >= 0>}');
  }
  return answer.data.value;
}
