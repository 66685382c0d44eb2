/**
 * Bundles the app into ONE file, dist/app.js, that runs alone (no node_modules beside it):
 * the file the images copy to /app. Prints the bundle's size by package.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoTask } from '../src/iexec/app';
import { parseOptions } from './cli';
import { writeDemoFiles } from './worker/demo-files';
import { demoFilesBeside } from './worker/demo-task';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = `${ROOT}dist/app.js`;
const DEFAULT_APP_DIR = join(ROOT, 'src', 'app');
/** Every enclave start reads and compiles the whole bundle: CI fails past this size. */
export const BUNDLE_BUDGET_BYTES = 120 * 1024;

const HELP = `Usage: npm run build [-- --quiet] [-- --check-budget]

Bundles src/ into dist/app.js and prints its size by package.
  --quiet         print nothing but errors
  --check-budget  fail when dist/app.js is over its budget (${BUNDLE_BUDGET_BYTES} bytes)
  -h, --help      this text`;

/** Which app to bundle (its contract folder) and where: src/app into dist/app.js unless told otherwise. */
export interface BundleTarget {
  appDir: string;
  outfile: string;
  /** tools/image/code-cache.ts for this app, as one script that needs only node: the image build runs it in its final stage. */
  codeCacheTool: string;
}
export const DEFAULT_TARGET: BundleTarget = { appDir: DEFAULT_APP_DIR, outfile: BUNDLE, codeCacheTool: `${ROOT}dist/code-cache.cjs` };

/**
 * Code the app never runs, kept out of the bundle because every byte and every module loaded is
 * paid again at each enclave start. Each entry is checked: the build fails when an axios upgrade
 * moves the code, instead of silently growing the bundle again.
 */
/**
 * A Node built-in loaded on its first property read instead of at start. esbuild leaves a
 * require() of a built-in where it stands: here, inside the trap.
 */
const lazyBuiltin = (name: string): [string, string] => [
  `import ${name} from '${name}';`,
  `const ${name} = new Proxy({}, { get: (_, key) => require('node:${name}')[key] });`,
];

