import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entrypointFlags, installImageApp } from '../../tools/image-app';
import { workerVariables } from '../../tools/local';

/** The app alone in an empty folder as the images hold it in /app: with this node's code cache. */
export function installBundleAlone(): string {
  return installImageApp().dir;
}

/** The image's command for the app in appDir (tee.env's entrypoint flags), before `nodeArgs`. */
const ENTRYPOINT_FLAGS = entrypointFlags();
export const appCommand = (appDir: string, nodeArgs: string[] = []): [string, ...string[]] =>
  [process.execPath, ...ENTRYPOINT_FLAGS, ...nodeArgs, join(appDir, 'app.js')];

/** Fresh iexec_in/iexec_out folders and the variables a worker sets for a TEE task (as npm run local). */
export function workerEnvironment(secret: string | undefined): { env: NodeJS.ProcessEnv; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'task-'));
  const [input, out] = [join(root, 'iexec_in'), join(root, 'iexec_out')];
  mkdirSync(input);
  mkdirSync(out);
  return { env: workerVariables(input, out, secret), out };
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  files: Record<string, string>;
}

/** Runs `node <entrypoint flags> [nodeArgs] app.js` as a child process and collects what it printed and wrote. */
export function runChild(appDir: string, env: NodeJS.ProcessEnv, options: { nodeArgs?: string[]; uid?: number; gid?: number } = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const [node, ...args] = appCommand(appDir, options.nodeArgs);
    const child = spawn(node, args, {
      cwd: appDir,
      env,
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const out = env.IEXEC_OUT;
      let files: Record<string, string> = {};
      try {
        files = out ? Object.fromEntries(readdirSync(out).map((n) => [n, readFileSync(join(out, n), 'utf8')])) : {};
      } catch {
        // IEXEC_OUT may not exist: that is what some tests check.
      }
      resolve({ code, signal, stdout, stderr, files });
    });
  });
}
