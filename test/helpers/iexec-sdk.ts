import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Generation } from './targets';

/**
 * iExec's own SDK (npm iexec@8 and iexec@9, installed side by side as iexec-v8 and iexec-v9),
 * used the way its CLI uses it. The rules live in modules the package does not export (the app
 * schema, the chain.json loader, the tag to TEE framework mapping), so they are imported from
 * the installed files: a test fails when an SDK update moves or changes them. Nothing here
 * touches the network (loading a chain only builds a provider object).
 */

/** dist/esm of an installed SDK generation. */
function sdkRoot(generation: Generation): string {
  const entry = createRequire(import.meta.url).resolve(`iexec-${generation}`); // dist/esm/lib/index.js
  return dirname(dirname(entry));
}

const load = (generation: Generation, file: string) => import(pathToFileURL(join(sdkRoot(generation), file)).href);

interface Chain {
  id: number;
  name: string;
  sms?: unknown;
}

export interface Sdk {
  generation: Generation;
  /** iexec.json's app as `iexec app deploy` validates it. */
  validateApp(app: unknown): Promise<unknown>;
  /** A --tag value as `iexec app run` validates it; the bytes32 tag. */
  validateTag(tag: string): Promise<string>;
  encodeTag(tags: string[]): string;
  /** chain.json of a folder, as the CLI run in that folder loads it (--chain optional). */
  loadChain(folder: string, chainName?: string): Promise<Chain>;
  /** The SMS `iexec app run --tag <tag>` sends the task's secrets request to. */
  runSms(chain: Chain, tag: string): Promise<string>;
  /** The SMS `iexec app push-secret` and `check-secret` use (SDK 8: for --tee-framework, else chain.json's default framework). */
  secretSms(chain: Chain, teeFramework?: string): string;
}

export async function loadSdk(generation: Generation): Promise<Sdk> {
  const [validator, utils, chains, helper, orderHelper] = await Promise.all(
    ['common/utils/validator.js', 'common/utils/utils.js', 'cli/utils/chains.js', 'cli/utils/cli-helper.js', 'common/execution/order-helper.js'].map((file) =>
      load(generation, file),
    ),
  );
  const silent = { info() {}, start() {}, succeed() {}, fail() {}, stop() {}, warn() {} };
  return {
    generation,
    validateApp: (app) => validator.appSchema().validate(app),
    validateTag: (tag) => validator.tagSchema().validate(tag),
    encodeTag: (tags) => utils.encodeTag(tags),
    async loadChain(folder, chainName) {
      // The CLI reads chain.json from the folder it runs in: so does this (vitest runs each file in its own process).
      const previous = process.cwd();
      process.chdir(folder);
      try {
        return await chains.loadChain(chainName, { spinner: silent });
      } finally {
        process.chdir(previous);
      }
    },
    async runSms(chain, tag) {
      if (generation === 'v9') return helper.getPropertyFromChain(chain, 'sms');
      const teeFramework = await orderHelper.resolveTeeFrameworkFromTag(await validator.tagSchema().validate(tag));
      return helper.getSmsUrlFromChain(chain, { teeFramework });
    },
    secretSms(chain, teeFramework) {
      if (generation === 'v9') return helper.getPropertyFromChain(chain, 'sms');
      return helper.getSmsUrlFromChain(chain, { teeFramework });
    },
  };
}

export interface CliCommand {
  name: string;
  options: { flags: string }[];
}

/**
 * The subcommands of `iexec <group>` and their options, from the CLI's own commander
 * definitions: GENERATE_DOC is the SDK's hook for generating its CLI documentation.
 */
export async function cliCommands(generation: Generation, group: string): Promise<CliCommand[]> {
  const script = join(sdkRoot(generation), 'cli', 'cmd', `iexec-${group}.js`);
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, GENERATE_DOC: '1' } });
  return (JSON.parse(stdout) as { subCommands: CliCommand[] }).subCommands;
}
