/**
 * npm run memory: measures what the bundle maps and uses when run as the image runs it, and
 * advises the enclave sizes of tee.env with a stated margin. Re-run it after changing the app.
 *
 * An SGX enclave must hold every page the app maps, not only those it touches, so the figure
 * that matters is the peak virtual size; the resident peak is shown for comparison.
 * Measured with MALLOC_ARENA_MAX=1: musl (SCONE) has one malloc arena, and the Gramine manifest
 * sets it for glibc, which otherwise reserves 64 MiB for each thread that allocates.
 * - SCONE: the anonymous mappings (the heap sconify gives the enclave).
 * - Gramine: everything mapped, the node binary and libraries included.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { loadApp } from '../app';
import { buildBundle, isBundleStale } from '../build';
import { parseOptions } from '../cli';
import { measureFootprint, type Footprint } from './footprint';
import { installImageApp, type ImageApp } from '../image/image-app';
import { imageNode } from '../image/image-node';
import { startDemoTask } from '../worker/demo-files';
import type { DemoRun } from '../worker/demo-task';
import { readTeeEnv } from '../image/tee-env';
import { taskFolders, type TaskFiles } from '../worker/worker-env';

const HELP = `Usage: npm run memory [-- --runs N] [--input-mb N] [--bulk N ...]

Runs the app as the image does (tee.env's APP_ENTRYPOINT, app.js with its code cache, on the
image's Node release) with its demo task (src/app/demo.ts), against the stand-in of its upstreams
named localhost (a name lookup, as most endpoints need), reads its peak memory and threads, and advises tee.env's SCONE_HEAP,
GRAMINE_ENCLAVE_SIZE and GRAMINE_MAX_THREADS (margin 1.25x, rounded up to a power of two).

  --runs N       runs per measurement (default 5; the peak of them is kept)
  --input-mb N   also measure the demo with its first input file grown to N MB (its lines
                 after the first repeated), and print the peak resident size's growth: how
                 memory follows the input's size
  --bulk N       also measure a bulk task of N times the demo's protected data (v9-tdx;
                 repeatable: --bulk 1 --bulk 2 --bulk 100), and print each one's growth
  -h, --help     this text`;

const MARGIN = 1.25;
// Gramine runs a few threads of its own (IPC, async events, TLS handshake helper) besides the app's.
const GRAMINE_OWN_THREADS = 4;

/** One task of the app as the image runs it, against the stand-in named by host name (a lookup, as most endpoints). */
function measure(image: ImageApp, demo: DemoRun, task?: TaskFiles): Promise<Footprint> {
  const root = mkdtempSync(join(tmpdir(), 'memory-'));
  const env = { ...demo.variables(taskFolders(root), { host: 'localhost', ...(task === undefined ? {} : { task }) }), MALLOC_ARENA_MAX: '1' };
  return measureFootprint(image.node, [...image.args, ...demo.args], image.dir, env).finally(() => rmSync(root, { recursive: true, force: true }));
}

const MiB = 1024;
const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(n));
/** A size in KiB, rounded up to a power of two and written as sconify and Gramine take it. */
const asSize = (kb: number): string => {
  const mib = nextPowerOfTwo(Math.max(1, kb / MiB));
  return mib >= 1024 ? `${mib / 1024}G` : `${mib}M`;
};

