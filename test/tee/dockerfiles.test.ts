import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { SEED_FLAG } from '../../tools/image/code-cache-probe';
import { dockerfileStages, execForm, teeEnv, type Stage } from '../helpers/tee';

const words = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.getKeyword() === keyword).map((i) => i.getArguments().map((a) => a.getValue()));
const flags = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.getKeyword() === keyword).map((i) => ('getFlags' in i ? (i.getFlags as () => { toString(): string }[])().map(String) : []));

const DOCKERFILES = ['Dockerfile', 'Dockerfile.scone', 'Dockerfile.gramine'];
/** The base images whose digest is not known here (iExec's Gramine base is not in any public Dockerfile found). */
const TAG_ONLY = ['iexechub/iexec-gramine-base'];

describe.each(DOCKERFILES)('%s', (file) => {
  const stages = dockerfileStages(file);
  const stageNames = new Set(stages.map((s) => s.name));

  it('pins every base image by digest, its version tag beside it for people (distroless: latest of one Debian release)', () => {
    for (const stage of stages.filter((s) => !stageNames.has(s.image))) {
      if (stage.image === 'distroless/cc-debian12') expect(stage.tag).toBe('latest');
      else expect(stage.tag, `${stage.image} has no version tag`).toMatch(/^\d+\.\d+\.\d+(-[a-z0-9.]+)*$/);
      if (!TAG_ONLY.includes(stage.image)) expect(stage.digest, `${stage.image} has no digest`).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
  });

  it('has the same build stage as the Dockerfile, line for line', () => {
    const text = (name: string) => readFileSync(join(ROOT, name), 'utf8').split('\n');
    const buildStage = (lines: string[]) => {
      const start = lines.findIndex((line) => line.endsWith(' AS build'));
      return lines.slice(start, lines.findIndex((line, i) => i > start && line === ''));
    };
    expect(buildStage(text(file)).length).toBeGreaterThan(3);
    expect(buildStage(text(file))).toEqual(buildStage(text('Dockerfile')));
  });

  it('builds the bundle in a build stage from the lockfile, copying only what the build reads', () => {
    const build = stages.find((s) => s.name === 'build')!;
    expect(words(build, 'RUN')).toEqual([['npm', 'ci', '--no-audit', '--no-fund'], ['npm', 'run', 'build', '--', '--quiet']]);
    const copied = words(build, 'COPY').flatMap((w) => w.slice(0, -1));
    expect(copied).toEqual(['package.json', 'package-lock.json', 'tsconfig.json', 'tools/', 'src/']);
    for (const path of copied) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });

  it('builds the final stage for linux/amd64 (SGX workers)', () => {
    expect(stages.at(-1)!.platform).toBe('linux/amd64');
  });

  it("makes app.js in the final stage with the final node and the entrypoint's flags (a code cache is valid only for them), and the seed that fixes its bytes", () => {
    const final = stages.at(-1)!;
    const index = words(final, 'RUN').findIndex((w) => w.join(' ').includes('code-cache.cjs'));
    const command = execForm(final.instructions.filter((i) => i.getKeyword() === 'RUN')[index]!);
    const [, ...flagsAndApp] = teeEnv().APP_ENTRYPOINT.split(' ');
    expect(command.slice(1, -1)).toEqual([...flagsAndApp.slice(0, -1), SEED_FLAG, '/build/dist/code-cache.cjs', '/build/dist/app.js']);
    expect(command[0]).toMatch(/^(\/usr\/local\/bin\/)?node$/);
    expect(command.at(-1)).toBe(file === 'Dockerfile.gramine' ? '/workplace/app/app.js' : flagsAndApp.at(-1));
    expect(flags(final, 'RUN')[index]).toEqual(['--mount=type=bind,from=build,source=/build/dist,target=/build/dist']);
  });

  it('never copies a key into an image', () => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const stage of stages) {
      for (const sources of words(stage, 'COPY')) expect(sources.join(' ')).not.toMatch(/\.pem|key|secret/i);
    }
    expect(text).not.toMatch(/^\s*(ADD|COPY)[^\n]*\.pem/im);
  });
});

