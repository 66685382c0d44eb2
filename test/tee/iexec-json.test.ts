import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { sizeInBytes, teeEnv } from '../helpers/tee';

const readJson = (file: string) => JSON.parse(readFileSync(join(ROOT, file), 'utf8'));

/** The iExec SDK v8 rules for app.mrenclave, as the reference states them; returns what breaks them. */
export function mrenclaveProblems(mrenclave: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const fingerprint = /^[0-9a-fA-F]{64}$/;
  if (typeof mrenclave.fingerprint !== 'string' || !fingerprint.test(mrenclave.fingerprint)) problems.push('fingerprint: 64 hex, no 0x');
  if (mrenclave.framework === 'SCONE') {
    if (typeof mrenclave.version !== 'string' || !/^v\d+\.\d+$/.test(mrenclave.version)) problems.push('version: like v5.9');
    if (typeof mrenclave.entrypoint !== 'string' || mrenclave.entrypoint === '') problems.push('entrypoint: required');
    if (!Number.isSafeInteger(mrenclave.heapSize) || (mrenclave.heapSize as number) <= 0) problems.push('heapSize: bytes');
  } else if (mrenclave.framework === 'GRAMINE') {
    if (mrenclave.version !== 'v0') problems.push('version: v0');
    for (const key of ['entrypoint', 'heapSize']) if (key in mrenclave) problems.push(`${key}: not for Gramine`);
  } else {
    problems.push('framework: SCONE or GRAMINE');
  }
  return problems;
}

describe('iexec.json', () => {
  const app = readJson('iexec.json').app;

  it('declares a Docker app with an image checksum and an owner', () => {
    expect(app).toMatchObject({ type: 'DOCKER', name: expect.any(String) });
    expect(app.owner).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(app.checksum).toMatch(/^0x[0-9a-f]{64}$/);
    expect(app.multiaddr).toMatch(/^docker\.io\/[^/]+\/[^:]+:.+/);
  });

  it('has a SCONE mrenclave valid for the SDK v8 rules', () => {
    expect(app.mrenclave.framework).toBe('SCONE');
    expect(mrenclaveProblems(app.mrenclave)).toEqual([]);
  });

  it('agrees with tee.env: the entrypoint and the heap size in bytes (sconify --heap)', () => {
    const tee = teeEnv();
    expect(app.mrenclave.entrypoint).toBe(tee.APP_ENTRYPOINT);
    expect(app.mrenclave.heapSize).toBe(sizeInBytes(tee.SCONE_HEAP));
  });

  it('names the SCONE version of the default sconify image', () => {
    const script = readFileSync(join(ROOT, 'sconify.sh'), 'utf8');
    const version = /SCONIFY_VERSION:-(\d+\.\d+)\.\d+-v\d+/.exec(script)![1];
    expect(app.mrenclave.version).toBe(`v${version}`);
  });
});

describe('the Gramine variant shown in the README', () => {
  it('is valid for the SDK v8 rules', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /<!-- gramine-mrenclave -->\s*```json\n([\s\S]*?)```/.exec(readme);
    expect(block, 'README has the Gramine mrenclave block').not.toBeNull();
    const mrenclave = JSON.parse(block![1]!).mrenclave;
    expect(mrenclave.framework).toBe('GRAMINE');
    expect(mrenclaveProblems(mrenclave)).toEqual([]);
  });

  it('the rules refuse what the SDK refuses', () => {
    expect(mrenclaveProblems({ framework: 'GRAMINE', version: 'v0', fingerprint: 'ab'.repeat(32), heapSize: 1 })).toEqual(['heapSize: not for Gramine']);
    expect(mrenclaveProblems({ framework: 'SCONE', version: 'v5.9', entrypoint: 'x', heapSize: 1, fingerprint: `0x${'ab'.repeat(31)}` })).toEqual(['fingerprint: 64 hex, no 0x']);
  });
});

describe('chain.json', () => {
  it('targets bellecour by default', () => {
    expect(readJson('chain.json')).toEqual({ default: 'bellecour', chains: { bellecour: {} } });
  });
});
