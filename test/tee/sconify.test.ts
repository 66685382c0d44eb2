import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { loadSdk } from '../helpers/iexec-sdk';

const FINGERPRINT = 'ab'.repeat(32);

/**
 * A `docker` that records each call (one line, arguments separated by |) and answers as the
 * real one would for what sconify.sh asks; STUB_* variables make it fail in chosen ways.
 */
const STUB_DOCKER = `#!/usr/bin/env bash
printf '%s|' "$@" >> "$DOCKER_LOG"; echo >> "$DOCKER_LOG"
case "$1 $2" in
  "image inspect")
    if [[ "$3" == *iexec-sconify-image* ]]; then exit "\${STUB_NO_SCONIFY_IMAGE:-0}"; fi
    exit "\${STUB_NO_SOURCE_IMAGE:-0}" ;;
  "pull "*) [[ -z "\${STUB_PULL_FAILS:-}" ]] || { echo "unauthorized: authentication required" >&2; exit 1; } ;;
esac
if [[ "$1" == run && " $* " == *" SCONE_HASH=1 "* ]]; then echo "${FINGERPRINT}"; fi
exit 0
`;

let keys: Record<'good' | 'short' | 'e65537', string>;
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-'));
  const make = (name: string, exponent: string[], bits: string) => {
    execFileSync('openssl', ['genrsa', ...exponent, '-out', join(dir, name), bits], { stdio: 'ignore' });
    return join(dir, name);
  };
  // As the README says to make one: openssl genrsa -3 -out enclave-key.pem 3072
  keys = { good: make('good.pem', ['-3'], '3072'), short: make('short.pem', ['-3'], '2048'), e65537: make('e65537.pem', [], '3072') };
}, 120_000);

const SCONE_TARGETS = ['deploy/scone-debug/iexec.json', 'deploy/scone-production/iexec.json'];

/** sconify.sh copied with tee.env and the SCONE targets' iexec.json into a fresh folder, run with the stub docker. */
function sconify(args: string[], env: Record<string, string> = {}, { withDocker = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sconify-'));
  for (const file of ['sconify.sh', 'tee.env', 'image.env', 'package.json', ...SCONE_TARGETS]) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  const bin = join(dir, 'bin');
  execFileSync('mkdir', [bin]);
  if (withDocker) {
    writeFileSync(join(bin, 'docker'), STUB_DOCKER);
    chmodSync(join(bin, 'docker'), 0o755);
  }
  const log = join(dir, 'docker.log');
  // PATH: the stub first, then only what the script needs (bash, openssl, node, coreutils).
  const path = [bin, '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  const run = spawnSync(join(dir, 'sconify.sh'), args, {
    env: { PATH: withDocker ? path : [bin, ...onlyWithout('docker')].join(':'), DOCKER_LOG: log, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split('|').slice(0, -1)) : [];
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, calls, dir };
}

/** System folders holding bash, openssl and node, but not docker (this machine has a client). */
function onlyWithout(command: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'path-'));
  for (const tool of ['bash', 'openssl', 'node', 'dirname', 'basename', 'grep', 'tr', 'tail', 'cat']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found && tool !== command) execFileSync('ln', ['-s', found, join(dir, tool)]);
  }
  return [dir];
}

const sconifyRun = (calls: string[][]) => calls.find((c) => c[0] === 'run' && c.includes('sconify_iexec'));

