/** Writes the demo task's files (tools/worker/demo-task.ts says where): input files, and the protected data made by DataProtector's code. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoTask } from '../../src/iexec/app';
import { dataObjectFromJson, protectedZip } from './dataprotector';
import { demoDatasetFile, startDemo, type DemoRun } from './demo-task';

/** `appDir` is the app's folder, where a protected data's {"@file": "path"} is found. */
export async function writeDemoFiles(demo: DemoTask, dir: string, appDir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(demo.inputFiles ?? {})) writeFileSync(join(dir, name), content);
  if (demo.protectedData !== undefined) writeFileSync(demoDatasetFile(dir), await protectedZip(dataObjectFromJson(demo.protectedData, appDir), 'borsh'));
}

/** The demo task with its files written to a fresh folder, removed on close. */
export async function startDemoTask(demo: DemoTask, appDir: string, serve?: Parameters<typeof startDemo>[2]): Promise<DemoRun> {
  const dir = mkdtempSync(join(tmpdir(), 'iexec-demo-'));
  try {
    await writeDemoFiles(demo, dir, appDir);
    const run = await startDemo(demo, dir, serve);
    return { ...run, close: () => run.close().finally(() => rmSync(dir, { recursive: true, force: true })) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
