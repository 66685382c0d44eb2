import type { DemoTask } from '../../src/iexec/app';

/**
 * What must never show in anything an app prints or writes: each string value of its demo secret,
 * requester secrets and protected data long enough that finding it can only mean it leaked, and
 * where the upstream is.
 */
export function secretParts(demo: DemoTask, upstreamUrl: string): string[] {
  const values = [...Object.values(demo.secret?.(upstreamUrl) ?? {}), ...Object.values(demo.requesterSecrets ?? {}), ...Object.values(demo.protectedData ?? {})].filter(
    (v): v is string => typeof v === 'string' && v.length >= 6,
  );
  return [...new Set([...values, new URL(upstreamUrl).host])];
}
