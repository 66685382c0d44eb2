import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENTRYPOINT_FLAGS, guardNodeEnvironment } from '../../src/iexec/environment';
import { readTeeEnv } from '../../tools/image/tee-env';
import { renderGramineManifest } from '../helpers/tee';
import { failureOf } from '../helpers/errors';

const v8 = process.getBuiltinModule('node:v8');
afterEach(() => {
  vi.restoreAllMocks();
});

const DEBUG_LINE = 'ENVIRONMENT_UNSAFE: NODE_DEBUG is set: Node would print what the app sends, credentials included (unset it)';
const OPTIONS_LINE = "ENVIRONMENT_UNSAFE: NODE_OPTIONS holds more than the entrypoint's flags: Node may run code or open a port the app cannot vouch for (unset it)";

describe('guardNodeEnvironment', () => {
  it.each([
    ['no Node variable', {}],
    ['an empty NODE_DEBUG (Node ignores it)', { NODE_DEBUG: '' }],
    ['an empty NODE_OPTIONS', { NODE_OPTIONS: '' }],
    ["NODE_OPTIONS holding the entrypoint's flags, spaced any way", { NODE_OPTIONS: ` ${ENTRYPOINT_FLAGS.join('\t ')}  ` }],
    ['NODE_OPTIONS holding one of them', { NODE_OPTIONS: '--v8-pool-size=1' }],
    ['NODE_TLS_REJECT_UNAUTHORIZED=0 (src/iexec/http.ts verifies anyway)', { NODE_TLS_REJECT_UNAUTHORIZED: '0' }],
    ['NODE_EXTRA_CA_CERTS (an authority added, verification kept)', { NODE_EXTRA_CA_CERTS: '/etc/ssl/extra.pem' }],
  ])('lets the app run with %s', (_, env) => {
    expect(() => guardNodeEnvironment(env)).not.toThrow();
  });

  it.each([
    ['NODE_DEBUG=http', { NODE_DEBUG: 'http' }, DEBUG_LINE],
    ['NODE_DEBUG=fs', { NODE_DEBUG: 'fs' }, DEBUG_LINE],
    ['NODE_OPTIONS with a preload', { NODE_OPTIONS: '--require /tmp/x.cjs' }, OPTIONS_LINE],
    ['NODE_OPTIONS with an inspector beside the flags', { NODE_OPTIONS: `${ENTRYPOINT_FLAGS.join(' ')} --inspect` }, OPTIONS_LINE],
    ['NODE_OPTIONS with a flag of the entrypoint changed', { NODE_OPTIONS: '--v8-pool-size=4' }, OPTIONS_LINE],
    ['NODE_OPTIONS with a report that holds the environment', { NODE_OPTIONS: '--report-on-fatalerror' }, OPTIONS_LINE],
    ['both', { NODE_DEBUG: 'http', NODE_OPTIONS: '--trace-exit' }, DEBUG_LINE],
  ])('refuses %s with ENVIRONMENT_UNSAFE (exit 12), naming the variable and never its value', async (_, env, line) => {
    const error = await failureOf(() => guardNodeEnvironment(env));
    expect(error.line).toBe(line);
    expect(error.exitCode).toBe(12);
  });

  it('stops the coverage NODE_V8_COVERAGE started, so that Node writes nothing outside IEXEC_OUT, and lets the app run', () => {
    const stop = vi.spyOn(v8, 'stopCoverage').mockImplementation(() => undefined);
    guardNodeEnvironment({ NODE_V8_COVERAGE: '/tmp/coverage' });
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it.each([{}, { NODE_V8_COVERAGE: '' }])('leaves coverage alone when NODE_V8_COVERAGE is not set: %j', (env) => {
    const stop = vi.spyOn(v8, 'stopCoverage').mockImplementation(() => undefined);
    guardNodeEnvironment(env);
    expect(stop).not.toHaveBeenCalled();
  });
});

describe("the entrypoint's flags", () => {
  it("are tee.env's APP_ENTRYPOINT flags", () => {
    const [, ...words] = readTeeEnv().APP_ENTRYPOINT.split(' ');
    expect(ENTRYPOINT_FLAGS).toEqual(words.slice(0, -1));
  });

  it('are what the Gramine manifest passes as NODE_OPTIONS, which the app accepts', () => {
    const manifest = renderGramineManifest().manifest as { loader: { env: Record<string, string> } };
    expect(manifest.loader.env.NODE_OPTIONS).toBe(ENTRYPOINT_FLAGS.join(' '));
    expect(() => guardNodeEnvironment({ NODE_OPTIONS: manifest.loader.env.NODE_OPTIONS })).not.toThrow();
  });
});
