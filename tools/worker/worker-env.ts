/**
 * The task folders and environment an iExec worker gives the app: the one model of the worker,
 * used by npm run local, the tests, the image runs, the benchmarks and the code-cache build.
 * Each rule names the iExec source it is read from (GitHub, iExecBlockchainComputing/<repo>).
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BagPlace } from '../../src/iexec/bot';

/**
 * The workers that run an app today:
 * - `v9-tdx`: SDK 9 on Arbitrum, Intel TDX: iexec-worker after 9.2.0 (TDX support, 579a7db9) and
 *   SMS 9.3, whose session's app environment the worker passes as it is (TeeTdxService);
 * - `v8-tee`: SDK 8 on bellecour, SCONE or Gramine, the SMS 8.x session (iexec-common 8.6);
 * - `v8-standard`: SDK 8 on bellecour, no TEE: the worker's own variables, no secret at all.
 */
export const GENERATIONS = ['v9-tdx', 'v8-tee', 'v8-standard'] as const;
export type Generation = (typeof GENERATIONS)[number];

/** What a deal has no dataset, or no callback, points at. */
export const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;
const address = () => `0x${randomBytes(20).toString('hex')}`;
/** EIP-55 mixed case: each letter upper case where the Keccak-256 of the lower-case hex has a nibble >= 8. */
function checksummed(lowerCase: string): string {
  const digits = lowerCase.slice(2);
  const hash = Buffer.from(keccak_256(Buffer.from(digits))).toString('hex');
  return `0x${[...digits].map((c, i) => (parseInt(hash.charAt(i), 16) >= 8 ? c.toUpperCase() : c)).join('')}`;
}
const bytes32 = () => `0x${randomBytes(32).toString('hex')}`;

export interface TaskFiles {
  /** The worker generation; `v9-tdx` unless given. */
  generation?: Generation;
  /** Files the requester gives with --input-files, copied in as a worker names them. */
  inputFiles?: string[];
  /** The dataset's file (the pre-compute decrypts it into IEXEC_IN). */
  dataset?: string | undefined;
  /** The datasets of a bulk request (SDK 9 prepareDatasetBulk), each decrypted into IEXEC_IN. */
  bulk?: string[];
  /** IEXEC_REQUESTER_SECRET_<n> values (TEE tasks only). */
  requesterSecrets?: ReadonlyMap<number, string>;
  /** The task's place in its bag of tasks: `size` tasks from `firstIndex`; this is `index`. */
  bot?: BagPlace;
}

/**
 * A recent worker names an input file after its URL (iexec-common FileHashUtils.createFileNameFromUri:
 * HashUtils.sha256 of the URL string, `0x` + hex).
 */
export const inputFileName = (url: string): string => `0x${createHash('sha256').update(url).digest('hex')}`;

/**
 * Fills `input` as a worker would and returns the variables the app gets (and PATH). `out` and
 * `input` are the folders as the app sees them: /iexec_out and /iexec_in inside an image.
 */
export function workerVariables(
  folders: { input: string; out: string; hostInput?: string },
  secret: string | undefined,
  { generation = 'v9-tdx', inputFiles = [], dataset, bulk = [], requesterSecrets = new Map(), bot = { size: 1, firstIndex: 0, index: 0 } }: TaskFiles = {},
): NodeJS.ProcessEnv {
  if (bulk.length > 0 && generation !== 'v9-tdx') throw new Error('bulk processing needs SMS 9.2+ (v9-tdx)');
  const hostInput = folders.hostInput ?? folders.input;
  const deliver = (file: string, name: string) => (copyFileSync(file, join(hostInput, name)), name);
  // iexec-commons-poco TaskDescription: datasetAddress is the deal's dataset pointer, address(0) without one.
  const datasetAddress = dataset === undefined ? ZERO_ADDRESS : deliver(dataset, address());
  const names = inputFiles.map((file) => deliver(file, inputFileName(`file://${resolve(file)}`)));

  // iexec-common IexecEnvUtils.getComputeStageEnvMap: the worker's map for a standard task, and the
  // SMS's for a TEE session (iexec-sms SecretSessionBaseService.getAppTokens).
  const variables: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    IEXEC_TASK_ID: bytes32(),
    IEXEC_IN: folders.input,
    IEXEC_OUT: folders.out,
    IEXEC_BOT_SIZE: String(bot.size),
    IEXEC_BOT_FIRST_INDEX: String(bot.firstIndex),
    IEXEC_BOT_TASK_INDEX: String(bot.index),
    // Both set to the address, zero address included (since iexec-common 8.2; before, the file name was the dataset's name).
    IEXEC_DATASET_ADDRESS: datasetAddress,
    IEXEC_DATASET_FILENAME: datasetAddress,
    IEXEC_INPUT_FILES_NUMBER: String(names.length),
  };
  // The folder and the names only when the task has input files (since iexec-common 8.6, which worker 8.6, the last of SDK 8, uses).
  if (names.length > 0) variables.IEXEC_INPUT_FILES_FOLDER = folders.input;
  names.forEach((name, i) => (variables[`IEXEC_INPUT_FILE_NAME_${i + 1}`] = name));
  // iexec-common 9.2 (#496, #498), which worker and SMS 9.2 use.
  if (generation === 'v9-tdx') Object.assign(variables, { IEXEC_DEAL_ID: bytes32(), IEXEC_TASK_INDEX: String(bot.index) });
  if (generation === 'v8-standard') return variables;

  // The SMS (getApplicationComputeSecrets): the developer secret twice, only when one was pushed;
  // each requester secret as IEXEC_REQUESTER_SECRET_<n>, n the deal's positive key.
  if (secret !== undefined) Object.assign(variables, { IEXEC_APP_DEVELOPER_SECRET: secret, IEXEC_APP_DEVELOPER_SECRET_1: secret });
  for (const [index, value] of requesterSecrets) variables[`IEXEC_REQUESTER_SECRET_${index}`] = value;
  // Bulk (getAppTokens, isBulkRequest; SMS 9.2+, commit e2a758de): the slice's size and each
  // dataset's address as the dataset order holds it, EIP-55 mixed case when the SDK made the slice
  // (iexec-sdk prepareDatasetBulk validates orders with addressSchema, toChecksumAddress); it names
  // the file under IEXEC_IN. The task's own dataset stays the zero address. No variable when not bulk.
  if (bulk.length > 0) {
    variables.IEXEC_BULK_SLICE_SIZE = String(bulk.length);
    bulk.forEach((file, i) => (variables[`IEXEC_DATASET_${i + 1}_FILENAME`] = deliver(file, checksummed(address()))));
  }
  return variables;
}

/** Fresh iexec_in and iexec_out folders under `root`. */
export function taskFolders(root: string): { input: string; out: string } {
  const [input, out] = [join(root, 'iexec_in'), join(root, 'iexec_out')];
  for (const dir of [input, out]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { input, out };
}
