import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/build';
import { cliCommands, loadSdk, type CliCommand, type Sdk } from '../helpers/iexec-sdk';
import { TARGETS, targetDir, targetJson, type Generation } from '../helpers/targets';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The lines of the sh block that follows `<!-- target: name -->` in the README. */
function targetBlock(name: string): string[] {
  const match = new RegExp(`<!-- target: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  expect(match, `README has a sh block marked <!-- target: ${name} -->`).not.toBeNull();
  return match![1]!.split('\n');
}

/** `iexec …` lines, comments cut, as words. */
const iexecCommands = (lines: string[]) =>
  lines.filter((line) => line.startsWith('iexec ')).map((line) => line.replace(/\s+#.*$/, '').trim().split(/\s+/));

/** --name value pairs and bare --flags of a command line. */
function options(words: string[]): Map<string, string | true> {
  const found = new Map<string, string | true>();
  words.forEach((word, i) => {
    if (!word.startsWith('--')) return;
    const next = words[i + 1];
    found.set(word, next !== undefined && !next.startsWith('--') ? next : true);
  });
  return found;
}

const sdks = {} as Record<Generation, Sdk>;
const cli = {} as Record<Generation, Record<string, CliCommand[]>>;
beforeAll(async () => {
  const groups = (generation: Generation) => [
    ...new Set(Object.entries(TARGETS).filter(([, t]) => t.sdk === generation).flatMap(([name]) => iexecCommands(targetBlock(name)).map((w) => w[1]!))),
  ];
  await Promise.all(
    (['v8', 'v9'] as const).map(async (generation) => {
      sdks[generation] = await loadSdk(generation);
      const names = groups(generation);
      const lists = await Promise.all(names.map((group) => cliCommands(generation, group)));
      cli[generation] = Object.fromEntries(names.map((group, i) => [group, lists[i]!]));
    }),
  );
}, 60_000);

describe.each(Object.entries(TARGETS))('README, target %s', (name, target) => {
  const lines = targetBlock(name);
  const commands = iexecCommands(lines);
  const chainOf = (words: string[]) => {
    const chain = options(words).get('--chain');
    return typeof chain === 'string' ? chain : targetJson(name, 'chain.json').default;
  };

  it(`installs the SDK the tests check it with (iexec@${target.sdk.slice(1)})`, () => {
    const pinned = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies[`iexec-${target.sdk}`];
    expect(lines).toContain(`npm install -g ${pinned.replace(/^npm:/, '')}`);
  });

  it('runs the iexec commands from its own folder', () => {
    const cd = lines.findIndex((line) => line === `cd deploy/${name}`);
    expect(cd).toBeGreaterThan(-1);
    expect(existsSync(targetDir(name))).toBe(true);
    expect(lines.findIndex((line) => line.startsWith('iexec '))).toBeGreaterThan(cd);
  });

  it('deploys, pushes and checks the secret, and runs, on every chain of its chain.json', () => {
    const shown = commands.map((w) => `${w[1]} ${w[2]} ${chainOf(w)}`);
    for (const network of Object.keys(target.networks)) {
      for (const command of ['app deploy', 'app push-secret', 'app check-secret', 'app run']) expect(shown).toContain(`${command} ${network}`);
    }
  });

  it("uses only commands and options that this SDK's CLI defines", () => {
    expect(commands.length).toBeGreaterThan(0);
    for (const words of commands) {
      const command = cli[target.sdk][words[1]!]?.find((c) => c.name === words[2]);
      expect(command, words.slice(0, 3).join(' ')).toBeDefined();
      const known = command!.options.flatMap((o) => o.flags.split(/[\s,]+/).filter((f) => f.startsWith('--')));
      for (const option of options(words).keys()) expect(known, `${words.join(' ')}: ${option}`).toContain(option);
    }
  });

  it('runs with its tag on the pool of each chain, whose SMS its chain.json resolves to', async () => {
    for (const words of commands.filter((w) => w[2] === 'run')) {
      const given = options(words);
      const network = target.networks[chainOf(words)]!;
      expect(given.get('--tag')).toBe(target.tag);
      expect(given.get('--workerpool')).toBe(network.pool);
      expect(given.get('--watch')).toBe(true);
      const chain = await sdks[target.sdk].loadChain(targetDir(name), chainOf(words));
      expect(await sdks[target.sdk].runSms(chain, target.tag)).toBe(network.sms);
    }
  });

  it('publishes an app order with its tag, which a requester\'s run with that tag finds', () => {
    const publish = commands.filter((w) => w[1] === 'app' && w[2] === 'publish');
    expect(publish.length).toBeGreaterThan(0);
    for (const words of publish) expect(options(words).get('--tag')).toBe(target.tag);
  });

  it('encrypts the result for the beneficiary: key pushed, run with --encrypt-result, downloaded and decrypted', () => {
    const shown = commands.map((w) => w.slice(1, 3).join(' '));
    for (const command of ['result generate-encryption-keypair', 'result push-encryption-key', 'result check-encryption-key']) expect(shown).toContain(command);
    expect(commands.some((w) => w[2] === 'run' && options(w).get('--encrypt-result') === true)).toBe(true);
    const show = commands.find((w) => w[1] === 'task' && w[2] === 'show');
    expect(show && [options(show).get('--download'), options(show).get('--decrypt')]).toEqual([true, true]);
  });

  it('pushes and checks the secret and the result encryption key on the SMS of its pool', async () => {
    const toSms = ['push-secret', 'check-secret', 'push-encryption-key', 'check-encryption-key'];
    for (const words of commands.filter((w) => toSms.includes(w[2]!))) {
      const framework = options(words).get('--tee-framework');
      // SDK 8 keeps one SMS per framework: the README names it; SDK 9 has none to name.
      expect(framework).toBe(target.sdk === 'v8' ? target.framework : undefined);
      const chain = await sdks[target.sdk].loadChain(targetDir(name), chainOf(words));
      expect(sdks[target.sdk].secretSms(chain, typeof framework === 'string' ? framework : undefined)).toBe(target.networks[chainOf(words)]!.sms);
    }
  });
});

it('every iexec command in the README belongs to a checked target block', () => {
  const blocks = [...readme.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const all = blocks.flatMap((block) => iexecCommands(block.split('\n')).map((w) => w.join(' ')));
  const checked = Object.keys(TARGETS).flatMap((name) => iexecCommands(targetBlock(name)).map((w) => w.join(' ')));
  expect(all.filter((command) => !checked.includes(command))).toEqual([]);
});
