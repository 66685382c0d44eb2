import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { PODMAN_IMAGE, runAsync, TARGET_IMAGES, type Target } from '../helpers/podman';

const images = inject('images');
const skipped = images.tdx.skipped ?? images.scone.skipped;

/** Global setup built the images in the project's store at this time. */
const SOURCE_DATE_EPOCH = inject('sourceDateEpoch');
/**
 * Store B, made from nothing: its own stand-in bases (mmdebstrap again) and its own builds,
 * minutes after global setup's. tools/image/verify-image.sh rebuilds there.
 */
const storeB = mkdtempSync(join(tmpdir(), 'store-b-'));
const inStoreA = (args: string[]) => runAsync('bash', [PODMAN_IMAGE, ...args]);
const inStoreB = (args: string[]) => runAsync('bash', [PODMAN_IMAGE, ...args], { PODMAN_IMAGE_STORE: storeB });

/**
 * A clone of this repository holding two commits: the working tree as it is (what global setup
 * built), then the same with one byte of a message in src/ changed. The tests' own repository
 * is left alone.
 */
const clone = mkdtempSync(join(tmpdir(), 'clone-'));
const commits = { same: '', changed: '' };
beforeAll(() => {
  const git = (...args: string[]) => execFileSync('git', ['-C', clone, '-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { encoding: 'utf8' }).trim();
  execFileSync('git', ['clone', '--quiet', ROOT, clone]);
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    cpSync(join(ROOT, file), join(clone, file));
  }
  git('add', '--all');
  git('commit', '--quiet', '--allow-empty', '--message', 'the working tree');
  commits.same = git('rev-parse', 'HEAD');
  const source = join(clone, 'src', 'iexec', 'secret.ts');
  const text = readFileSync(source, 'utf8');
  expect(text).toContain('(push it with');
  writeFileSync(source, text.replace('(push it with', '(Push it with'));
  git('commit', '--quiet', '--all', '--message', 'one byte changed');
  commits.changed = git('rev-parse', 'HEAD');
});

afterAll(async () => {
  await inStoreB(['podman', 'system', 'reset', '--force']);
});

/** The project's image of a target, saved from store A to an archive that podman can pull. */
async function published(target: Target): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'published-')), `${target}.tar`);
  const save = await inStoreA(['podman', 'save', '--quiet', '--format', 'oci-archive', '-o', file, TARGET_IMAGES[target]]);
  expect(save.code, save.stderr).toBe(0);
  return `oci-archive:${file}`;
}

const verify = (image: string, commit: string, target: Target) =>
  runAsync('bash', [join(clone, 'tools', 'image', 'verify-image.sh'), image, commit, target], { PODMAN_IMAGE_STORE: storeB, SOURCE_DATE_EPOCH });

/** sha256 of files of an image, computed by its own node (the TDX image has no shell). */
async function sha256s(store: typeof inStoreA, image: string, files: string[]): Promise<string[]> {
  const script = `for (const f of ${JSON.stringify(files)}) console.log(require('crypto').createHash('sha256').update(require('fs').readFileSync(f)).digest('hex'))`;
  const run = await store(['podman', 'run', '--rm', '--network', 'none', '--entrypoint', JSON.stringify(['node', '-e', script]), image]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim().split('\n');
}

describe.skipIf(skipped)(`two builds of one commit, in separate stores at different times${skipped ? ` (SKIPPED: ${skipped})` : ''}`, () => {
  it('the TDX image: the same image id and app.js, which tools/image/verify-image.sh confirms', async () => {
    const image = await published('tdx');
    const run = await verify(image, commits.same, 'tdx');
    expect(run.stdout).toBe(`same: ${image} is ${commits.same}'s tdx image (id sha256:${images.tdx.value})\n`);
    expect(run.code).toBe(0);
    expect(await sha256s(inStoreB, TARGET_IMAGES.tdx, ['/app/app.js'])).toEqual(await sha256s(inStoreA, TARGET_IMAGES.tdx, ['/app/app.js']));
  }, 600_000);

  it('a one-byte change in src/ changes the image and app.js, and tools/image/verify-image.sh names the layer and the file', async () => {
    const image = await published('tdx');
    const run = await verify(image, commits.changed, 'tdx');
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^different: ${image} \\(id sha256:${images.tdx.value}\\) is not ${commits.changed}'s tdx image \\(id sha256:[0-9a-f]{64}\\)$`));
    expect(lines[1]).toMatch(/^ {2}first different layer: #\d+ \(published sha256:[0-9a-f]{64}, rebuilt sha256:[0-9a-f]{64}\)$/);
    expect(lines.slice(2).filter(Boolean)).toEqual(['  file differs: /app/app.js']);
    expect(await sha256s(inStoreB, TARGET_IMAGES.tdx, ['/app/app.js'])).not.toEqual(await sha256s(inStoreA, TARGET_IMAGES.tdx, ['/app/app.js']));
  }, 600_000);

  it('the SCONE native image: the same image id, so the same files for sconify to measure (node, app.js)', async () => {
    const files = ['/usr/local/bin/node', '/app/app.js'];
    const image = await published('scone');
    const run = await verify(image, commits.same, 'scone');
    expect(run.stdout).toBe(`same: ${image} is ${commits.same}'s scone image (id sha256:${images.scone.value})\n`);
    expect(await sha256s(inStoreB, TARGET_IMAGES.scone, files)).toEqual(await sha256s(inStoreA, TARGET_IMAGES.scone, files));
  }, 600_000);
});
