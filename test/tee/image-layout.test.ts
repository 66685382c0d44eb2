import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { codeCacheProbe } from '../../tools/image/code-cache-probe';
import { knownTo } from '../../tools/image/image-app';
import { type StandInServer } from '../../tools/worker/stand-in-server';
import { demoSecret, serveDemoStandIn } from '../../tools/worker/demo-task';
import { EXAMPLE_APP } from '../helpers/apps';
import { dockerfileStages, execForm } from '../helpers/tee';
import { workerEnvironment } from '../helpers/worker';

let upstream: StandInServer;
beforeAll(async () => {
  upstream = await serveDemoStandIn(EXAMPLE_APP.demo);
});
afterAll(() => upstream.close());

/**
 * The final stage of Dockerfile.scone (the native image sconify takes) replayed in a folder with this machine's node: its RUN
 * sees the build stage's WORKDIR (this repository, built by global setup) where it is mounted,
 * and writes under the folder. Flags this node does not know are left out (Node 20 has no
 * --disable-sigusr1); the image's node has them all.
 */
function layOutFinalStage(): { root: string; entrypoint: string[] } {
  const stages = dockerfileStages('Dockerfile.scone');
  const build = stages.find((s) => s.name === 'build')!;
  const workdir = build.instructions.find((i) => i.getKeyword() === 'WORKDIR')!.getArgumentsContent()!;
  const final = stages.at(-1)!;
  const root = mkdtempSync(join(tmpdir(), 'image-'));
  const onThisMachine = (words: string[]) =>
    words.filter((word) => knownTo(process.execPath, word)).map((word) =>
      word.startsWith(`${workdir}/`) ? join(ROOT, word.slice(workdir.length + 1)) : word.startsWith('/') ? join(root, word) : word);
  for (const run of final.instructions.filter((i) => i.getKeyword() === 'RUN')) {
    const [node, ...args] = onThisMachine(execForm(run)) as [string, ...string[]];
    mkdirSync(join(root, 'app'), { recursive: true });
    expect(spawnSync(node, args, { stdio: 'ignore', env: { PATH: process.env.PATH } }).status).toBe(0);
  }
  const entrypoint = onThisMachine(execForm(final.instructions.find((i) => i.getKeyword() === 'ENTRYPOINT')!));
  return { root, entrypoint };
}

describe('the SCONE image layout, run as its ENTRYPOINT says', () => {
  it('holds only /app/app.js', () => {
    const { root } = layOutFinalStage();
    expect(readdirSync(root, { recursive: true })).toEqual(['app', join('app', 'app.js')]);
  });

  it('does its work and writes its result through the ENTRYPOINT command, with the code cache accepted', async () => {
    const { root, entrypoint } = layOutFinalStage();
    // The image's absolute paths, moved under the laid-out root; node comes from PATH as in the image.
    const [command, ...rest] = entrypoint as [string, ...string[]];
    const probe = join(mkdtempSync(join(tmpdir(), 'probe-')), 'code-cache.cjs');
    writeFileSync(probe, codeCacheProbe());
    const args = ['--require', probe, ...rest];
    const { env, out } = workerEnvironment(demoSecret(EXAMPLE_APP.demo, upstream.url));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(command, [...args, ...EXAMPLE_APP.demo.args], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result).toEqual({ code: 0, stderr: 'code cache: accepted\n' });
    expect(readdirSync(out).sort()).toEqual(['computed.json', 'result.txt']);
    expect(upstream.handled).toBe(1);
  });
});