describe('sconify.sh', () => {
  it('builds a debug enclave by default: no signer, a debug tag, and says so', () => {
    const { code, stdout, calls } = sconify([]);
    expect(code).toBe(0);
    const run = sconifyRun(calls)!;
    expect(run).toEqual([
      'run', '--rm', '-v', '/var/run/docker.sock:/var/run/docker.sock',
      'registry.scontain.com/scone-production/iexec-sconify-image:5.9.1-v16',
      'sconify_iexec', '--from=iexec-counter-app:1.0.0-scone-native', '--to=iexec-counter-app:1.0.0-scone-debug-5.9.1-v16',
      '--binary-fs', '--fs-dir=/app', '--host-path=/etc/hosts', '--host-path=/etc/resolv.conf',
      '--binary=/usr/local/bin/node', '--heap=1G', '--dlopen=1', '--no-color', '--verbose',
    ]);
    expect(run.join(' ')).not.toContain('scone-signer');
    expect(stdout).toContain('DEBUG enclave');
    expect(stdout).toContain('for debug workerpools only');
    expect(stdout).toContain(`fingerprint: ${FINGERPRINT}`);
    expect(stdout).toContain('heapSize:    1073741824 (1G)');
  });

  it('never asks for a terminal (works in CI)', () => {
    const { calls } = sconify([]);
    for (const call of calls) expect(call.filter((a) => /^-(it|ti|t|i)$/.test(a))).toEqual([]);
  });

  it('signs a production enclave with the key mounted read-only, never built into an image', () => {
    const { code, stdout, calls } = sconify(['--signer-key', keys.good]);
    expect(code).toBe(0);
    const run = sconifyRun(calls)!;
    expect(run).toContain(`${keys.good}:/sig/enclave-key.pem:ro`);
    expect(run[run.indexOf(`${keys.good}:/sig/enclave-key.pem:ro`) - 1]).toBe('-v');
    expect(run).toContain('--scone-signer=/sig/enclave-key.pem');
    expect(run).toContain('--to=iexec-counter-app:1.0.0-sconify-5.9.1-v16-production');
    expect(stdout).toContain('PRODUCTION enclave');
  });

  it('takes its inputs from the environment too', () => {
    const { calls } = sconify([], { FROM_IMAGE: 'me/app:2.0.0', SCONE_HEAP: '512M', SCONE_SIGNER_KEY: keys.good, SCONIFY_VERSION: '5.9.2-v16' });
    const run = sconifyRun(calls)!;
    expect(run).toEqual(expect.arrayContaining(['--from=me/app:2.0.0', '--heap=512M', '--scone-signer=/sig/enclave-key.pem']));
    expect(run).toContain('registry.scontain.com/scone-production/iexec-sconify-image:5.9.2-v16');
  });

  it.each([
    ['missing', () => '/nonexistent/enclave-key.pem', 'signer key not found'],
    ['2048 bits', () => keys.short, 'must be RSA 3072 bits'],
    ['exponent 65537', () => keys.e65537, 'must have public exponent 3'],
    ['not a key', () => join(ROOT, 'tee.env'), 'not an RSA private key'],
  ])('refuses a %s key before docker is called', (_, key, message) => {
    const { code, stderr, calls } = sconify(['--signer-key', key()]);
    expect(code).toBe(1);
    expect(stderr).toContain(message);
    expect(calls).toEqual([]);
  });

  it('refuses a production tag without a key', () => {
    const { code, stderr, calls } = sconify(['--to', 'me/app:1.0.0-production']);
    expect(code).toBe(1);
    expect(stderr).toContain('says production but no signer key was given');
    expect(calls).toEqual([]);
  });

  it('says plainly when docker is missing', () => {
    const { code, stderr } = sconify([], {}, { withDocker: false });
    expect(code).toBe(1);
    expect(stderr).toContain('docker is not installed or not on PATH');
  });

  it('says to build the source image when it is missing', () => {
    const { code, stderr, calls } = sconify([], { STUB_NO_SOURCE_IMAGE: '1' });
    expect(code).toBe(1);
    expect(stderr).toContain("source image 'iexec-counter-app:1.0.0-scone-native' not found: build it first (docker build -f Dockerfile.scone -t iexec-counter-app:1.0.0-scone-native .)");
    expect(sconifyRun(calls)).toBeUndefined();
  });

  it('says to log in when the SCONE registry refuses the pull', () => {
    const { code, stderr, calls } = sconify([], { STUB_NO_SCONIFY_IMAGE: '1', STUB_PULL_FAILS: '1' });
    expect(code).toBe(1);
    expect(stderr).toContain('docker login registry.scontain.com');
    expect(sconifyRun(calls)).toBeUndefined();
  });

  it.each([
    ['a debug enclave', 'deploy/scone-debug/iexec.json', () => []],
    ['a production enclave', 'deploy/scone-production/iexec.json', () => ['--signer-key', keys.good]],
  ])("writes %s's mrenclave into %s only, heap in bytes, as iExec's SDK 8 accepts it", async (_, target, extra) => {
    const { code, dir, stdout } = sconify(['--heap', '512M', '--update-iexec-json', ...extra()]);
    expect(code).toBe(0);
    expect(stdout).toContain(`${target} app.mrenclave updated`);
    const app = JSON.parse(readFileSync(join(dir, target), 'utf8')).app;
    expect(app.mrenclave).toEqual({
      framework: 'SCONE',
      version: 'v5.9',
      entrypoint: 'node --disable-wasm-trap-handler --v8-pool-size=1 --disable-sigusr1 /app/app.js',
      heapSize: 512 * 1024 * 1024,
      fingerprint: FINGERPRINT,
    });
    await expect((await loadSdk('v8')).validateApp(app)).resolves.toBeDefined();
    const other = SCONE_TARGETS.find((file) => file !== target)!;
    expect(readFileSync(join(dir, other), 'utf8')).toBe(readFileSync(join(ROOT, other), 'utf8'));
  });

  it('has --help', () => {
    const { code, stdout, calls } = sconify(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: ./sconify.sh');
    expect(calls).toEqual([]);
  });
});
