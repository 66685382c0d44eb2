import type { StandIn } from '../../src/iexec/app';

/**
 * What must never show in anything an app prints or writes: each string value of its demo secret
 * long enough that finding it can only mean it leaked, and where the upstream is.
 */
export function secretParts(standIn: StandIn, upstreamUrl: string): string[] {
  const values = Object.values(standIn.demoSecret(upstreamUrl)).filter((v): v is string => typeof v === 'string' && v.length >= 6);
  return [...new Set([...values, new URL(upstreamUrl).host])];
}
