/**
 * The app the tools work on: its contract (src/app/index.ts) and its demo task (src/app/demo.ts).
 * TEMPLATE_APP names another contract folder: the tests use it to prove that every tool is
 * generic (test/fixtures/*-app).
 */
import { basename, join, resolve } from 'node:path';
import type { DemoTask, IexecApp } from '../src/iexec/app';
import { DEFAULT_TARGET, ROOT, type BundleTarget } from './build';

export interface AppUnderWork {
  app: IexecApp;
  demo: DemoTask;
  target: BundleTarget;
}

/** Where an app's contract lives and where its bundle goes (dist/app.js for src/app). */
export function targetOf(appDir: string): BundleTarget {
  const dir = resolve(ROOT, appDir);
  const out = join(ROOT, 'dist', basename(dir));
  return dir === DEFAULT_TARGET.appDir ? DEFAULT_TARGET : { appDir: dir, outfile: join(out, 'app.js'), codeCacheTool: join(out, 'code-cache.cjs') };
}

export async function loadApp(appDir = process.env.TEMPLATE_APP || DEFAULT_TARGET.appDir): Promise<AppUnderWork> {
  const target = targetOf(appDir);
  const [{ app }, { demo }] = await Promise.all([
    import(join(target.appDir, 'index.ts')) as Promise<{ app: IexecApp }>,
    import(join(target.appDir, 'demo.ts')) as Promise<{ demo: DemoTask }>,
  ]);
  return { app, demo, target };
}
