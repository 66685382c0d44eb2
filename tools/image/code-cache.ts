/**
 * Makes the file the image runs: the bundle plus V8's code cache for it, in ONE file, so that
 * each enclave start deserializes compiled code instead of compiling the bundle again.
 *
 * A code cache is valid only for the node binary and the flags that made it, so this runs in the
 * image build, in the final stage, with the final node and the entrypoint's flags (the Dockerfiles
 * run it; `npm run build` bundles it to dist/code-cache.cjs, which needs nothing but node):
 *   node <APP_ENTRYPOINT's flags> --random-seed=1 dist/code-cache.cjs dist/app.js /app/app.js
 * The seed makes the file the same bytes on every build: V8 seeds its string hashes at random in
 * each process, and the cache's layout follows them. V8 leaves --random-seed out of the flags a
 * cache is checked against, so the entrypoint, which has no seed, accepts it.
 * It runs the app once in this process (a full task: the demo task, src/app/demo.ts, against
 * the stand-in of its upstreams on loopback, so that the functions a task runs are compiled and
 * cached too), writes the file, then runs the written file in a child with the same node and
 * flags and fails unless V8 accepted its cache.
 *
 * A rejected cache (another node, other flags) is safe: V8 compiles the source as if there were
 * no cache. The loader reports the verdict on a diagnostics channel, for tests and this check.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Script } from 'node:vm';
import { CODE_CACHE_CHANNEL, codeCacheProbe, SEED_FLAG } from './code-cache-probe';
import { demo } from '../../src/app/demo';
import { demoFilesBeside, startDemo } from '../worker/demo-task';
import { taskFolders } from '../worker/worker-env';

const USAGE = `Usage: node <the entrypoint's node flags> ${SEED_FLAG} code-cache.cjs <bundle> <output app.js>

Writes <output app.js>: <bundle> with V8's code cache for it, made by this node with these
flags after one warm run of the app (${SEED_FLAG}: the same bytes on every run); then checks
that a fresh process with the entrypoint's flags (the seed left out) accepts the cache.
Exit code: 0 when written and accepted, 1 when the warm run failed or the cache was rejected.`;

/** The bundle as a CommonJS module function: the source compiled at run time, cache or not. */
const wrap = (bundle: string): string => `(function (exports, require, module, __filename, __dirname) {${bundle}\n})`;

const loader = (source: string, cache: Buffer): string => `'use strict';
// Generated in the image build (tools/image/code-cache.ts): the app's bundle and V8's code cache for
// it, made by this image's node. A cache from another node or other flags is rejected by V8,
// which then compiles the source as usual.
const script = new (require('node:vm').Script)(${JSON.stringify(source)}, {
  filename: __filename,
  cachedData: Buffer.from(${JSON.stringify(cache.toString('base64'))}, 'base64'),
});
require('node:diagnostics_channel').channel(${JSON.stringify(CODE_CACHE_CHANNEL)}).publish({ rejected: script.cachedDataRejected });
script.runInThisContext()(exports, require, module, __filename, __dirname);
`;

/** One task of the demo (src/app/demo.ts): its folders and environment, against a fresh stand-in. */
async function demoTask<T>(bundle: string, use: (env: NodeJS.ProcessEnv, out: string) => Promise<T>): Promise<T> {
  const run = await startDemo(demo, demoFilesBeside(bundle));
  const root = mkdtempSync(join(tmpdir(), 'code-cache-'));
  try {
    const folders = taskFolders(root);
    return await use(run.variables(folders), folders.out);
  } finally {
    await run.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Runs one task of the app in this process and returns V8's code cache taken after it. */
function warmRun(bundle: string, source: string, filename: string): Promise<Buffer> {
  return demoTask(bundle, async (env, out) => {
    Object.assign(process.env, env);
    // The app reads the requester's arguments after the script, as in the image.
    process.argv = [process.execPath, filename, ...demo.args];
    const script = new Script(source, { filename });
    const module = { exports: {} };
    (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, filename, dirname(filename));
    // The app writes computed.json last; its task is then over.
    for (let waited = 0; !existsSync(join(out, 'computed.json')); waited += 10) {
      if (waited > 30_000) throw new Error('the warm run did not finish within 30 s');
      await sleep(10);
    }
    if (existsSync(join(out, 'error.txt'))) throw new Error(`the warm run failed: ${readFileSync(join(out, 'error.txt'), 'utf8')}`);
    return script.createCachedData();
  });
}

/** The entrypoint's flags: this process's, less the seed. */
const entrypointFlags = () => process.execArgv.filter((flag) => flag !== SEED_FLAG);

/** Runs the written app in a fresh process with this node and the entrypoint's flags: was its cache accepted? */
function acceptedByFreshProcess(bundle: string, app: string): Promise<boolean> {
  return demoTask(bundle, async (env) => {
    const probe = join(dirname(env.IEXEC_OUT ?? ''), 'probe.cjs');
    writeFileSync(probe, codeCacheProbe());
    const stderr = await new Promise<string>((resolve) => {
      let text = '';
      const child = spawn(process.execPath, [...entrypointFlags(), '--require', probe, app, ...demo.args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (chunk: Buffer) => (text += chunk));
      child.on('close', () => resolve(text));
    });
    return stderr.includes('code cache: accepted');
  });
}

async function embedCodeCache(bundle: string, output: string): Promise<{ cacheBytes: number; fileBytes: number }> {
  const source = wrap(readFileSync(bundle, 'utf8'));
  const cache = await warmRun(bundle, source, output);
  const text = loader(source, cache);
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, text);
  return { cacheBytes: cache.length, fileBytes: Buffer.byteLength(text) };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) return (console.log(USAGE), 0);
  const [bundle, output] = argv;
  if (argv.length !== 2 || bundle === undefined || output === undefined) return (console.error(USAGE), 2);
  if (!process.execArgv.includes(SEED_FLAG)) return (console.error(`code cache: run with ${SEED_FLAG}, or its bytes change from one run to the next\n\n${USAGE}`), 2);
  const { cacheBytes, fileBytes } = await embedCodeCache(bundle, output);
  if (!(await acceptedByFreshProcess(bundle, output))) {
    console.error(`code cache: rejected by a fresh ${process.version} with flags [${entrypointFlags().join(' ')}]`);
    return 1;
  }
  console.log(`code cache: ${output} (${fileBytes} bytes, of which ${cacheBytes} of cache), accepted by node ${process.version} [${entrypointFlags().join(' ')}]`);
  return 0;
}

// Run only as dist/code-cache.cjs (CommonJS: the warm run hands the bundle this module's require).
void main(process.argv.slice(2)).then((code) => process.exit(code));
