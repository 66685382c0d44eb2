/**
 * npm run bench: the bundle against the same app unbundled and against a floor, interleaved in
 * one run, each as a cold process against the app's stand-in upstream on loopback.
 *   A  dist/app.js alone in a folder, as the image runs it
 *   B  the same sources transpiled file by file, loading axios and zod from node_modules
 *   C  tools/floor-app.cjs: one request and the same output files, with Node built-ins only
 * Prints medians, spreads and ratios; writes them to .bench/results/<date>.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { BUNDLE_BUDGET_BYTES, ROOT, buildBundle } from './build';
import { parseOptions } from './cli';
import { loadApp, type AppUnderWork } from './app';
import { serveStandIn, type StandInServer } from './stand-in-server';
import { taskFolders, workerVariables } from './worker-env';

const HELP = `Usage: npm run bench -- [--rounds N] [--quick]

Runs A (the bundle), B (unbundled, from node_modules) and C (Node built-ins only) interleaved,
after a warm-up, and prints wall time, peak memory, files opened at start-up and code bytes,
with the ratios A/B and A/C against the targets. Results go to .bench/results/.

  --rounds N   measured rounds (default 30)
  --quick      3 rounds: for CI, which fails only when the bundle is over its byte budget
  -h, --help   this text`;

const TARGETS = { wallAC: 1.5, wallAB: 0.6, memoryAC: 1.2, filesUnderApp: 1, bundleBytes: BUNDLE_BUDGET_BYTES };
const GNU_TIME = '/usr/bin/time';

interface Variant {
  id: 'A' | 'B' | 'C';
  label: string;
  entry: string;
  /** The folder whose files count as the app's own (the image's /app). */
  appDir: string;
}

interface StartupFiles {
  count: number;
  /** Bytes of the files opened under the app folder: the code read at each start. */
  bytes: number;
}

interface Sample {
  wallMs: number;
  maxRssKb: number | undefined;
}

/** A and C alone in a folder; B transpiled in place so that it resolves node_modules. */
async function prepare(work: string, { target }: AppUnderWork): Promise<Variant[]> {
  await buildBundle(target);
  const aDir = mkdtempSync(join(work, 'a-'));
  copyFileSync(target.outfile, join(aDir, 'app.js'));
  const cDir = mkdtempSync(join(work, 'c-'));
  copyFileSync(join(ROOT, 'tools', 'floor-app.cjs'), join(cDir, 'app.js'));

  const bDir = join(ROOT, '.bench', 'unbundled');
  rmSync(bDir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/**/*.ts'],
    outdir: bDir,
    bundle: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
  writeFileSync(join(bDir, 'package.json'), '{ "type": "commonjs" }\n');

  return [
    { id: 'A', label: 'bundle (dist/app.js alone)', entry: join(aDir, 'app.js'), appDir: aDir },
    { id: 'B', label: 'unbundled, from node_modules', entry: join(bDir, 'index.js'), appDir: resolve(ROOT) },
    { id: 'C', label: 'floor: Node built-ins only', entry: join(cDir, 'app.js'), appDir: cDir },
  ];
}

/** What every run needs: a folder to work in, the app and its stand-in upstream. */
interface Bench {
  work: string;
  app: AppUnderWork;
  upstream: StandInServer;
}

/** A worker's environment for one run, with the app's demo secret and the floor's request. */
function taskEnv({ work, app, upstream }: Bench): { env: NodeJS.ProcessEnv; out: string } {
  const root = mkdtempSync(join(work, 'task-'));
  const folders = taskFolders(root);
  const env = { ...workerVariables(folders, JSON.stringify(app.standIn.demoSecret(upstream.url))), FLOOR_URL: upstream.url };
  return { out: folders.out, env };
}

/** One cold run: wall time from spawn to exit, peak RSS from the child's rusage (GNU time). */
async function runOnce(variant: Variant, bench: Bench): Promise<Sample> {
  const { env, out } = taskEnv(bench);
  const rssFile = join(out, '..', 'rss');
  const useTime = existsSync(GNU_TIME);
  const [command, args] = useTime
    ? [GNU_TIME, ['-f', '%M', '-o', rssFile, process.execPath, variant.entry, ...bench.app.standIn.demoArgs]]
    : [process.execPath, [variant.entry, ...bench.app.standIn.demoArgs]];
  const started = process.hrtime.bigint();
  const code = await new Promise<number | null>((resolve) => {
    spawn(command, args, { cwd: variant.appDir, env, stdio: 'ignore' }).on('close', resolve);
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0 || !existsSync(join(out, 'computed.json'))) throw new Error(`${variant.id} failed (exit ${code})`);
  const maxRssKb = useTime ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) : undefined;
  rmSync(join(out, '..'), { recursive: true, force: true });
  return { wallMs, maxRssKb };
}

/** Files the process opened successfully under the app's folder (strace), or undefined without strace. */
async function filesOpenedUnderApp(variant: Variant, bench: Bench): Promise<StartupFiles | undefined> {
  if (spawnSync('strace', ['-V']).error) return undefined;
  const { env, out } = taskEnv(bench);
  const trace = join(out, '..', 'strace');
  // Asynchronous: the stand-in answering the child lives in this process's event loop.
  await new Promise((resolve) => {
    spawn('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, process.execPath, variant.entry], { cwd: variant.appDir, env, stdio: 'ignore' }).on('close', resolve);
  });
  const opened = new Set<string>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const file = /openat\([^,]+, "([^"]+)".*\) = \d+$/.exec(line)?.[1];
    if (file?.startsWith(`${variant.appDir}/`)) opened.add(file);
  }
  rmSync(join(out, '..'), { recursive: true, force: true });
  return { count: opened.size, bytes: [...opened].reduce((sum, file) => sum + statSync(file).size, 0) };
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const [low = 0, high = 0] = [sorted[Math.floor(position)], sorted[Math.ceil(position)]];
  return low + (high - low) * (position - Math.floor(position));
};

