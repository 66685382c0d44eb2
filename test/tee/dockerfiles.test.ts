import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { dockerfileStages, execForm, teeEnv, type Stage } from '../helpers/tee';

const words = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.getKeyword() === keyword).map((i) => i.getArguments().map((a) => a.getValue()));
const flags = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.getKeyword() === keyword).map((i) => ('getFlags' in i ? (i.getFlags as () => { toString(): string }[])().map(String) : []));

describe.each(['Dockerfile', 'Dockerfile.gramine'])('%s', (file) => {
  const stages = dockerfileStages(file);
  const stageNames = new Set(stages.map((s) => s.name));

  it('pins every base image to a version (never latest or a bare name)', () => {
    for (const stage of stages.filter((s) => !stageNames.has(s.image))) {
      expect(stage.tag, `${stage.image} has no tag`).toMatch(/^\d+\.\d+(\.\d+)?-[a-z0-9.]+$/);
    }
  });

  it('builds the bundle in a build stage from the lockfile, copying only what the build reads', () => {
    const build = stages.find((s) => s.name === 'build')!;
    expect(words(build, 'RUN')).toEqual([['npm', 'ci', '--no-audit', '--no-fund'], ['npm', 'run', 'build', '--', '--quiet']]);
    const copied = words(build, 'COPY').flatMap((w) => w.slice(0, -1));
    expect(copied).toEqual(['package.json', 'package-lock.json', 'tsconfig.json', 'tools/build.ts', 'src/']);
    for (const path of copied) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });

  it('builds the final stage for linux/amd64 (SGX workers)', () => {
    expect(stages.at(-1)!.platform).toBe('linux/amd64');
  });

  it('never copies a key into an image', () => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const stage of stages) {
      for (const sources of words(stage, 'COPY')) expect(sources.join(' ')).not.toMatch(/\.pem|key|secret/i);
    }
    expect(text).not.toMatch(/^\s*(ADD|COPY)[^\n]*\.pem/im);
  });
});

describe('Dockerfile', () => {
  const stages = dockerfileStages('Dockerfile');
  const final = stages.at(-1)!;

  it('ends on the Node image sconify supports', () => {
    expect(final.image).toBe('node');
    expect(final.tag).toMatch(/^22\.\d+\.\d+-alpine3\.21$/);
  });

  it('copies only the bundle into /app', () => {
    const copies = final.instructions.filter((i) => i.getKeyword() === 'COPY');
    expect(copies.map((c) => c.getArguments().map((a) => a.getValue()))).toEqual([['/build/dist/app.js', '/app/app.js']]);
    expect(flags(final, 'COPY')).toEqual([['--from=build']]);
    expect(final.instructions.map((i) => i.getKeyword())).toEqual(['COPY', 'ENTRYPOINT', 'CMD']);
  });

  it("runs tee.env's entrypoint in exec form, with nothing appended", () => {
    const [entrypoint] = final.instructions.filter((i) => i.getKeyword() === 'ENTRYPOINT');
    expect(execForm(entrypoint!)).toEqual(teeEnv().APP_ENTRYPOINT.split(' '));
    const [cmd] = final.instructions.filter((i) => i.getKeyword() === 'CMD');
    expect(execForm(cmd!)).toEqual([]);
  });
});

describe('Dockerfile.gramine', () => {
  const stages = dockerfileStages('Dockerfile.gramine');
  const final = stages.at(-1)!;
  const runs = final.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getTextContent());

  it('ends on a pinned Gramine image with Node, the bundle, the template and tee.env', () => {
    expect(final.image).toBe('gramineproject/gramine');
    expect(words(final, 'COPY')).toEqual([
      ['/usr/local/bin/node', '/usr/local/bin/node'],
      ['/build/dist/app.js', '/app/app.js'],
      ['gramine.manifest.template', 'tee.env', '/gramine/'],
    ]);
  });

  it('renders the manifest with tee.env and the debug switch', () => {
    expect(runs[0]).toContain('. ./tee.env');
    expect(runs[0]).toMatch(/gramine-manifest .*-Ddebug="\$SGX_DEBUG" .*-Denclave_size="\$GRAMINE_ENCLAVE_SIZE" .*-Dmax_threads="\$GRAMINE_MAX_THREADS"/s);
    const debugArg = final.instructions.find((i) => i.getKeyword() === 'ARG')!;
    expect(debugArg.getArgumentsContent()).toBe('SGX_DEBUG=true');
  });

  it('signs with the BuildKit secret, or a throwaway key only in debug, and prints MRENCLAVE', () => {
    const sign = runs[1]!;
    expect(flags(final, 'RUN')[1]).toEqual(['--mount=type=secret,id=enclave-key,required=false']);
    expect(sign).toContain('gramine-sgx-sign --manifest node.manifest --output node.manifest.sgx --key "$key"');
    expect(sign).toMatch(/elif \[ "\$SGX_DEBUG" = true \]; then key=\/tmp\/debug-key\.pem; gramine-sgx-gen-private-key/);
    expect(sign).toMatch(/else echo "SGX_DEBUG=false needs the key/);
    expect(sign).toContain('rm -f /tmp/debug-key.pem');
    expect(sign).toContain('gramine-sgx-sigstruct-view --output-format=toml node.sig | tee mrenclave.toml');
  });

  it('starts the signed manifest', () => {
    const [entrypoint] = final.instructions.filter((i) => i.getKeyword() === 'ENTRYPOINT');
    expect(execForm(entrypoint!)).toEqual(['gramine-sgx', 'node']);
  });
});

describe('.dockerignore', () => {
  it('keeps keys, secrets, task folders and local builds out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['*.pem', '.secrets/', '.local/', 'node_modules/', 'dist/', '.git/']) expect(ignored).toContain(entry);
  });
});
