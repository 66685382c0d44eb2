/** Where the image's app.js publishes `{ rejected: boolean }` before running the app (tools/image/code-cache.ts). */
export const CODE_CACHE_CHANNEL = 'iexec-app:code-cache';

/**
 * The flag that code-cache.cjs runs with, so that app.js is the same bytes on every build (V8
 * seeds its string hashes at random otherwise); the entrypoint has none.
 */
export const SEED_FLAG = '--random-seed=1';

/**
 * A --require preload that prints `code cache: accepted` or `code cache: rejected` on stderr at
 * exit, or nothing when the app carries no cache: what the build check and the tests read.
 */
export const codeCacheProbe = (): string =>
  `require('node:diagnostics_channel').subscribe(${JSON.stringify(CODE_CACHE_CHANNEL)}, ({ rejected }) =>
  process.on('exit', () => process.stderr.write('code cache: ' + (rejected ? 'rejected' : 'accepted') + '\\n')));`;
