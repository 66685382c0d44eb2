import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { PODMAN_IMAGE, runAsync, TARGET_IMAGES, type Target } from '../helpers/podman';

const images = inject('images');
const skipped = images.tdx.skipped ?? images.scone.skipped;

/**
 * A second store, made from nothing: its own stand-in bases (mmdebstrap again) and its own
 * builds, minutes after global setup's in the project's store. Same commit, same time stamp.
 */
const storeB = mkdtempSync(join(tmpdir(), 'store-b-'));
const SOURCE_DATE_EPOCH = execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim();

/** tools/podman-image.sh of a checkout (this one by default), on store B. */
const inStoreB = (args: string[], root = ROOT) => runAsync('bash', [join(root, 'tools', 'podman-image.sh'), ...args], { PODMAN_IMAGE_STORE: storeB, SOURCE_DATE_EPOCH });
const inStoreA = (args: string[]) => runAsync('bash', [PODMAN_IMAGE, ...args]);

async function build(target: Target, root = ROOT): Promise<string> {
  const run = await inStoreB(['build', target], root);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
}

/** sha256 of files of an image, computed by its own node (the TDX image has no shell). */
async function sha256s(store: typeof inStoreA, image: string, files: string[]): Promise<string[]> {
  const script = `for (const f of ${JSON.stringify(files)}) console.log(require('crypto').createHash('sha256').update(require('fs').readFileSync(f)).digest('hex'))`;
  const run = await store(['podman', 'run', '--rm', '--network', 'none', '--entrypoint', JSON.stringify(['node', '-e', script]), image]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim().split('\n');
}

afterAll(async () => {
  await inStoreB(['podman', 'system', 'reset', '--force']);
});

describe.skipIf(skipped)(`two builds of one commit, in separate stores at different times${skipped ? ` (SKIPPED: ${skipped})` : ''}`, () => {
  it('the TDX image: the same image id and the same app.js; a one-byte change in src/ changes both', async () => {
    const appA = await sha256s(inStoreA, TARGET_IMAGES.tdx, ['/app/app.js']);
    expect(await build('tdx')).toBe(images.tdx.value);
    expect(await sha256s(inStoreB, TARGET_IMAGES.tdx, ['/app/app.js'])).toEqual(appA);

    // The working tree as it is, one byte of a message in src/ changed.
    const copy = mkdtempSync(join(tmpdir(), 'changed-'));
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const file of files) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(ROOT, file), join(copy, file));
    }
    const source = join(copy, 'src', 'iexec', 'secret.ts');
    const text = readFileSync(source, 'utf8');
    expect(text).toContain('(push it with');
    writeFileSync(source, text.replace('(push it with', '(Push it with'));
    const changed = await build('tdx', copy);
    expect(changed).not.toBe(images.tdx.value);
    expect(await sha256s(inStoreB, TARGET_IMAGES.tdx, ['/app/app.js'])).not.toEqual(appA);
  }, 600_000);

  it('the SCONE native image: the same image id, so the same files for sconify to measure (node, app.js)', async () => {
    const files = ['/usr/local/bin/node', '/app/app.js'];
    const hashesA = await sha256s(inStoreA, TARGET_IMAGES.scone, files);
    expect(await build('scone')).toBe(images.scone.value);
    expect(await sha256s(inStoreB, TARGET_IMAGES.scone, files)).toEqual(hashesA);
  }, 600_000);
});
