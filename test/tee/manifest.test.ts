import { describe, expect, it } from 'vitest';
import { dockerfileStages, execForm, renderGramineManifest, teeEnv } from '../helpers/tee';

type Toml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every dotted key of a TOML document. */
const keys = (value: unknown, prefix = ''): string[] =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keys(v, `${prefix}${k}.`)])
    : [];

/** Where Dockerfile.gramine's final stage copies a file from another stage. */
function copiedTo(source: string): string {
  const final = dockerfileStages('Dockerfile.gramine').at(-1)!;
  const copy = final.instructions.find((i) => i.getKeyword() === 'COPY' && i.getArguments()[0]?.getValue() === source)!;
  return copy.getArguments()[1]!.getValue();
}

/** Where the final stage writes app.js: the last word of its code-cache step. */
function madeAppFile(): string {
  const final = dockerfileStages('Dockerfile.gramine').at(-1)!;
  const make = final.instructions.find((i) => i.getKeyword() === 'RUN' && i.getTextContent().includes('code-cache.cjs'))!;
  return execForm(make).at(-1)!;
}

describe('gramine.manifest.template, rendered as Dockerfile.gramine renders it', () => {
  const tee = teeEnv();
  const { text, manifest } = renderGramineManifest() as { text: string; manifest: Toml };

  it('is complete TOML: no placeholder left', () => {
    expect(text).not.toContain('{{');
    expect(text).not.toContain('}}');
  });

  it("starts iExec's premain, which runs node from where the image puts it", () => {
    expect(manifest.libos.entrypoint).toBe('file:/workplace/app/premain');
    expect(manifest.app.main).toBe(copiedTo('/usr/local/bin/node'));
  });

  it('uses one malloc arena, as musl does in the SCONE image (npm run memory sizes the enclave so)', () => {
    expect(manifest.loader.env.MALLOC_ARENA_MAX).toBe('1');
  });

  it("preloads iExec's secret provisioning client and leaves the attestation to premain", () => {
    expect(manifest.loader.env.LD_PRELOAD).toBe('/graphene/attestation/libsecret_prov_attest.so');
    expect(manifest.loader.env.SECRET_PROVISION_CONSTRUCTOR).toBe('0');
    expect(manifest.sgx.trusted_files.libsecretprovattest).toBe('file:/graphene/attestation/libsecret_prov_attest.so');
    expect(manifest.sgx.allowed_files.manifest).toBe('file:/entrypoint.manifest.sgx');
  });

  it("takes the command line from the worker (the task's args), its only insecure__ option", () => {
    expect(manifest.loader.insecure__use_cmdline_argv).toBe(1);
    expect(keys(manifest).filter((k) => k.includes('insecure__'))).toEqual(['loader.insecure__use_cmdline_argv']);
  });

  it('lets no IEXEC_* variable or secret in from the host: they come from secret provisioning', () => {
    expect(Object.keys(manifest.loader.env).filter((name) => name.startsWith('IEXEC_'))).toEqual([]);
    expect(keys(manifest).filter((k) => k.endsWith('passthrough') || k.includes('use_host_env'))).toEqual([]);
  });

  it("gives node the flags of tee.env's entrypoint", () => {
    const [, ...words] = tee.APP_ENTRYPOINT.split(' ');
    expect(manifest.loader.env.NODE_OPTIONS).toBe(words.filter((w) => w.startsWith('--')).join(' '));
  });

  it('sizes the enclave from tee.env', () => {
    expect(manifest.sgx.enclave_size).toBe(tee.GRAMINE_ENCLAVE_SIZE);
    expect(manifest.sgx.thread_num).toBe(Number(tee.GRAMINE_MAX_THREADS));
    expect(tee.GRAMINE_ENCLAVE_SIZE).toMatch(/^(1|2|4|8|16|32|64|128|256|512)[MG]$/); // a power of two
  });

  it('measures node and the bundle where the image puts them, and reads the task folders unprotected', () => {
    expect(manifest.sgx.trusted_files.node).toBe(`file:${copiedTo('/usr/local/bin/node')}`);
    expect(manifest.sgx.trusted_files.app).toBe(`file:${madeAppFile()}`);
    expect(manifest.sgx.allowed_files).toMatchObject({ iexec_in: 'file:/iexec_in/', iexec_out: 'file:/iexec_out/' });
    expect(Object.values(manifest.sgx.trusted_files)).not.toContain('file:/iexec_out/');
  });
});