export async function main(argv: string[]): Promise<number> {
  const values = parseOptions(argv, { rounds: { type: 'string', default: '30' }, quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, HELP);
  if (values === undefined) return 2;
  if (values.help) return (console.log(HELP), 0);
  const rounds = values.quick ? 3 : Number(values.rounds);
  const warmup = values.quick ? 1 : 3;

  const app = await loadApp();
  const work = mkdtempSync(join(tmpdir(), 'bench-'));
  const upstream = await serveStandIn(app.standIn.create());
  const bench: Bench = { work, app, upstream };
  try {
    const variants = await prepare(work, app);
    const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]));
    for (let round = -warmup; round < rounds; round++) {
      for (const [variant, measured] of samples) {
        const sample = await runOnce(variant, bench);
        if (round >= 0) measured.push(sample);
      }
    }
    const files = new Map<string, StartupFiles | undefined>();
    for (const v of variants) files.set(v.id, await filesOpenedUnderApp(v, bench));

    const summary = [...samples].map(([v, s]) => {
      const wall = s.map((x) => x.wallMs);
      const rss = s.map((x) => x.maxRssKb).filter((x): x is number => x !== undefined);
      return {
        id: v.id,
        label: v.label,
        wallMedianMs: quantile(wall, 0.5),
        wallP25Ms: quantile(wall, 0.25),
        wallP75Ms: quantile(wall, 0.75),
        maxRssMedianKb: rss.length > 0 ? quantile(rss, 0.5) : undefined,
        filesOpenedUnderApp: files.get(v.id)?.count,
        codeBytesRead: files.get(v.id)?.bytes,
      };
    });
    const [a] = summary as [(typeof summary)[number]];
    // Paired: each round's A against the B and C run next to it, under the same machine load.
    const [sa, sb, sc] = [...samples.values()] as [Sample[], Sample[], Sample[]];
    const pairedMedian = (x: Sample[], y: Sample[], pick: (s: Sample) => number | undefined) => {
      const ratios = x.map((s, i) => (pick(s) ?? NaN) / (pick(y[i] ?? s) ?? NaN)).filter((r) => Number.isFinite(r));
      return ratios.length > 0 ? quantile(ratios, 0.5) : undefined;
    };
    const ratios = {
      wallAB: pairedMedian(sa, sb, (s) => s.wallMs) ?? NaN,
      wallAC: pairedMedian(sa, sc, (s) => s.wallMs) ?? NaN,
      memoryAB: pairedMedian(sa, sb, (s) => s.maxRssKb),
      memoryAC: pairedMedian(sa, sc, (s) => s.maxRssKb),
    };
    const bundleBytes = statSync(app.target.outfile).size;
    const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;

    console.log(`\n${rounds} rounds (A B C interleaved, after ${warmup} warm-up), stand-in upstream on loopback; ${machine}\n`);
    console.log('| | what | wall median (p25–p75) | peak RSS median | files opened under the app folder | code bytes read |');
    console.log('|---|---|---|---|---|---|');
    for (const row of summary) {
      const rss = row.maxRssMedianKb === undefined ? 'n/a (no GNU time)' : `${(row.maxRssMedianKb / 1024).toFixed(1)} MiB`;
      const opened = row.filesOpenedUnderApp === undefined ? 'n/a (no strace)' : String(row.filesOpenedUnderApp);
      console.log(`| ${row.id} | ${row.label} | ${row.wallMedianMs.toFixed(0)} ms (${row.wallP25Ms.toFixed(0)}–${row.wallP75Ms.toFixed(0)}) | ${rss} | ${opened} | ${row.codeBytesRead ?? 'n/a'} |`);
    }
    const check = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'ok' : 'MISSED');
    console.log(`
| target (median of per-round ratios) | measured | |
|---|---|---|
| A/C wall ≤ ${TARGETS.wallAC} | ${ratios.wallAC.toFixed(2)} | ${check(ratios.wallAC <= TARGETS.wallAC)} |
| A/B wall ≤ ${TARGETS.wallAB} | ${ratios.wallAB.toFixed(2)} | ${check(ratios.wallAB <= TARGETS.wallAB)} |
| A/C peak memory ≤ ${TARGETS.memoryAC} | ${ratios.memoryAC?.toFixed(2) ?? 'n/a'} | ${check(ratios.memoryAC === undefined ? undefined : ratios.memoryAC <= TARGETS.memoryAC)} |
| files opened under /app = ${TARGETS.filesUnderApp} | ${a.filesOpenedUnderApp ?? 'n/a'} | ${check(a.filesOpenedUnderApp === undefined ? undefined : a.filesOpenedUnderApp === TARGETS.filesUnderApp)} |
| bundle ≤ ${TARGETS.bundleBytes} bytes | ${bundleBytes} | ${check(bundleBytes <= TARGETS.bundleBytes)} |`);

    const resultsDir = join(ROOT, '.bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine, rounds, warmup, bundleBytes, summary, ratios, targets: TARGETS }, null, 2)}\n`);
    console.log(`\nwritten to ${relative(process.cwd(), file)}`);

    // Timings are too noisy to fail on; bytes are not.
    if (bundleBytes > TARGETS.bundleBytes) {
      console.error(`bundle is ${bundleBytes} bytes, over its budget of ${TARGETS.bundleBytes}`);
      return 1;
    }
    return 0;
  } finally {
    await upstream.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
