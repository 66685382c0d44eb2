import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { startCounter, type Counter } from '../../tools/counter-server';
import { dockerfileStages, execForm } from '../helpers/tee';
import { workerEnvironment } from '../helpers/worker';

let counter: Counter;
beforeAll(async () => {
  counter = await startCounter();
});
afterAll(() => counter.close());

/**
 * What the final stage of the Dockerfile holds, laid out in a folder: each COPY --from=build
 * takes the file the build stage made (its WORKDIR is this repository, built by global setup).
 */
function layOutFinalStage(): { root: string; entrypoint: string[] } {
  const stages = dockerfileStages('Dockerfile');
  const build = stages.find((s) => s.name === 'build')!;
  const workdir = build.instructions.find((i) => i.getKeyword() === 'WORKDIR')!.getArgumentsContent()!;
  const final = stages.at(-1)!;
  const root = mkdtempSync(join(tmpdir(), 'image-'));
  for (const copy of final.instructions.filter((i) => i.getKeyword() === 'COPY')) {
    const [source, destination] = copy.getArguments().map((a) => a.getValue()) as [string, string];
    expect(source.startsWith(`${workdir}/`)).toBe(true);
    mkdirSync(join(root, dirname(destination)), { recursive: true });
    copyFileSync(join(ROOT, source.slice(workdir.length + 1)), join(root, destination));
  }
  const entrypoint = execForm(final.instructions.find((i) => i.getKeyword() === 'ENTRYPOINT')!);
  return { root, entrypoint };
}

describe('the SCONE image layout, run as its ENTRYPOINT says', () => {
  it('holds only /app/app.js', () => {
    const { root } = layOutFinalStage();
    expect(readdirSync(root, { recursive: true })).toEqual(['app', join('app', 'app.js')]);
  });

  it('counts a hit and writes its result through the exact ENTRYPOINT command', async () => {
    const { root, entrypoint } = layOutFinalStage();
    // The image's absolute paths, moved under the laid-out root; node comes from PATH as in the image.
    const [command, ...args] = entrypoint.map((word) => (word.startsWith('/') ? join(root, word) : word)) as [string, ...string[]];
    const { env, out } = workerEnvironment(JSON.stringify({ endpoint: counter.url, namespace: 'image-layout', key: 'hits' }));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result).toEqual({ code: 0, stderr: '' });
    expect(readdirSync(out).sort()).toEqual(['computed.json', 'result.txt']);
    expect(counter.hits).toBe(1);
  });
});
