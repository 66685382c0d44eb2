/**
 * The app's demo task (src/app/demo.ts) as a worker would hand it over: its files in a folder,
 * its stand-in served on 127.0.0.1, its secret packed. npm run local, the benchmarks, the memory
 * measurement, the image build's warm run and the tests all run it through here.
 */
import { dirname, join } from 'node:path';
import type { DemoTask } from '../../src/iexec/app';
import { serveStandIn, type StandInServer } from './stand-in-server';
import { workerVariables, type TaskFiles } from './worker-env';

/** The file the demo's protected data is written to, beside its input files. */
const DATASET_FILE = 'protected-data.zip';

/**
 * The paths of the demo's files in `dir`, once written there (tools/worker/demo-files.ts
 * writeDemoFiles; the image build's warm run finds them beside the bundle).
 */
export function demoTaskFiles(demo: DemoTask, dir: string): TaskFiles {
  return {
    inputFiles: Object.keys(demo.inputFiles ?? {}).map((name) => join(dir, name)),
    ...(demo.protectedData === undefined ? {} : { dataset: join(dir, DATASET_FILE) }),
    requesterSecrets: new Map(Object.entries(demo.requesterSecrets ?? {}).map(([index, value]) => [Number(index), value])),
  };
}

/** Where npm run build writes the demo task's files: beside the bundle, for the image build's warm run. */
export const demoFilesBeside = (bundle: string): string => join(dirname(bundle), 'demo-task');

export const demoDatasetFile = (dir: string): string => join(dir, DATASET_FILE);

/** The demo's developer secret, as pushed (JSON), or undefined for an app that takes none. */
export const demoSecret = (demo: DemoTask, standInUrl: string): string | undefined =>
  demo.secret === undefined ? undefined : JSON.stringify(demo.secret(standInUrl));

/**
 * The demo's stand-in, served; an offline app gets one that answers 404 to everything, so that a
 * request it should not make is seen (`requests`) and fails rather than reaching the network.
 */
export const serveDemoStandIn = (demo: DemoTask, options?: Parameters<typeof serveStandIn>[1]): Promise<StandInServer> =>
  serveStandIn(demo.standIn?.() ?? (() => Response.json({ error: 'this app declares no upstream' }, { status: 404 })), options);

/** The demo task, ready to run as many tasks as wanted: its stand-in served, its files in place. */
export interface DemoRun {
  /** The stand-in (for an offline app, the one that refuses everything). */
  upstream: StandInServer;
  /** The requester's arguments. */
  args: string[];
  /** Its files, as the worker is given them. */
  files: TaskFiles;
  /**
   * The variables a worker gives one task of the demo, its files copied into `folders.input`.
   * `host` names the stand-in another way (localhost: a name lookup, as real endpoints need);
   * `task` changes what the worker hands over (generation, bag place…).
   */
  variables(folders: Parameters<typeof workerVariables>[0], options?: { host?: string; task?: TaskFiles }): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** Serves the demo's stand-in; `filesDir` holds its files (written by writeDemoFiles). */
export async function startDemo(demo: DemoTask, filesDir: string, serve?: Parameters<typeof serveStandIn>[1]): Promise<DemoRun> {
  const upstream = await serveDemoStandIn(demo, serve);
  const files = demoTaskFiles(demo, filesDir);
  return {
    upstream,
    args: demo.args,
    files,
    variables: (folders, { host, task } = {}) =>
      workerVariables(folders, demoSecret(demo, host === undefined ? upstream.url : upstream.url.replace('127.0.0.1', host)), { ...files, ...task }),
    close: () => upstream.close(),
  };
}
