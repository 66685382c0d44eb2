/** The apps' demo tasks as a worker hands them over, for tests in any project (nothing here runs a bundle). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoTask } from '../../src/iexec/app';
import { writeDemoFiles } from '../../tools/worker/demo-files';
import { demoSecret, demoTaskFiles } from '../../tools/worker/demo-task';
import { taskFolders, workerVariables, type TaskFiles } from '../../tools/worker/worker-env';
import type { AppUnderTest } from './apps';

/** Fresh iexec_in/iexec_out folders and the variables a worker sets for a TEE task (as npm run local). */
export function workerEnvironment(secret: string | undefined, files: TaskFiles = {}): { env: NodeJS.ProcessEnv; out: string; input: string } {
  const folders = taskFolders(mkdtempSync(join(tmpdir(), 'task-')));
  return { env: workerVariables(folders, secret, files), ...folders };
}

const demoFilesWritten = new Map<DemoTask, Promise<TaskFiles>>();

/** The demo task's files (input files, protected data), written once per test file. */
export function demoFiles({ demo, target }: AppUnderTest): Promise<TaskFiles> {
  const files =
    demoFilesWritten.get(demo) ??
    (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'demo-'));
      await writeDemoFiles(demo, dir, target.appDir);
      return demoTaskFiles(demo, dir);
    })();
  demoFilesWritten.set(demo, files);
  return files;
}

/**
 * Fresh folders and the variables of one task of the app's demo (its secret aimed at the stand-in
 * at `upstreamUrl`, its files, its requester secrets); `files` changes what the worker hands over.
 */
export async function demoEnvironment(app: AppUnderTest, upstreamUrl: string, files: TaskFiles = {}): Promise<ReturnType<typeof workerEnvironment>> {
  return workerEnvironment(demoSecret(app.demo, upstreamUrl), { ...(await demoFiles(app)), ...files });
}

