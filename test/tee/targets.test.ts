import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { loadSdk, type Sdk } from '../helpers/iexec-sdk';
import { TARGETS, targetDir, targetJson, type Generation } from '../helpers/targets';
import { sizeInBytes, teeEnv } from '../helpers/tee';

// Each SDK generation is imported once for the whole file (about a second each).
const sdks = {} as Record<Generation, Sdk>;
beforeAll(async () => {
  [sdks.v8, sdks.v9] = await Promise.all([loadSdk('v8'), loadSdk('v9')]);
});

describe.each(Object.entries(TARGETS))('deploy/%s', (name, target) => {
  const sdk = () => sdks[target.sdk];
  const networks = Object.entries(target.networks);

  it(`holds an iexec.json that iexec@${target.sdk.slice(1)} accepts as an app`, async () => {
    const { app } = targetJson(name, 'iexec.json');
    await expect(sdk().validateApp(app)).resolves.toBeDefined();
    expect(app).toMatchObject({ type: 'DOCKER' });
  });

  it("names the app as package.json does (its name and version, the one place they are set)", () => {
    const { name: appName, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
    const { app } = targetJson(name, 'iexec.json') as { app: { name: string; multiaddr: string } };
    expect(app.name, `deploy/${name}/iexec.json: app.name must be package.json's name`).toBe(appName);
    expect(app.multiaddr, `deploy/${name}/iexec.json: app.multiaddr must name the image <registry>/<user>/${appName}:${version}…`).toMatch(
      new RegExp(`/${appName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${version.replace(/\./g, '\\.')}(-|$)`),
    );
  });

  it('defaults to its first network', () => {
    expect(targetJson(name, 'chain.json').default).toBe(networks[0]![0]);
  });

  it.each(networks)('chain.json resolves %s to the SMS of its pool, for runs and for the secret', async (network, { sms }) => {
    const chain = await sdk().loadChain(targetDir(name), network);
    expect(chain.name).toBe(network);
    expect(await sdk().runSms(chain, target.tag)).toBe(sms);
    // The secret commands: SDK 8 with the README's --tee-framework, and without it (chain.json's default framework).
    expect(sdk().secretSms(chain, target.framework === 'tdx' ? undefined : target.framework)).toBe(sms);
    expect(sdk().secretSms(chain)).toBe(sms);
  });

  it('runs with a tag its SDK accepts, encoded by the SDK', async () => {
    expect(await sdk().validateTag(target.tag)).toBe(sdk().encodeTag(target.tag.split(',')));
  });
});

describe('deploy/tdx (SDK 9)', () => {
  it('has no mrenclave: the SMS identifies a TDX app by its image checksum', () => {
    expect(Object.keys(targetJson('tdx', 'iexec.json').app).sort()).toEqual(['checksum', 'multiaddr', 'name', 'owner', 'type']);
  });

  it.each(['scone-debug', 'gramine'])('SDK 9 refuses an app with an mrenclave (%s)', async (name) => {
    await expect(sdks.v9.validateApp(targetJson(name, 'iexec.json').app)).rejects.toThrow('mrenclave is not a valid mrenclave');
  });

  it.each(['tee,scone', 'tee,gramine'])('SDK 9 refuses the legacy tag %s', async (tag) => {
    await expect(sdks.v9.validateTag(tag)).rejects.toThrow(/Unsupported legacy TEE framework tag/);
  });

  it('SDK 9 knows no bellecour', async () => {
    await expect(sdks.v9.loadChain(targetDir('scone-production'))).rejects.toThrow('no default value for chain');
  });
});

describe.each(['scone-debug', 'scone-production'])('deploy/%s mrenclave', (name) => {
  const { mrenclave } = targetJson(name, 'iexec.json').app;

  it("agrees with tee.env: the entrypoint and the heap size in bytes (sconify's --heap)", () => {
    const tee = teeEnv();
    expect(mrenclave).toMatchObject({ framework: 'SCONE', entrypoint: tee.APP_ENTRYPOINT, heapSize: sizeInBytes(tee.SCONE_HEAP) });
  });

  it('names the SCONE version of the default sconify image', () => {
    const version = /SCONIFY_VERSION:-(\d+\.\d+)\.\d+-v\d+/.exec(readFileSync(join(ROOT, 'sconify.sh'), 'utf8'))![1];
    expect(mrenclave.version).toBe(`v${version}`);
  });
});

describe('deploy/gramine mrenclave', () => {
  it('is a Gramine one, which SDK 8 refuses with SCONE-only keys', async () => {
    const { app } = targetJson('gramine', 'iexec.json');
    expect(app.mrenclave).toMatchObject({ framework: 'GRAMINE', version: 'v0' });
    const withHeap = { ...app, mrenclave: { ...app.mrenclave, heapSize: 1 } };
    await expect(sdks.v8.validateApp(withHeap)).rejects.toThrow('Unknown key "heapSize" in mrenclave');
  });
});

describe('drift', () => {
  it('a SCONE debug chain.json without the debug SMS resolves to the production SMS, and the test would say so', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'target-'));
    cpSync(targetDir('scone-debug'), folder, { recursive: true });
    writeFileSync(join(folder, 'chain.json'), JSON.stringify({ default: 'bellecour', chains: { bellecour: {} } }));
    const chain = await sdks.v8.loadChain(folder);
    expect(await sdks.v8.runSms(chain, TARGETS['scone-debug']!.tag)).not.toBe(TARGETS['scone-debug']!.networks.bellecour!.sms);
  });

  it('the repository root holds no iexec.json or chain.json: each target has its own folder', () => {
    for (const file of ['iexec.json', 'chain.json']) expect(existsSync(join(ROOT, file)), file).toBe(false);
  });
});
