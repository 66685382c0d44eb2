/** Writes the demo task's files (tools/worker/demo-task.ts says where): input files, and the protected data made by DataProtector's code. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoTask } from '../../src/iexec/app';
import { ROOT } from '../build';
import { dataObjectFromJson, protectedZip } from './dataprotector';
import { demoDatasetFile, startDemo, type DemoRun } from './demo-task';

export async function writeDemoFiles(demo: DemoTask, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(demo.inputFiles ?? {})) writeFileSync(join(dir, name), content);
  // {"@file": "path"} is relative to the repository's root.
  if (demo.protectedData !== undefined) writeFileSync(demoDatasetFile(dir), await protectedZip(dataObjectFromJson(demo.protectedData, ROOT), 'borsh'));
}

/** The demo task with its files written to a fresh folder, removed on close. */
export async function startDemoTask(demo: DemoTask, serve?: Parameters<typeof startDemo>[2]): Promise<DemoRun> {
  const dir = mkdtempSync(join(tmpdir(), 'iexec-demo-'));
  try {
    await writeDemoFiles(demo, dir);
    const run = await startDemo(demo, dir, serve);
    return { ...run, close: () => run.close().finally(() => rmSync(dir, { recursive: true, force: true })) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
