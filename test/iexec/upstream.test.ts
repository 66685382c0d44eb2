import { describe, expect, it } from 'vitest';
import { defineUpstream } from '../../src/iexec/http';

describe('defineUpstream', () => {
  it("names the four failures after the service, with the app's exit codes", () => {
    // Made here, not when the file loads: a mutant that breaks defineUpstream must fail a test.
    const service = defineUpstream('service', { unreachable: 30, timeout: 31, httpError: 32, badResponse: 33 });
    expect(service.codes).toEqual({ unreachable: 'SERVICE_UNREACHABLE', timeout: 'SERVICE_TIMEOUT', httpError: 'SERVICE_HTTP_ERROR', badResponse: 'SERVICE_BAD_RESPONSE' });
    expect(service.errors).toEqual({ SERVICE_UNREACHABLE: 30, SERVICE_TIMEOUT: 31, SERVICE_HTTP_ERROR: 32, SERVICE_BAD_RESPONSE: 33 });
    expect(defineUpstream('my api', { unreachable: 1, timeout: 2, httpError: 3, badResponse: 4 })).toMatchObject({ codes: { unreachable: 'MY_API_UNREACHABLE' }, timeoutMs: 10_000, maxResponseBytes: 16 * 1024, idempotent: false });
    expect(defineUpstream('reads', { unreachable: 1, timeout: 2, httpError: 3, badResponse: 4 }, { idempotent: true }).idempotent).toBe(true);
    expect(defineUpstream('web3 -- storage', { unreachable: 1, timeout: 2, httpError: 3, badResponse: 4 }).codes.timeout).toBe('WEB3_STORAGE_TIMEOUT');
  });
});