type Trim = { module: RegExp; why: string } & ({ contents: string } | { replace: [from: string, to: string][] });
const TRIMS: Trim[] = [
  {
    module: /node_modules\/form-data\/lib\/form_data\.js$/,
    why: 'multipart bodies are never sent; form-data pulls a 130 KB MIME database',
    contents: `module.exports = class FormData {
      constructor() { throw new Error('form-data is left out of this bundle (tools/build.ts)'); }
    };`,
  },
  {
    module: /node_modules\/axios\/lib\/adapters\/(fetch|xhr)\.js$/,
    why: "the app uses axios's http adapter only; loading the fetch adapter makes Node load undici",
    contents: 'export const getFetch = () => false; export default false;',
  },
  {
    module: /node_modules\/axios\/lib\/utils\.js$/,
    why: "reading globalThis.FormData makes Node 20 load undici (~80 ms); FormData is still recognised by its tag",
    replace: [["typeof G.FormData !== 'undefined' ? G.FormData : undefined", 'undefined']],
  },
  {
    module: /node_modules\/follow-redirects\/index\.js$/,
    why: 'the app follows no redirect (maxRedirects: 0 uses node:http directly); loading it costs node:assert and its set-up',
    contents: `const refuse = { request() { throw new Error('follow-redirects is left out of this bundle (tools/build.ts)'); } };
      module.exports = { http: refuse, https: refuse };`,
  },
  {
    module: /node_modules\/https-proxy-agent\/dist\/index\.js$/,
    why: 'the app takes no proxy (proxy: false); the agent pulls agent-base and debug',
    contents: `module.exports = class HttpsProxyAgent {
      constructor() { throw new Error('https-proxy-agent is left out of this bundle (tools/build.ts)'); }
    };`,
  },
  {
    module: /node_modules\/axios\/lib\/adapters\/http\.js$/,
    why: 'node:http2, node:https (the TLS stack) and node:zlib load on first use: never for HTTP/1.1, only for https URLs, only for a compressed answer (flush options are read when a stream is made)',
    replace: [
      lazyBuiltin('http2'),
      lazyBuiltin('https'),
      lazyBuiltin('zlib'),
      ...[['zlibOptions', 'Z_SYNC_FLUSH'], ['brotliOptions', 'BROTLI_OPERATION_FLUSH'], ['zstdOptions', 'ZSTD_e_flush']].map(
        ([name, constant]): [string, string] => [
          `const ${name} = {\n  flush: zlib.constants.${constant},\n  finishFlush: zlib.constants.${constant},\n};`,
          `const ${name} = { get flush() { return zlib.constants.${constant}; }, get finishFlush() { return zlib.constants.${constant}; } };`,
        ],
      ),
      // Every Node this app supports (>= 20.19) has brotli; zstd is not advertised (absent before Node 22.15).
      ['const isBrotliSupported = utils.isFunction(zlib.createBrotliDecompress);', 'const isBrotliSupported = true;'],
      ['const isZstdSupported = utils.isFunction(zlib.createZstdDecompress);', 'const isZstdSupported = false;'],
    ],
  },
  {
    module: /node_modules\/axios\/lib\/platform\/node\/index\.js$/,
    why: 'node:crypto (14 internal modules) loads on first use: only multipart boundaries need random bytes',
    replace: [lazyBuiltin('crypto')],
  },
  {
    module: /node_modules\/axios\/lib\/core\/dispatchRequest\.js$/,
    why: "reading the global performance loads perf_hooks (8 modules) for a request duration the app never reads; process.hrtime is as monotonic",
    replace: [
      [
        "typeof performance !== 'undefined' && utils.isFunction(performance.now)\n    ? () => performance.now()\n    : Date.now",
        '() => Number(process.hrtime.bigint()) / 1e6',
      ],
    ],
  },
  {
    module: /node_modules\/axios\/lib\/helpers\/Http2Sessions\.js$/,
    why: 'as above, for the HTTP/2 session pool',
    replace: [lazyBuiltin('http2')],
  },
];

