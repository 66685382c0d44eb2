import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { APP_IMAGE, PODMAN_IMAGE, podmanImage, runAsync, SCONE_NATIVE_IMAGE } from '../helpers/podman';

const image = inject('images').scone;
const SCONIFY_IMAGE = 'registry.scontain.com/scone-production/iexec-sconify-image:';

/**
 * `docker` for sconify.sh: podman on the project's store, for real, except what cannot exist
 * here (SCONE's registry and SGX), which is STUBBED:
 * - `image inspect` and `pull` of the sconify image succeed;
 * - running the sconify image (`sconify_iexec --from=X --to=Y`) tags X as Y instead;
 * - `run --rm -e SCONE_HASH=1 Y` prints Y's image id where a sconified image prints its MRENCLAVE.
 * Each call is logged, one line, arguments separated by |.
 */
const DOCKER_SHIM = `#!/usr/bin/env bash
set -euo pipefail
printf '%s|' "$@" >>"$DOCKER_LOG"; echo >>"$DOCKER_LOG"
sconify_image='${SCONIFY_IMAGE}'
if [[ "$1 \${2:-}" == "image inspect" && "\${3:-}" == "$sconify_image"* || "$1" == pull && "\${2:-}" == "$sconify_image"* ]]; then
  exit 0
fi
if [[ "$1" == run && " $* " == *" $sconify_image"* ]]; then
  for arg in "$@"; do
    case "$arg" in --from=*) from="\${arg#--from=}" ;; --to=*) to="\${arg#--to=}" ;; esac
  done
  exec "$PODMAN_IMAGE" podman tag "$from" "$to"
fi
if [[ "$*" == "run --rm -e SCONE_HASH=1 "* ]]; then
  exec "$PODMAN_IMAGE" podman image inspect --format '{{.Id}}' "$5"
fi
exec "$PODMAN_IMAGE" podman "$@"
`;

const made: string[] = [];
afterAll(async () => {
  // Untag what the runs produced; the image itself stays for the next run's cache.
  if (made.length > 0) await podmanImage(['podman', 'rmi', '--ignore', ...made]);
});

/** sconify.sh with its files in a fresh folder (never the repository's iexec.json), the shim first on PATH. */
async function sconify(args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'sconify-podman-'));
  for (const file of ['sconify.sh', 'tee.env', 'image.env', 'package.json', 'deploy/scone-debug/iexec.json', 'deploy/scone-production/iexec.json']) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'docker'), DOCKER_SHIM);
  chmodSync(join(dir, 'bin', 'docker'), 0o755);
  const log = join(dir, 'docker.log');
  writeFileSync(log, '');
  const run = await runAsync(join(dir, 'sconify.sh'), args, { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, DOCKER_LOG: log, PODMAN_IMAGE });
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => line.split('|').slice(0, -1));
  return { ...run, calls };
}

const exists = async (name: string) => (await podmanImage(['podman', 'image', 'exists', name])).code === 0;
const imageId = async (name: string) => (await podmanImage(['podman', 'image', 'inspect', '--format', '{{.Id}}', name])).stdout.trim();

describe.skipIf(image.skipped)(`sconify.sh on the podman-built image of Dockerfile.scone (the sconify container stubbed)${image.skipped ? ` (SKIPPED: ${image.skipped})` : ''}`, () => {
  it(`finds ${SCONE_NATIVE_IMAGE} (its default --from), produces the debug tag and prints its fingerprint`, async () => {
    const debugTag = `${APP_IMAGE}-scone-debug-5.9.1-v16`;
    made.push(debugTag);
    const run = await sconify([]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.calls[0]).toEqual(['image', 'inspect', SCONE_NATIVE_IMAGE]);
    expect(await exists(debugTag)).toBe(true);
    const id = await imageId(SCONE_NATIVE_IMAGE);
    expect(id).toBe(image.value);
    expect(await imageId(debugTag)).toBe(id);
    expect(run.stdout).toContain('DEBUG enclave');
    expect(run.stdout).toContain(`image:       ${debugTag} (debug)`);
    expect(run.stdout).toContain(`fingerprint: ${id}`);
    expect(run.calls.find((c) => c.includes('sconify_iexec'))!.join(' ')).not.toContain('scone-signer');
  });

  it('produces the production tag with the key mounted read-only into the sconify run only', async () => {
    const key = join(mkdtempSync(join(tmpdir(), 'key-')), 'enclave-key.pem');
    execFileSync('openssl', ['genrsa', '-3', '-out', key, '3072'], { stdio: 'ignore' });
    const productionTag = `${APP_IMAGE}-sconify-5.9.1-v16-production`;
    made.push(productionTag);
    const run = await sconify(['--signer-key', key]);
    expect(run.code).toBe(0);
    expect(await exists(productionTag)).toBe(true);
    expect(run.stdout).toContain('PRODUCTION enclave');
    expect(run.stdout).toContain(`fingerprint: ${await imageId(productionTag)}`);
    const withKey = run.calls.filter((c) => c.some((a) => a.includes(key)));
    expect(withKey).toHaveLength(1);
    expect(withKey[0]).toEqual(expect.arrayContaining([`${key}:/sig/enclave-key.pem:ro`, '--scone-signer=/sig/enclave-key.pem']));
  });

  it('says to build the source image when podman does not have it, and tags nothing', async () => {
    const missing = `${SCONE_NATIVE_IMAGE}-not-built`;
    const run = await sconify(['--from', missing]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`sconify.sh: source image '${missing}' not found: build it first (docker build -f Dockerfile.scone -t ${missing} .)\n`);
    expect(run.calls).toEqual([['image', 'inspect', missing]]);
    expect(await exists(`${missing}-scone-debug-5.9.1-v16`)).toBe(false);
  });
});
