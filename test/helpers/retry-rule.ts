/**
 * The retry rule of src/iexec/http.ts as its documentation states it (README, "Proof under
 * faults"), for the tests that run the bundle: whether the app sends a request again.
 */
import { MAX_RETRY_AFTER_S, type Upstream } from '../../src/iexec/http';

/** The 5xx an idempotent call retries: the service or its gateway failed in passing, or is busy. */
const PASSING_STATUSES = [500, 502, 503, 504];

/** After an answer with this status (and Retry-After, if any). */
export function retriesStatus({ statuses, idempotent }: Upstream, status: number, retryAfter: string | undefined): boolean {
  // A status with a meaning of the app's own is a final answer.
  if (statuses[status] !== undefined) return false;
  // Never sooner than the server asks, nor after a long wait.
  if (retryAfter !== undefined && !(/^\d+$/.test(retryAfter) && Number(retryAfter) <= MAX_RETRY_AFTER_S)) return false;
  // 429 and 503 with a short Retry-After: the server says it did nothing.
  return ((status === 429 || status === 503) && retryAfter !== undefined) || (idempotent && PASSING_STATUSES.includes(status));
}

/** After no answer in time, no connection, or an answer cut short: the service may have acted. */
export const retriesFailure = ({ idempotent }: Upstream): boolean => idempotent;
