import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { GRAMINE_LIBOS, GRAMINE_RUNTIME, renderManifest, teeEnv } from '../helpers/tee';

const tee = teeEnv();
const NODE = '/usr/local/bin/node';
const render = (debug: 'true' | 'false') =>
  renderManifest({ node: NODE, arch_libdir: '/lib/x86_64-linux-gnu', debug, enclave_size: tee.GRAMINE_ENCLAVE_SIZE, max_threads: tee.GRAMINE_MAX_THREADS });

type Toml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every dotted key of a TOML document. */
const keys = (value: unknown, prefix = ''): string[] =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keys(v, `${prefix}${k}.`)])
    : [];

/** The IEXEC_* variables the app's code reads. */
function variablesTheAppReads(): string[] {
  const files = ['src/iexec/secret.ts', 'src/iexec/output.ts', 'src/main.ts', 'src/app/secret.ts', 'src/app/counter.ts'];
  const names = files.flatMap((f) => [...readFileSync(join(ROOT, f), 'utf8').matchAll(/env\.(IEXEC_[A-Z0-9_]+)/g)].map((m) => m[1]!));
  return [...new Set(names)].sort();
}

describe.each(['true', 'false'] as const)('gramine.manifest.template rendered with debug=%s', (debug) => {
  const manifest: Toml = render(debug);

  it('runs node on the bundle, with the same command as the SCONE image', () => {
    expect(manifest.libos.entrypoint).toBe(NODE);
    expect(manifest.loader.entrypoint.uri).toBe(`file:${GRAMINE_LIBOS}`);
    expect(manifest.loader.argv.join(' ')).toBe(tee.APP_ENTRYPOINT);
  });

  it('lets in only the IEXEC_* variables the app reads, passed through', () => {
    const iexec = Object.keys(manifest.loader.env).filter((name) => name.startsWith('IEXEC_')).sort();
    expect(iexec).toEqual(variablesTheAppReads());
    expect(variablesTheAppReads()).toEqual(['IEXEC_APP_DEVELOPER_SECRET', 'IEXEC_OUT']);
    for (const name of iexec) expect(manifest.loader.env[name]).toEqual({ passthrough: true });
    expect(Object.keys(manifest.loader.env).sort()).toEqual(['IEXEC_APP_DEVELOPER_SECRET', 'IEXEC_OUT', 'LD_LIBRARY_PATH', 'MALLOC_ARENA_MAX']);
    expect(manifest.loader.env.MALLOC_ARENA_MAX).toBe('1');
  });

  it('mounts the libraries, node, /app and the task folders', () => {
    const mounts = Object.fromEntries(manifest.fs.mounts.map((m: Toml) => [m.path, m.uri ?? m.type]));
    expect(mounts).toMatchObject({
      '/lib': `file:${GRAMINE_RUNTIME}`,
      [NODE]: `file:${NODE}`,
      '/app': 'file:/app',
      '/iexec_in': 'file:/iexec_in',
      '/iexec_out': 'file:/iexec_out',
      '/tmp': 'tmpfs',
    });
  });

  it('measures node and the bundle, and reads the task folders unprotected', () => {
    expect(manifest.sgx.trusted_files).toEqual(expect.arrayContaining([`file:${NODE}`, 'file:/app/app.js', `file:${GRAMINE_LIBOS}`]));
    expect(manifest.sgx.allowed_files).toEqual(expect.arrayContaining(['file:/iexec_in/', 'file:/iexec_out/']));
    expect(manifest.sgx.trusted_files).not.toContain('file:/iexec_out/');
  });

  it("sizes the enclave from tee.env, with DCAP attestation and the build's debug switch", () => {
    expect(manifest.sgx).toMatchObject({
      debug: debug === 'true',
      remote_attestation: 'dcap',
      enclave_size: tee.GRAMINE_ENCLAVE_SIZE,
      max_threads: Number(tee.GRAMINE_MAX_THREADS),
    });
    expect(tee.GRAMINE_ENCLAVE_SIZE).toMatch(/^(1|2|4|8|16|32|64|128|256|512)[MG]$/); // Gramine wants a power of two
  });

  it('has no insecure__ option', () => {
    expect(keys(manifest).filter((k) => k.includes('insecure__'))).toEqual([]);
  });
});

it('a production render says sgx.debug = false, a debug one true', () => {
  expect((render('false') as Toml).sgx.debug).toBe(false);
  expect((render('true') as Toml).sgx.debug).toBe(true);
});
