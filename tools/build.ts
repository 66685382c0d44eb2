/**
 * Bundles the app into ONE file, dist/app.js, that runs alone (no node_modules beside it):
 * the file the images copy to /app. Prints the bundle's size by package.
 * Usage: npm run build [-- --quiet] [-- --check-budget]
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = `${ROOT}dist/app.js`;
/** Every enclave start reads and compiles the whole bundle: CI fails past this size. */
export const BUNDLE_BUDGET_BYTES = 120 * 1024;

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
    why: 'node:http2 and node:https (the TLS stack) load on first use: never for HTTP/1.1, only for https URLs',
    replace: [lazyBuiltin('http2'), lazyBuiltin('https')],
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
    build.onLoad({ filter: /node_modules/ }, async ({ path }) => {
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
      const stale = TRIMS.filter((t) => !used.has(t));
      if (stale.length > 0) throw new Error(`trim matched no module: ${stale.map((t) => t.module).join(', ')}`);
    });
  },
};

export async function buildBundle(): Promise<Metafile> {
  const { metafile, outputFiles } = await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/index.ts'],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    metafile: true,
    plugins: [trimUnusedCode],
    logLevel: 'warning',
    write: false,
  });
  // Written through a temporary name and a rename: a test (or a second mutation-testing runner)
  // that copies dist/app.js while it is rebuilt gets the old file or the new one, never a part.
  mkdirSync(dirname(BUNDLE), { recursive: true });
  for (const { path, contents } of outputFiles) {
    writeFileSync(`${path}.${process.pid}.tmp`, contents);
    renameSync(`${path}.${process.pid}.tmp`, path);
  }
  // The repository is ESM ("type": "module"); this keeps dist/app.js CommonJS when run from here.
  // Alone in /app there is no package.json at all, and CommonJS is Node's default.
  writeFileSync(`${ROOT}dist/package.json`, '{ "type": "commonjs" }\n');
  return metafile;
}

/** True when dist/app.js is missing or older than what it is built from. */
export function isBundleStale(): boolean {
  if (!existsSync(BUNDLE)) return true;
  const built = statSync(BUNDLE).mtimeMs;
  const sources = [
    ...readdirSync(`${ROOT}src`, { recursive: true, encoding: 'utf8' }).map((file) => `${ROOT}src/${file}`),
    `${ROOT}package-lock.json`,
    import.meta.filename,
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

if (process.argv[1] === import.meta.filename) {
  const metafile = await buildBundle();
  if (!process.argv.includes('--quiet')) {
    const sizes = bytesByPackage(metafile);
    const total = [...sizes.values()].reduce((a, b) => a + b, 0);
    for (const [owner, bytes] of sizes) console.log(`${(bytes / 1024).toFixed(1).padStart(7)} KB  ${owner}`);
    console.log(`${(total / 1024).toFixed(1).padStart(7)} KB  dist/app.js (total of inputs)`);
  }
  const size = statSync(BUNDLE).size;
  if (process.argv.includes('--check-budget') && size > BUNDLE_BUDGET_BYTES) {
    console.error(`dist/app.js is ${size} bytes, over its budget of ${BUNDLE_BUDGET_BYTES}`);
    process.exitCode = 1;
  }
}