export async function main(argv: string[]): Promise<number> {
  const values = parseOptions(
    argv,
    { runs: { type: 'string', default: '5' }, 'input-mb': { type: 'string' }, bulk: { type: 'string', multiple: true, default: [] }, help: { type: 'boolean', short: 'h' } },
    HELP,
  );
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
  const inputMb = values['input-mb'] === undefined ? undefined : Number(values['input-mb']);
  if (inputMb !== undefined && !(Number.isInteger(inputMb) && inputMb >= 1)) {
    console.error(`--input-mb takes a whole number from 1\n\n${HELP}`);
    return 2;
  }
  const bulks = values.bulk.map(Number);
  if (!bulks.every((n) => Number.isInteger(n) && n >= 1)) {
    console.error(`--bulk takes a whole number from 1\n\n${HELP}`);
    return 2;
  }
  const app = await loadApp();
  if (bulks.length > 0 && app.demo.protectedData === undefined) {
    console.error('--bulk: the demo task has no protected data to repeat (src/app/demo.ts, protectedData)');
    return 2;
  }
  if (inputMb !== undefined && app.demo.inputFiles === undefined) {
    console.error('--input-mb: the demo task has no input file to grow (src/app/demo.ts, inputFiles)');
    return 2;
  }
  if (isBundleStale(app.target)) await buildBundle(app.target);
  const image = installImageApp(app.target, imageNode());

  const demo = await startDemoTask(app.demo, app.target.appDir);
  try {
    const singleArena: Footprint[] = [];
    for (let i = 0; i < runs; i++) singleArena.push(await measure(image, demo));
    const max = (readings: Footprint[], pick: (r: Footprint) => number) => Math.max(...readings.map(pick));
    const peakVirtual = max(singleArena, (r) => r.vmPeakKb);
    const peakResident = max(singleArena, (r) => r.vmHwmKb);
    const anonymousVirtual = max(singleArena, (r) => r.vmPeakKb - r.fileBackedKb);
    const threads = max(singleArena, (r) => r.threads);

    const advice = {
      SCONE_HEAP: asSize(anonymousVirtual * MARGIN),
      GRAMINE_ENCLAVE_SIZE: asSize(peakVirtual * MARGIN),
      GRAMINE_MAX_THREADS: String(nextPowerOfTwo(threads + GRAMINE_OWN_THREADS)),
    };
    const current: Record<string, string> = readTeeEnv();
    const mib = (kb: number) => `${(kb / MiB).toFixed(0)} MiB`;
    const growth = (kb: number) => `${kb < 0 ? '-' : '+'}${mib(Math.abs(kb))}`;
    console.log(`${runs} runs of the image's app.js (${relative(process.cwd(), image.node)} ${image.args.slice(0, -1).join(' ')}):
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
    if (inputMb !== undefined) {
      const grown = await grownFirstInput(demo.files, inputMb);
      try {
        const readings: Footprint[] = [];
        for (let i = 0; i < runs; i++) readings.push(await measure(image, demo, grown.files));
        const resident = max(readings, (r) => r.vmHwmKb);
        console.log(`\nWith its first input file grown to ${inputMb} MB: peak resident ${mib(resident)} (${growth(resident - peakResident)} over the demo task's).`);
      } finally {
        rmSync(grown.dir, { recursive: true, force: true });
      }
    }
    // The demo has a protected data whenever --bulk is given (checked above).
    const dataset = demo.files.dataset ?? '';
    for (const size of bulks) {
      const bulk = new Array<string>(size).fill(dataset);
      const readings: Footprint[] = [];
      for (let i = 0; i < runs; i++) readings.push(await measure(image, demo, { ...demo.files, dataset: undefined, bulk }));
      const resident = max(readings, (r) => r.vmHwmKb);
      console.log(`A bulk of ${size} protected data: peak resident ${mib(resident)} (${growth(resident - peakResident)} over the demo task's).`);
    }
    return 0;
  } finally {
    await demo.close();
    rmSync(image.dir, { recursive: true, force: true });
  }
}

/** The demo's files with the first input file grown to `mb` MB: its first line, then its other lines again and again. */
async function grownFirstInput(files: TaskFiles, mb: number): Promise<{ files: TaskFiles; dir: string }> {
  const [first, ...rest] = files.inputFiles ?? [];
  if (first === undefined) throw new Error('no input file to grow');
  const [head = '', ...lines] = readFileSync(first, 'utf8').split(/(?<=\n)/);
  const body = lines.join('') || head;
  const dir = mkdtempSync(join(tmpdir(), 'memory-input-'));
  const path = join(dir, basename(first));
  const out = createWriteStream(path);
  out.write(head);
  // Written in 1 MiB pieces: the tool itself stays small too.
  const piece = body.repeat(Math.max(1, Math.floor(2 ** 20 / body.length)));
  for (let written = head.length; written < mb * 1e6; written += piece.length) {
    if (!out.write(piece)) await once(out, 'drain');
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { files: { ...files, inputFiles: [path, ...rest] }, dir };
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
