import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TARGET, type BundleTarget } from '../../tools/build';
import { entrypointFlags, installImageApp } from '../../tools/image/image-app';
import { afterAll, beforeAll } from 'vitest';
import { type StandInServer } from '../../tools/worker/stand-in-server';
import { serveDemoStandIn } from '../../tools/worker/demo-task';
import type { AppUnderTest } from './apps';
import { mutationChild } from './mutation';
import { readOutput } from './output';

/** An app alone in an empty folder as the images hold it in /app: app.js with `node`'s code cache. */
export function installBundleAlone(target: BundleTarget = DEFAULT_TARGET, node = process.execPath): string {
  return installImageApp(target, node).dir;
}

/**
 * For a describe block: the app's stand-in served on loopback and its bundle installed alone,
 * both ready before its tests (read them inside a test, not at collection).
 */
export function bundleAgainstStandIn({ demo, target }: AppUnderTest, node?: string): { readonly upstream: StandInServer; readonly appDir: string } {
  const state = {} as { upstream: StandInServer; appDir: string };
  beforeAll(async () => {
    state.upstream = await serveDemoStandIn(demo);
    state.appDir = installBundleAlone(target, node);
  });
  afterAll(() => state.upstream.close());
  return state;
}

/** The image's command for the app in appDir (tee.env's entrypoint flags), with `nodeArgs` before the app. */
export const appCommand = (appDir: string, nodeArgs: string[] = [], node = process.execPath): [string, ...string[]] => [node, ...entrypointFlags(node), ...nodeArgs, join(appDir, 'app.js')];

// The demo task and a worker's environment, shared with the tests that run no bundle.
export { demoEnvironment, demoFiles, workerEnvironment } from './demo';

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  files: Record<string, string>;
}

export interface ChildOptions {
  /** The node to run; this test run's unless given. */
  node?: string;
  /** The requester's arguments, after the script. */
  args?: string[];
  nodeArgs?: string[];
  uid?: number;
  gid?: number;
  /** Streams of the child closed at once on this side: its writes there fail (EPIPE). */
  closed?: ('stdout' | 'stderr')[];
}

/**
 * Longest a child may run: the slowest honest run waits two Retry-Afters at their 5 s limit and then
 * a 10 s timeout, or, for an idempotent upstream, times out three times (the quote app: 3 × 3 s);
 * test/faults.test.ts checks that each app fits. A child past it (a mutant that loops or sleeps) is
 * killed and its test fails.
 */
export const CHILD_TIME_LIMIT_MS = 25_000;

/** Runs `node <entrypoint flags> [nodeArgs] app.js [args]` as a child process and collects what it printed and wrote. */
export function runChild(appDir: string, env: NodeJS.ProcessEnv, options: ChildOptions = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const mutation = mutationChild(env, options.nodeArgs ?? []);
    const [node, ...command] = appCommand(appDir, mutation.nodeArgs, options.node);
    const child = spawn(node, [...command, ...(options.args ?? [])], {
      cwd: appDir,
      env: mutation.env,
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe', ...mutation.stdio],
    });
    for (const stream of options.closed ?? []) child[stream]!.destroy();
    let stdout = '';
    let stderr = '';
    let report = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    child.stdio[3]?.on('data', (chunk: Buffer) => (report += chunk));
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the bundle did not exit within ${CHILD_TIME_LIMIT_MS / 1000} s: killed`));
    }, CHILD_TIME_LIMIT_MS);
    child.on('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      mutation.collect(report);
      const out = env.IEXEC_OUT;
      // IEXEC_OUT may not exist: that is what some tests check.
      resolve({ code, signal, stdout, stderr, files: out && existsSync(out) ? readOutput(out) : {} });
    });
  });
}
