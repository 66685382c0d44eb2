/**
 * npm run bench: the bundle against the same app unbundled and against a floor, interleaved in
 * one run, each as a cold process against the app's stand-in upstream on loopback, on the image's Node
 * release and on this machine's node (tools/measure/bench-nodes.ts).
 *   A  the image's app.js (bundle + code cache) alone in a folder, run by tee.env's entrypoint
 *   B  the same sources transpiled file by file, loading axios and zod from node_modules
 *   C  tools/measure/floor-app.cjs: one request and the same output files, with Node built-ins only
 * Prints medians, spreads and ratios; writes them to .bench/results/<date>.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { loadApp, type AppUnderWork } from '../app';
import { type BenchNode, benchNodes } from './bench-nodes';
import { BUNDLE_BUDGET_BYTES, ROOT, buildBundle } from '../build';
import { parseOptions } from '../cli';
import { startDemoTask } from '../worker/demo-files';
import type { DemoRun } from '../worker/demo-task';
import { taskFolders } from '../worker/worker-env';
import { measureFootprint, type Footprint } from './footprint';
import { IMAGE_APP_BUDGET_BYTES } from '../image/image-app';

const HELP = `Usage: npm run bench -- [--rounds N] [--quick]

Runs A (the app as the image runs it), B (unbundled, from node_modules) and C (Node built-ins
only) interleaved, on the image's Node release and on this machine's node, after a warm-up, and
prints wall time, peak memory, threads, peak virtual size, files opened at start-up and code
bytes, with the ratios A/B and A/C against the targets. Results go to .bench/results/.

  --rounds N   measured rounds (default 30)
  --quick      3 rounds: for CI, which fails only when the bundle is over its byte budget
  -h, --help   this text`;

const TARGETS = { wallAC: 1.25, wallAB: 0.45, memoryAC: 1.15, threads: 4, vmPeakMiB: 750, filesUnderApp: 1, bundleBytes: BUNDLE_BUDGET_BYTES, imageAppBytes: IMAGE_APP_BUDGET_BYTES };
const GNU_TIME = '/usr/bin/time';

interface Variant {
  id: 'A' | 'B' | 'C';
  label: string;
  node: string;
  /** The node arguments, the app file last. */
  args: string[];
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