describe('Dockerfile (TDX)', () => {
  const stages = dockerfileStages('Dockerfile');
  const final = stages.at(-1)!;

  it("ends on distroless's C libraries (no shell, no npm), with Node's official glibc build from the node image", () => {
    expect(final.image).toBe('distroless/cc-debian12');
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toContain(`\nFROM --platform=linux/amd64 gcr.io/distroless/cc-debian12:latest@${final.digest}\n`);
    const node = stages.find((s) => s.name === 'node')!;
    expect(`${node.image}:${node.tag}`).toMatch(/^node:22\.\d+\.\d+-bookworm-slim$/);
    expect(words(final, 'COPY')).toEqual([['/usr/local/bin/node', '/usr/local/bin/node']]);
    expect(flags(final, 'COPY')).toEqual([['--from=node']]);
  });

  it('adds only node and app.js, made from the bundle of the build stage, in exec form (no shell to run a command)', () => {
    expect(final.instructions.map((i) => i.getKeyword())).toEqual(['COPY', 'RUN', 'ENTRYPOINT', 'CMD']);
    for (const run of final.instructions.filter((i) => i.getKeyword() === 'RUN')) expect(() => execForm(run)).not.toThrow();
  });
});

describe('Dockerfile.scone (the native image sconify takes)', () => {
  const final = dockerfileStages('Dockerfile.scone').at(-1)!;

  it('ends on the Node image sconify supports (Alpine, musl)', () => {
    expect(final.image).toBe('node');
    expect(final.tag).toMatch(/^22\.\d+\.\d+-alpine3\.21$/);
  });

  it('holds only app.js, made from the bundle of the build stage (nothing copied)', () => {
    expect(final.instructions.map((i) => i.getKeyword())).toEqual(['RUN', 'ENTRYPOINT', 'CMD']);
  });
});

describe.each(['Dockerfile', 'Dockerfile.scone'])('%s entrypoint', (file) => {
  const final = dockerfileStages(file).at(-1)!;

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
  const runs = final.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent()!);

  it("ends on iExec's Gramine base image, the version iExec documents", () => {
    expect(`${final.image}:${final.tag}`).toBe('iexechub/iexec-gramine-base:0.10.0');
  });

  it("follows iExec's recipe: the app under /workplace/app, MAIN_FUNC, WORKDIR, /entrypoint.manifest, /finalize-app.sh last", () => {
    expect(final.instructions.map((i) => i.getKeyword())).toEqual(['ARG', 'RUN', 'COPY', 'RUN', 'RUN', 'RUN', 'WORKDIR', 'COPY', 'RUN']);
    expect(words(final, 'COPY')).toEqual([
      ['/usr/local/bin/node', '/usr/local/bin/node'],
      ['/render/entrypoint.manifest', '/entrypoint.manifest'],
    ]);
    expect(flags(final, 'COPY')).toEqual([['--from=node'], ['--from=manifest']]);
    expect(runs[3]).toBe('sed -i "s#MAIN_FUNC=#MAIN_FUNC=/workplace/app/app.js#" /apploader.sh');
    expect(words(final, 'WORKDIR')).toEqual([['/workplace/app']]);
    expect(runs.at(-1)).toBe('/finalize-app.sh');
  });

  it("keeps the base image's entrypoint (it starts the enclave)", () => {
    expect(final.instructions.filter((i) => ['ENTRYPOINT', 'CMD'].includes(i.getKeyword()))).toEqual([]);
  });

  it('checks in the build that the base image runs this Node build', () => {
    expect(runs[1]).toBe('/usr/local/bin/node --version');
    const node = stages.find((s) => s.name === 'node')!;
    const scone = dockerfileStages('Dockerfile.scone').at(-1)!;
    expect(node.tag!.split('-')[0]).toBe(scone.tag!.split('-')[0]); // the same Node as the SCONE image
    expect(`${node.image}:${node.tag}@${node.digest}`).toBe(dockerfileStages('Dockerfile').map((s) => `${s.image}:${s.tag}@${s.digest}`).find((ref) => ref.startsWith('node:'))); // and the TDX one
  });

  it.each([
    ['true', 0],
    ['false', 1],
  ])('SGX_DEBUG=%s: a production Gramine build is refused with a clear message', (debug, code) => {
    expect(final.instructions[0]!.getArgumentsContent()).toBe('SGX_DEBUG=true');
    const run = spawnSync('sh', ['-c', runs[0]!], { env: { SGX_DEBUG: debug }, encoding: 'utf8' });
    expect(run.status).toBe(code);
    expect(run.stderr).toBe(code ? 'iExec runs Gramine apps on debug workerpools only and documents no production Gramine (no developer signing key): use deploy/scone-production for a production enclave.\n' : '');
  });
});

describe('.dockerignore', () => {
  it('keeps keys, secrets, task folders and local builds out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    // Keys and backups at any depth: test/tools/secret/pack-secret.test.ts checks it on a real build context.
    for (const entry of ['**/*.pem', '**/*.key', '**/.secrets/', '.local/', 'node_modules/', 'dist/', '.git/']) expect(ignored).toContain(entry);
  });
});
