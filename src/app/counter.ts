import * as z from 'zod/mini';
import { defineUpstream, requestJson } from '#iexec/http';

// Not idempotent (the default): a hit counts, so a hit sent again after the service may have
// counted it would count twice. It is retried only when the service says it did nothing.
export const counterService = defineUpstream('counter', { unreachable: 4, timeout: 5, httpError: 6, badResponse: 7 });

const CounterAnswer = z.object({ value: z.int().check(z.gte(0)) });

export interface Hit {
  endpoint: string;
  namespace: string;
  key: string;
  token?: string | undefined;
}

/** Counts one hit and returns the counter's new value. */
export async function hitCounter({ endpoint, namespace, key, token }: Hit): Promise<number> {
  const answer = await requestJson(
    counterService,
    {
      url: `${endpoint.replace(/\/+$/, '')}/hit/${namespace}/${key}`,
      ...(token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } }),
    },
    CounterAnswer,
    '{"value": <integer >= 0>}',
  );
  return answer.value;
}
