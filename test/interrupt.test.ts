/**
 * SIGKILL at random moments, most of them right after the upstream answers (when the app writes
 * its files): afterwards there is either no computed.json, or a complete one pointing at a
 * complete file. A kill cannot be caught, so this holds only if every write is atomic and
 * computed.json comes last.
 *
 * The writes take microseconds, too short to hit by timing alone: when strace is installed, each
 * file-system call on the output files is delayed 4 ms by strace's fault injection (the app itself
 * is unchanged), which widens the writing phase to ~30 ms.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandInServer } from '../tools/worker/stand-in-server';
import { demoSecret, serveDemoStandIn } from '../tools/worker/demo-task';
import { EXAMPLE_APP } from './helpers/apps';
import { appCommand, installBundleAlone, workerEnvironment } from './helpers/worker';

const { demo } = EXAMPLE_APP;
let upstream: StandInServer;
let appDir: string;
beforeAll(async () => {
  upstream = await serveDemoStandIn(demo);
  appDir = installBundleAlone();
});
afterAll(() => upstream.close());

/** What a worker would find in IEXEC_OUT after the kill; returns what is wrong, if anything. */
function inspect(out: string): string | undefined {
  const computedPath = join(out, 'computed.json');
  if (!existsSync(computedPath)) return undefined;
  let computed: Record<string, string>;
  try {
    computed = JSON.parse(readFileSync(computedPath, 'utf8'));
  } catch {
    return 'computed.json is partial';
  }
  const target = computed['deterministic-output-path'] ?? '';
  if (!existsSync(target)) return `computed.json points at missing ${target}`;
  const content = readFileSync(target, 'utf8');
  // Each file is written whole in one call and renamed: a partial one would be empty.
  if (target.endsWith('result.txt')) return content.length > 0 ? undefined : 'empty result.txt';
  return content === computed['error-message'] ? undefined : `error.txt does not match: ${content}`;
}

const HAS_STRACE = !spawnSync('strace', ['-V']).error;
const OUTPUT_FILES = ['.result.txt.tmp', 'result.txt', '.computed.json.tmp', 'computed.json', '.error.txt.tmp', 'error.txt'];
const FILE_CALLS = 'openat,write,close,rename,unlink';

/** node app.js, under strace with delayed file calls on the output files when strace is there. */
function command(out: string): [string, string[]] {
  const app = [...appCommand(appDir), ...demo.args];
  if (!HAS_STRACE) return [app[0]!, app.slice(1)];
  const paths = OUTPUT_FILES.flatMap((file) => ['-P', join(out, file)]);
  return ['strace', ['-f', '-qq', '-o', '/dev/null', ...paths, '-e', `trace=${FILE_CALLS}`, '-e', `inject=${FILE_CALLS}:delay_enter=4000`, ...app]];
}

/** Runs the bundle and kills it `killAfterAnswerMs` after the upstream answered (or `killAfterStartMs` after spawn). */
async function runAndKill(when: { killAfterAnswerMs?: number; killAfterStartMs?: number }) {
  const { env, out } = workerEnvironment(demoSecret(demo, upstream.url));
  const [program, args] = command(out);
  // Its own process group, so that one SIGKILL takes strace and node together.
  const child = spawn(program, args, { cwd: appDir, env, stdio: 'ignore', detached: true });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  if (when.killAfterStartMs !== undefined) setTimeout(kill, when.killAfterStartMs);
  // The stand-in answers; the kill is timed from the moment its answer is sent.
  upstream.intercept = (_request, response) => {
    const { killAfterAnswerMs } = when;
    if (killAfterAnswerMs !== undefined) response.on('finish', () => (killAfterAnswerMs === 0 ? setImmediate(kill) : setTimeout(kill, killAfterAnswerMs)));
    return false;
  };
  const signal = await exited;
  upstream.intercept = undefined;
  return { signal, problem: inspect(out), wrote: readdirSync(out).length > 0 };
}

describe('killed while it works', () => {
  it('leaves no computed.json, or a complete one pointing at a complete file', async () => {
    const outcomes = { killed: 0, finished: 0, killedWhileWriting: 0 };
    const problems: string[] = [];
    const writePhaseMs = HAS_STRACE ? 40 : 6;
    for (let i = 0; i < 100; i++) {
      // Two thirds aimed at the writes, the rest anywhere in the run.
      const when = i % 3 < 2 ? { killAfterAnswerMs: Math.floor(Math.random() * writePhaseMs) } : { killAfterStartMs: Math.floor(Math.random() * 300) };
      const { signal, problem, wrote } = await runAndKill(when);
      if (signal === 'SIGKILL') outcomes.killed += 1;
      else outcomes.finished += 1;
      if (signal === 'SIGKILL' && wrote) outcomes.killedWhileWriting += 1;
      if (problem !== undefined) problems.push(`${JSON.stringify(when)}: ${problem}`);
    }
    expect(problems).toEqual([]);
    // The kills did land while the app was running, and many of them while it was writing.
    expect(outcomes.killed).toBeGreaterThan(30);
    if (HAS_STRACE) expect(outcomes.killedWhileWriting).toBeGreaterThan(20);
  }, 120_000);
});
