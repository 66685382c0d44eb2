import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TARGET, type BundleTarget } from '../../tools/build';
import { entrypointFlags, installImageApp } from '../../tools/image/image-app';
import { taskFolders, workerVariables, type TaskFiles } from '../../tools/worker/worker-env';
import { afterAll, beforeAll } from 'vitest';
import { type StandInServer } from '../../tools/worker/stand-in-server';
import type { DemoTask } from '../../src/iexec/app';
import { writeDemoFiles } from '../../tools/worker/demo-files';
import { demoSecret, demoTaskFiles, serveDemoStandIn } from '../../tools/worker/demo-task';
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

const demoFilesWritten = new Map<DemoTask, Promise<TaskFiles>>();

/** The demo task's files (input files, protected data), written once per test file. */
function demoFiles(demo: DemoTask): Promise<TaskFiles> {
  const files =
    demoFilesWritten.get(demo) ??
    (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'demo-'));
      await writeDemoFiles(demo, dir);
      return demoTaskFiles(demo, dir);
    })();
  demoFilesWritten.set(demo, files);
  return files;
}

/**
 * Fresh folders and the variables of one task of the app's demo (its secret aimed at the stand-in
 * at `upstreamUrl`, its files, its requester secrets); `files` changes what the worker hands over.
 */
export async function demoEnvironment({ demo }: AppUnderTest, upstreamUrl: string, files: TaskFiles = {}): Promise<ReturnType<typeof workerEnvironment>> {
  return workerEnvironment(demoSecret(demo, upstreamUrl), { ...(await demoFiles(demo)), ...files });
}

/** Fresh iexec_in/iexec_out folders and the variables a worker sets for a TEE task (as npm run local). */
export function workerEnvironment(secret: string | undefined, files: TaskFiles = {}): { env: NodeJS.ProcessEnv; out: string; input: string } {
  const folders = taskFolders(mkdtempSync(join(tmpdir(), 'task-')));
  return { env: workerVariables(folders, secret, files), ...folders };
}

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