/** For each node: A and C alone in a folder; B transpiled in place so that it resolves node_modules. */
async function prepare(work: string, { target }: AppUnderWork): Promise<[BenchNode, [Variant, Variant, Variant]][]> {
  await buildBundle(target);
  const cDir = mkdtempSync(join(work, 'c-'));
  copyFileSync(join(ROOT, 'tools', 'measure', 'floor-app.cjs'), join(cDir, 'app.js'));

  const bDir = join(ROOT, '.bench', 'unbundled');
  rmSync(bDir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/**/*.ts', join(relative(ROOT, target.appDir), '**/*.ts')],
    outdir: bDir,
    outbase: ROOT,
    bundle: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
  // Another app's contract takes src/app's place, as the bundler's does (tools/build.ts, appAt).
  const appIndex = join(bDir, relative(ROOT, target.appDir), 'index.js');
  const srcAppIndex = join(bDir, 'src', 'app', 'index.js');
  if (appIndex !== srcAppIndex) writeFileSync(srcAppIndex, `module.exports = require(${JSON.stringify(appIndex)});\n`);
  // package.json's "imports" (#iexec/*, #errors), pointing at the transpiled files.
  const { imports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports: Record<string, string> };
  const transpiled = Object.fromEntries(Object.entries(imports).map(([name, path]) => [name, path.replace(/\.ts$/, '.js')]));
  writeFileSync(join(bDir, 'package.json'), `${JSON.stringify({ type: 'commonjs', imports: transpiled })}\n`);

  return benchNodes(target).map((n): [BenchNode, [Variant, Variant, Variant]] => [n, [
    { id: 'A', label: `as the image runs it: node ${n.app.args.slice(0, -1).join(' ')} app.js`, node: n.node, args: n.app.args, appDir: n.app.dir },
    { id: 'B', label: 'unbundled, from node_modules', node: n.node, args: [join(bDir, 'src', 'index.js')], appDir: resolve(ROOT) },
    { id: 'C', label: 'floor: Node built-ins only', node: n.node, args: [join(cDir, 'app.js')], appDir: cDir },
  ]]);
}

/** What every run needs: a folder to work in, the app and its demo task (its stand-in served). */
interface Bench {
  work: string;
  app: AppUnderWork;
  demo: DemoRun;
}

/** A worker's environment for one run of the demo task, its secret (and the floor's request) aimed at the stand-in named `host`. */
function taskEnv({ work, demo }: Bench, host = '127.0.0.1'): { env: NodeJS.ProcessEnv; out: string } {
  const folders = taskFolders(mkdtempSync(join(work, 'task-')));
  return { out: folders.out, env: { ...demo.variables(folders, { host }), FLOOR_URL: demo.upstream.url.replace('127.0.0.1', host) } };
}

/** The variant's command line: node arguments, then the demo's requester arguments (the floor ignores them). */
const commandOf = (variant: Variant, bench: Bench): string[] => [...variant.args, ...bench.demo.args];

/** One cold run: wall time from spawn to exit, peak RSS from the child's rusage (GNU time). */
async function runOnce(variant: Variant, bench: Bench): Promise<Sample> {
  const { env, out } = taskEnv(bench);
  const rssFile = join(out, '..', 'rss');
  const useTime = existsSync(GNU_TIME);
  const [command, args] = useTime
    ? [GNU_TIME, ['-f', '%M', '-o', rssFile, variant.node, ...commandOf(variant, bench)]]
    : [variant.node, commandOf(variant, bench)];
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
    spawn('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, variant.node, ...commandOf(variant, bench)], { cwd: variant.appDir, env, stdio: 'ignore' }).on('close', resolve);
  });
  const opened = new Set<string>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const file = /openat\([^,]+, "([^"]+)".*\) = \d+$/.exec(line)?.[1];
    if (file?.startsWith(`${variant.appDir}/`) && file !== variant.node) opened.add(file);
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
  const demo = await startDemoTask(app.demo, app.target.appDir);
  const bench: Bench = { work, app, demo };
  try {
    const groups = await prepare(work, app);
    const variants = groups.flatMap(([, v]) => v);
    // Every variant on every node in each round: the ratios pair runs made under the same load.
    const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]));
    for (let round = -warmup; round < rounds; round++) {
      for (const [variant, measured] of samples) {
        const sample = await runOnce(variant, bench);
        if (round >= 0) measured.push(sample);
      }
    }
    const files = new Map<Variant, StartupFiles | undefined>();
    const footprints = new Map<Variant, Footprint>();
    for (const v of variants) {
      files.set(v, await filesOpenedUnderApp(v, bench));
      footprints.set(v, await footprintOf(v, bench));
    }
    const bundleBytes = statSync(app.target.outfile).size;
    const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}`;
    console.log(`\n${rounds} rounds (A B C on each node, interleaved, after ${warmup} warm-up), stand-in upstream on loopback; ${machine}`);

    const results = groups.map(([node, [va, vb, vc]]) => {
      const summary = [va, vb, vc].map((v) => {
        const [s, footprint] = [measured(samples, v), measured(footprints, v)];
        const wall = s.map((x) => x.wallMs);
        const rss = s.map((x) => x.maxRssKb).filter((x): x is number => x !== undefined);
        return {
          id: v.id,
          label: v.label,
          wallMedianMs: quantile(wall, 0.5),
          wallP25Ms: quantile(wall, 0.25),
          wallP75Ms: quantile(wall, 0.75),
          maxRssMedianKb: rss.length > 0 ? quantile(rss, 0.5) : undefined,
          threads: footprint.threads,
          vmPeakMiB: footprint.vmPeakKb / 1024,
          filesOpenedUnderApp: files.get(v)?.count,
          codeBytesRead: files.get(v)?.bytes,
        };
      });
      const [a] = summary as [(typeof summary)[number]];
      // Paired: each round's A against the B and C run next to it, under the same machine load.
      const [sa, sb, sc] = [measured(samples, va), measured(samples, vb), measured(samples, vc)];
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
      const imageAppBytes = statSync(join(va.appDir, 'app.js')).size;

      console.log(`\n### ${node.label}\n`);
      console.log('| | what | wall median (p25–p75) | peak RSS median | threads | peak virtual | files opened under the app folder | code bytes read |');
      console.log('|---|---|---|---|---|---|---|---|');
      for (const row of summary) {
        const rss = row.maxRssMedianKb === undefined ? 'n/a (no GNU time)' : `${(row.maxRssMedianKb / 1024).toFixed(1)} MiB`;
        const opened = row.filesOpenedUnderApp === undefined ? 'n/a (no strace)' : String(row.filesOpenedUnderApp);
        console.log(`| ${row.id} | ${row.label} | ${row.wallMedianMs.toFixed(0)} ms (${row.wallP25Ms.toFixed(0)}–${row.wallP75Ms.toFixed(0)}) | ${rss} | ${row.threads} | ${row.vmPeakMiB.toFixed(0)} MiB | ${opened} | ${row.codeBytesRead ?? 'n/a'} |`);
      }
      const check = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'ok' : 'MISSED');
      console.log(`
| target (median of per-round ratios; footprint: one run, endpoint \`localhost\`, one malloc arena) | measured | |
|---|---|---|
| A/C wall ≤ ${TARGETS.wallAC} | ${ratios.wallAC.toFixed(2)} | ${check(ratios.wallAC <= TARGETS.wallAC)} |
| A/B wall ≤ ${TARGETS.wallAB} | ${ratios.wallAB.toFixed(2)} | ${check(ratios.wallAB <= TARGETS.wallAB)} |
| A/C peak memory ≤ ${TARGETS.memoryAC} | ${ratios.memoryAC?.toFixed(2) ?? 'n/a'} | ${check(ratios.memoryAC === undefined ? undefined : ratios.memoryAC <= TARGETS.memoryAC)} |
| A threads ≤ ${TARGETS.threads} | ${a.threads} | ${check(a.threads <= TARGETS.threads)} |
| A peak virtual ≤ ${TARGETS.vmPeakMiB} MiB | ${a.vmPeakMiB.toFixed(0)} MiB | ${check(a.vmPeakMiB <= TARGETS.vmPeakMiB)} |
| files opened under /app = ${TARGETS.filesUnderApp} | ${a.filesOpenedUnderApp ?? 'n/a'} | ${check(a.filesOpenedUnderApp === undefined ? undefined : a.filesOpenedUnderApp === TARGETS.filesUnderApp)} |
| bundle ≤ ${TARGETS.bundleBytes} bytes | ${bundleBytes} | ${check(bundleBytes <= TARGETS.bundleBytes)} |
| app.js with its code cache ≤ ${TARGETS.imageAppBytes} bytes | ${imageAppBytes} | ${check(imageAppBytes <= TARGETS.imageAppBytes)} |`);
      return { node: node.label, command: [node.node, ...va.args], imageAppBytes, summary, ratios };
    });

    const resultsDir = join(ROOT, '.bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine, rounds, warmup, bundleBytes, results, targets: TARGETS }, null, 2)}\n`);
    console.log(`\nwritten to ${relative(process.cwd(), file)}`);

    // Timings are too noisy to fail on; bytes are not. (A rejected code cache fails in prepare.)
    const over = [
      bundleBytes > TARGETS.bundleBytes && `bundle is ${bundleBytes} bytes, over its budget of ${TARGETS.bundleBytes}`,
      ...results.map((r) => r.imageAppBytes > TARGETS.imageAppBytes && `app.js for ${r.node} is ${r.imageAppBytes} bytes, over its budget of ${TARGETS.imageAppBytes}`),
    ].filter((x): x is string => typeof x === 'string');
    for (const line of over) console.error(line);
    return over.length > 0 ? 1 : 0;
  } finally {
    await demo.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function measured<T>(of: Map<Variant, T>, variant: Variant): T {
  const value = of.get(variant);
  if (value === undefined) throw new Error(`no measurement for ${variant.id}`);
  return value;
}

/** Threads and peak virtual size of one run, endpoint named `localhost` (a lookup), one malloc arena as in the enclaves. */
async function footprintOf(variant: Variant, bench: Bench): Promise<Footprint> {
  const { env, out } = taskEnv(bench, 'localhost');
  try {
    return await measureFootprint(variant.node, commandOf(variant, bench), variant.appDir, { ...env, MALLOC_ARENA_MAX: '1' });
  } finally {
    rmSync(join(out, '..'), { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
