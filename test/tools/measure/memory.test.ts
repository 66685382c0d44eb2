/**
 * npm run memory, as a developer runs it, on the fixture apps it can grow: memory must follow the
 * work done at a time, not the input's size nor the number of protected data. Byte budgets, not
 * timings: what each figure is, is printed by the tool.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../../tools/build';
import { REDACT_APP, SCORE_APP, type AppUnderTest } from '../../helpers/apps';

function memory(app: AppUnderTest, args: string[]): string {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'tools/measure/memory.ts', '--runs', '1', ...args], {
    cwd: ROOT,
    env: { ...process.env, TEMPLATE_APP: app.dir },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

/** The growth over the demo task's peak resident size, in MiB, that the tool prints on the line starting with `line`. */
const growthMiB = (output: string, line: string): number => Number(new RegExp(`^${line}.*\\(([+-]\\d+) MiB over the demo task's\\)`, 'm').exec(output)?.[1]);

describe('npm run memory', () => {
  it('an offline app streaming a 100 MB input file: peak resident within 64 MiB of its demo task', { timeout: 180_000 }, () => {
    const output = memory(REDACT_APP, ['--input-mb', '100']);
    expect(growthMiB(output, 'With its first input file grown to 100 MB')).toBeLessThanOrEqual(64);
  });

  it('a bulk of 1, 2 and 100 protected data: memory bounded in the number of items', { timeout: 120_000 }, () => {
    const output = memory(SCORE_APP, ['--bulk', '1', '--bulk', '2', '--bulk', '100']);
    for (const size of [1, 2, 100]) expect(growthMiB(output, `A bulk of ${size} protected data`)).toBeLessThanOrEqual(16);
  });
});
