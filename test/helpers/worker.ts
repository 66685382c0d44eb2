import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE } from '../../tools/build';
import { workerVariables } from '../../tools/local';
import { mutationChild } from './mutation';

/** The bundle copied alone into an empty folder, as the images hold it in /app. */
export function installBundleAlone(): string {
  const appDir = mkdtempSync(join(tmpdir(), 'app-'));
  copyFileSync(BUNDLE, join(appDir, 'app.js'));
  return appDir;
}

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

/** Runs `node [nodeArgs] app.js` as a child process and collects what it printed and wrote. */
export function runChild(appDir: string, env: NodeJS.ProcessEnv, options: { nodeArgs?: string[]; uid?: number; gid?: number } = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const mutation = mutationChild(env, options.nodeArgs ?? []);
    const child = spawn(process.execPath, [...mutation.nodeArgs, join(appDir, 'app.js')], {
      cwd: appDir,
      env: mutation.env,
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe', ...mutation.stdio],
    });
    let stdout = '';
    let stderr = '';
    let report = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    child.stdio[3]?.on('data', (chunk: Buffer) => (report += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      mutation.collect(report);
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