const trimUnusedCode: Plugin = {
  name: 'trim-unused-code',
  setup(build) {
    const used = new Set<Trim>();
    let axiosBundled = false;
    build.onLoad({ filter: /node_modules/ }, async ({ path }) => {
      if (/node_modules\/axios\//.test(path)) axiosBundled = true;
      const trim = TRIMS.find((t) => t.module.test(path));
      if (!trim) return undefined;
      used.add(trim);
      if ('contents' in trim) return { contents: trim.contents, loader: 'js' };
      let source = await readFile(path, 'utf8');
      for (const [from, to] of trim.replace) {
        if (!source.includes(from)) return { errors: [{ text: `trim out of date for ${path}: ${trim.why}` }] };
        source = source.replace(from, to);
      }
      return { contents: source, loader: 'js' };
    });
    build.onEnd(() => {
      // The trims are those of axios and what it loads: an app that calls no upstream bundles none of it.
      if (!axiosBundled) return;
      const stale = TRIMS.filter((t) => !used.has(t));
      if (stale.length > 0) throw new Error(`trim matched no module: ${stale.map((t) => t.module).join(', ')}`);
    });
  },
};

/**
 * src/index.ts imports the app's contract (src/app), tools/image/code-cache.ts its demo task
 * (src/app/demo): another app folder takes their place (the tests' fixture apps).
 */
const appAt = (appDir: string): Plugin => ({
  name: 'app-contract',
  setup(build) {
    const modules = new Map([
      [join(ROOT, 'src', 'app'), join(appDir, 'index.ts')],
      [join(ROOT, 'src', 'app', 'demo'), join(appDir, 'demo.ts')],
    ]);
    build.onResolve({ filter: /app(\/demo)?$/ }, ({ path, importer }) => {
      const module = modules.get(resolve(dirname(importer), path));
      return module === undefined ? undefined : { path: module };
    });
  },
});

export async function buildBundle({ appDir, outfile, codeCacheTool }: BundleTarget = DEFAULT_TARGET): Promise<Metafile> {
  const app = await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/index.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    metafile: true,
    plugins: [appAt(appDir), trimUnusedCode],
    logLevel: 'warning',
    write: false,
  });
  const codeCache = await build({
    absWorkingDir: ROOT,
    entryPoints: ['tools/image/code-cache.ts'],
    outfile: codeCacheTool,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // The command-line blocks of the modules it imports (`argv[1] === import.meta.filename`) stay off.
    define: { 'import.meta.filename': 'undefined' },
    plugins: [appAt(appDir)],
    logLevel: 'warning',
    write: false,
  });
  // Written through a temporary name and a rename: a test (or a second mutation-testing runner)
  // that copies the bundle while it is rebuilt gets the old file or the new one, never a part.
  for (const { path, contents } of [...app.outputFiles, ...codeCache.outputFiles]) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.${process.pid}.tmp`, contents);
    renameSync(`${path}.${process.pid}.tmp`, path);
  }
  // The repository is ESM ("type": "module"); this keeps dist/app.js CommonJS when run from here.
  // Alone in /app there is no package.json at all, and CommonJS is Node's default.
  writeFileSync(`${ROOT}dist/package.json`, '{ "type": "commonjs" }\n');
  // The demo task's files, for the image build's warm run (tools/image/code-cache.ts).
  const { demo } = (await import(join(appDir, 'demo.ts'))) as { demo: DemoTask };
  await writeDemoFiles(demo, demoFilesBeside(outfile), appDir);
  return app.metafile;
}

/** True when the bundle is missing or older than what it is built from. */
export function isBundleStale({ appDir, outfile, codeCacheTool }: BundleTarget = DEFAULT_TARGET): boolean {
  if (!existsSync(outfile) || !existsSync(codeCacheTool)) return true;
  const built = statSync(outfile).mtimeMs;
  const filesOf = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => join(dir, file));
  const sources = [
    ...filesOf(join(ROOT, 'src')),
    ...(relative(join(ROOT, 'src'), appDir).startsWith('..') ? filesOf(appDir) : []),
    `${ROOT}package-lock.json`,
    import.meta.filename,
    `${ROOT}tools/image/code-cache.ts`,
  ];
  return sources.some((file) => statSync(file).mtimeMs > built);
}

/** Bytes of the bundle that each package (or the app's own src/) contributes. */
function bytesByPackage(metafile: Metafile): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const owner = match?.[1] ?? 'app (src/)';
      sizes.set(owner, (sizes.get(owner) ?? 0) + bytesInOutput);
    }
  }
  return new Map([...sizes].sort((a, b) => b[1] - a[1]));
}

async function main(argv: string[]): Promise<number> {
  const values = parseOptions(argv, { quiet: { type: 'boolean' }, 'check-budget': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, HELP);
  if (values === undefined) return 2;
  if (values.help) return (console.log(HELP), 0);
  const metafile = await buildBundle();
  if (!values.quiet) {
    const sizes = bytesByPackage(metafile);
    const total = [...sizes.values()].reduce((a, b) => a + b, 0);
    for (const [owner, bytes] of sizes) console.log(`${(bytes / 1024).toFixed(1).padStart(7)} KB  ${owner}`);
    console.log(`${(total / 1024).toFixed(1).padStart(7)} KB  dist/app.js (total of inputs)`);
  }
  const size = statSync(BUNDLE).size;
  if (values['check-budget'] && size > BUNDLE_BUDGET_BYTES) {
    console.error(`dist/app.js is ${size} bytes, over its budget of ${BUNDLE_BUDGET_BYTES}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] === import.meta.filename) {
  process.exitCode = await main(process.argv.slice(2));
}
