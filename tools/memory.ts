/**
 * npm run memory: measures what the bundle maps and uses when run as the image runs it, and
 * advises the enclave sizes of tee.env with a stated margin. Re-run it after changing the app.
 *
 * An SGX enclave must hold every page the app maps, not only those it touches, so the figure
 * that matters is the peak virtual size; the resident peak is shown for comparison.
 * - SCONE (Alpine, musl): the anonymous mappings, measured with MALLOC_ARENA_MAX=1 because musl
 *   has no per-thread malloc arenas, whereas glibc reserves 64 MiB for each.
 * - Gramine (glibc): everything mapped, the node binary and libraries included.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApp, type AppUnderWork } from './app';
import { buildBundle, isBundleStale } from './build';
import { parseOptions } from './cli';
import { serveStandIn, type StandInServer } from './stand-in-server';
import { readTeeEnv } from './tee-env';
import { taskFolders, workerVariables } from './worker-env';

const HELP = `Usage: npm run memory [-- --runs N]

Runs the bundle as the image does (node --disable-wasm-trap-handler /app/app.js) against the
app's stand-in upstream, reads its peak memory and threads, and advises tee.env's SCONE_HEAP,
GRAMINE_ENCLAVE_SIZE and GRAMINE_MAX_THREADS (margin 1.25x, rounded up to a power of two).`;

const MARGIN = 1.25;
// Gramine runs a few threads of its own (IPC, async events, TLS handshake helper) besides the app's.
const GRAMINE_OWN_THREADS = 4;

// Preloaded into the measured process: at exit, reads its own peaks from /proc.
const PROBE = `process.on('exit', () => {
  const fs = require('node:fs');
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const field = (name) => Number(new RegExp('^' + name + ':\\\\s+(\\\\d+)', 'm').exec(status)[1]);
  let fileBackedKb = 0;
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').trim().split('\\n')) {
    const [range, , , , inode] = line.split(/\\s+/);
    const [start, end] = range.split('-').map((x) => BigInt('0x' + x));
    if (inode !== '0') fileBackedKb += Number((end - start) / 1024n);
  }
  fs.writeFileSync(process.env.MEMORY_PROBE_OUT, JSON.stringify({
    vmPeakKb: field('VmPeak'), vmHwmKb: field('VmHWM'), threads: field('Threads'), fileBackedKb,
  }));
});`;

interface Reading {
  vmPeakKb: number;
  vmHwmKb: number;
  threads: number;
  fileBackedKb: number;
}

async function measure(work: string, app: AppUnderWork, upstream: StandInServer, extraEnv: NodeJS.ProcessEnv): Promise<Reading> {
  const folders = taskFolders(mkdtempSync(join(work, 'task-')));
  const result = join(folders.out, '..', 'memory.json');
  const env = { ...workerVariables(folders, JSON.stringify(app.standIn.demoSecret(upstream.url))), MEMORY_PROBE_OUT: result, ...extraEnv };
  const args = ['--require', join(work, 'probe.cjs'), '--disable-wasm-trap-handler', join(work, 'app.js'), ...app.standIn.demoArgs];
  const code = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, args, { cwd: work, env, stdio: 'ignore' }).on('close', resolve);
  });
  if (code !== 0) throw new Error(`the app failed (exit ${code})`);
  return JSON.parse(readFileSync(result, 'utf8')) as Reading;
}

const MiB = 1024;
const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(n));
/** A size in KiB, rounded up to a power of two and written as sconify and Gramine take it. */
const asSize = (kb: number): string => {
  const mib = nextPowerOfTwo(Math.max(1, kb / MiB));
  return mib >= 1024 ? `${mib / 1024}G` : `${mib}M`;
};

export async function main(argv: string[]): Promise<number> {
  const values = parseOptions(argv, { runs: { type: 'string', default: '5' }, help: { type: 'boolean', short: 'h' } }, HELP);
  if (values === undefined) return 2;
  if (values.help) return (console.log(HELP), 0);
  if (process.platform !== 'linux') {
    console.error('npm run memory reads /proc: run it on Linux (or in the build container).');
    return 2;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`--runs takes a whole number from 1\n\n${HELP}`);
    return 2;
  }
  const app = await loadApp();
  if (isBundleStale(app.target)) await buildBundle(app.target);
  const work = mkdtempSync(join(tmpdir(), 'memory-'));
  copyFileSync(app.target.outfile, join(work, 'app.js'));
  writeFileSync(join(work, 'probe.cjs'), PROBE);

  const upstream = await serveStandIn(app.standIn.create());
  try {
    const glibc: Reading[] = [];
    const singleArena: Reading[] = [];
    for (let i = 0; i < runs; i++) {
      glibc.push(await measure(work, app, upstream, {}));
      singleArena.push(await measure(work, app, upstream, { MALLOC_ARENA_MAX: '1' }));
    }
    const max = (readings: Reading[], pick: (r: Reading) => number) => Math.max(...readings.map(pick));
    const peakVirtual = max(glibc, (r) => r.vmPeakKb);
    const peakResident = max(glibc, (r) => r.vmHwmKb);
    const anonymousVirtual = max(singleArena, (r) => r.vmPeakKb - r.fileBackedKb);
    const threads = max(glibc, (r) => r.threads);

    const advice = {
      SCONE_HEAP: asSize(anonymousVirtual * MARGIN),
      GRAMINE_ENCLAVE_SIZE: asSize(peakVirtual * MARGIN),
      GRAMINE_MAX_THREADS: String(nextPowerOfTwo(threads + GRAMINE_OWN_THREADS)),
    };
    const current: Record<string, string> = readTeeEnv();
    const mib = (kb: number) => `${(kb / MiB).toFixed(0)} MiB`;
    console.log(`${runs} runs of dist/app.js (${process.version}, ${process.arch}):
  peak virtual size           ${mib(peakVirtual)}   (what a Gramine enclave must hold)
  anonymous, one malloc arena ${mib(anonymousVirtual)}   (what the SCONE heap must hold; musl has one arena)
  peak resident               ${mib(peakResident)}   (pages actually touched)
  threads                     ${threads}

| tee.env | advised (x${MARGIN}, power of two) | now |
|---|---|---|
| SCONE_HEAP | ${advice.SCONE_HEAP} | ${current.SCONE_HEAP} |
| GRAMINE_ENCLAVE_SIZE | ${advice.GRAMINE_ENCLAVE_SIZE} | ${current.GRAMINE_ENCLAVE_SIZE} |
| GRAMINE_MAX_THREADS | ${advice.GRAMINE_MAX_THREADS} (threads + ${GRAMINE_OWN_THREADS} for Gramine's own) | ${current.GRAMINE_MAX_THREADS} |`);
    const differs = Object.entries(advice).filter(([name, value]) => current[name] !== value);
    console.log(
      differs.length === 0
        ? '\ntee.env agrees with the measurement.'
        : `\ntee.env differs (${differs.map(([n]) => n).join(', ')}): update it, then rebuild; sconify.sh --update-iexec-json keeps iexec.json's heapSize in step.`,
    );
    return 0;
  } finally {
    await upstream.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
