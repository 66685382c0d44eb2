/**
 * The task folders and environment an iExec worker gives a TEE task: the one definition used by
 * npm run local, the tests and the image runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;
const bytes32 = () => `0x${randomBytes(32).toString('hex')}`;

export interface TaskFiles {
  /** Files the requester gives with --input-files, copied in as a worker names them. */
  inputFiles?: string[];
  /** The dataset's file (a worker decrypts it into IEXEC_IN). */
  dataset?: string;
  /** IEXEC_REQUESTER_SECRET_<n> values. */
  requesterSecrets?: ReadonlyMap<number, string>;
}

/** A recent worker names an input file `0x` + sha256 of its URL. */
export const inputFileName = (url: string): string => `0x${createHash('sha256').update(url).digest('hex')}`;

/**
 * Fills `input` as a worker would and returns the variables it sets (and PATH). `out` and `input`
 * are the folders as the app sees them: /iexec_out and /iexec_in inside an image.
 */
export function workerVariables(
  folders: { input: string; out: string; hostInput?: string },
  secret: string | undefined,
  { inputFiles = [], dataset, requesterSecrets = new Map() }: TaskFiles = {},
): NodeJS.ProcessEnv {
  const hostInput = folders.hostInput ?? folders.input;
  const names = inputFiles.map((file) => {
    const name = inputFileName(`file://${resolve(file)}`);
    copyFileSync(file, join(hostInput, name));
    return name;
  });
  const datasetAddress = dataset === undefined ? ZERO_ADDRESS : `0x${randomBytes(20).toString('hex')}`;
  if (dataset !== undefined) copyFileSync(dataset, join(hostInput, datasetAddress));
  const variables: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    IEXEC_IN: folders.input,
    IEXEC_OUT: folders.out,
    IEXEC_TASK_ID: bytes32(),
    IEXEC_DEAL_ID: bytes32(),
    IEXEC_TASK_INDEX: '0',
    IEXEC_BOT_SIZE: '1',
    IEXEC_BOT_FIRST_INDEX: '0',
    IEXEC_BOT_TASK_INDEX: '0',
    IEXEC_DATASET_ADDRESS: datasetAddress,
    IEXEC_DATASET_FILENAME: dataset === undefined ? '' : datasetAddress,
    IEXEC_INPUT_FILES_NUMBER: String(names.length),
  };
  // Set only when the task has input files.
  if (names.length > 0) variables.IEXEC_INPUT_FILES_FOLDER = folders.input;
  names.forEach((name, i) => (variables[`IEXEC_INPUT_FILE_NAME_${i + 1}`] = name));
  for (const [index, value] of requesterSecrets) variables[`IEXEC_REQUESTER_SECRET_${index}`] = value;
  // The secret service injects the developer secret twice; a task without one gets neither.
  if (secret !== undefined) Object.assign(variables, { IEXEC_APP_DEVELOPER_SECRET: secret, IEXEC_APP_DEVELOPER_SECRET_1: secret });
  return variables;
}

/** Fresh iexec_in and iexec_out folders under `root`. */
export function taskFolders(root: string): { input: string; out: string } {
  const [input, out] = [join(root, 'iexec_in'), join(root, 'iexec_out')];
  for (const dir of [input, out]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { input, out };
}
