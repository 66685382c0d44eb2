import { realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { taskError } from '../errors';

/** One file the requester gave (`iexec app run --input-files URL,…`), downloaded by the worker. */
export interface InputFile {
  /** 1-based, as in IEXEC_INPUT_FILE_NAME_<index>. */
  index: number;
  /** As the worker named it: `0x` + sha256 of the URL on recent workers. */
  name: string;
  path: string;
}

/** One protected data of a bulk task (IEXEC_DATASET_<index>_FILENAME), named by its address. */
export interface BulkItem {
  /** 1-based, as in the variable's name. */
  index: number;
  /** The protected data's address, as the dataset order holds it: public, on chain. */
  address: string;
  /** Its file, or undefined when the worker delivered none there (that item alone fails). */
  path: string | undefined;
}

export interface TaskInputs {
  inputFiles: InputFile[];
  /** The dataset's file, when the task has a dataset. */
  dataset: string | undefined;
  /** The protected data of a bulk task, in order; none for any other task. */
  bulk: BulkItem[];
}

const invalid = (message: string) => taskError('INPUT_INVALID', message);
// A task without a dataset still gets both dataset variables, set to the deal's dataset pointer:
// the zero address (iexec-commons-poco TaskDescription.toTaskDescription, getDataPointer();
// iexec-common IexecEnvUtils.getComputeStageEnvMap; TaskDescription.containsDataset()).
const ZERO_ADDRESS = /^0x0{40}$/i;
const COUNT = /^(0|[1-9]\d{0,3})$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
// A plain file name: no folder part, nothing that climbs out.
const PLAIN_NAME = /^(?!\.\.?$)[^/\\\0]+$/;

/**
 * The input files and the dataset, as the worker describes them in the environment. Their names
 * come from the requester (or the dataset's owner): each must be a regular file inside IEXEC_IN
 * once links are resolved, and no name or path is ever repeated in an error.
 */
export function readInputs(env: NodeJS.ProcessEnv): TaskInputs {
  const count = env.IEXEC_INPUT_FILES_NUMBER ?? '0';
  if (!COUNT.test(count)) throw invalid('IEXEC_INPUT_FILES_NUMBER is not a number of files');
  const datasetName = env.IEXEC_DATASET_FILENAME ?? '';
  const hasDataset = hasDatasetIn(env.IEXEC_DATASET_ADDRESS ?? '', datasetName);
  // Set only for a bulk task (iexec-sms SecretSessionBaseService.getAppTokens, isBulkRequest); iapp sets 0.
  const slice = env.IEXEC_BULK_SLICE_SIZE ?? '0';
  if (!COUNT.test(slice)) throw invalid('IEXEC_BULK_SLICE_SIZE is not a number of datasets');
  if (count === '0' && !hasDataset && slice === '0') return { inputFiles: [], dataset: undefined, bulk: [] };

  const root = realFolder(env.IEXEC_IN, 'IEXEC_IN');
  const folder = env.IEXEC_INPUT_FILES_FOLDER ? realFolder(env.IEXEC_INPUT_FILES_FOLDER, 'IEXEC_INPUT_FILES_FOLDER') : root;
  if (!isWithin(folder, root)) throw invalid('IEXEC_INPUT_FILES_FOLDER is not inside IEXEC_IN');

  const inputFiles = Array.from({ length: Number(count) }, (_, i) => {
    const index = i + 1;
    const name = env[`IEXEC_INPUT_FILE_NAME_${index}`] ?? '';
    return { index, name, path: fileInside(folder, name, root, `input file ${index}`) };
  });
  const dataset = hasDataset ? fileInside(root, datasetName, root, 'the dataset') : undefined;
  const bulk = Array.from({ length: Number(slice) }, (_, i) => bulkItem(env, i + 1, root));
  return { inputFiles, dataset, bulk };
}

/**
 * A bulk item's address names its file in IEXEC_IN (the pre-compute writes it there). A dataset
 * the pre-compute could not deliver fails alone, when the app reads it: its address is kept, and
 * a name that would lead out of IEXEC_IN is never opened.
 */
function bulkItem(env: NodeJS.ProcessEnv, index: number, root: string): BulkItem {
  // Stryker disable next-line StringLiteral: any default that is not an address is treated alike
  const name = env[`IEXEC_DATASET_${index}_FILENAME`] ?? '';
  // Anything but an address is neither opened nor repeated: it would end up in the result.
  if (!ADDRESS.test(name)) return { index, address: '', path: undefined };
  try {
    // Stryker disable next-line StringLiteral: the message is dropped below
    return { index, address: name, path: fileInside(root, name, root, `bulk dataset ${index}`) };
  } catch {
    return { index, address: name, path: undefined };
  }
}

/**
 * A zero address in either variable means no dataset, as does neither being set (a worker sets
 * both to one value; a hand-made environment may set one). A real address with no file name is a
 * dataset that cannot be found, refused below.
 */
const hasDatasetIn = (address: string, name: string): boolean =>
  !ZERO_ADDRESS.test(address) && !ZERO_ADDRESS.test(name) && (address !== '' || name !== '');

function realFolder(path: string | undefined, variable: string): string {
  if (!path) throw invalid(`${variable} is not set`);
  try {
    const real = realpathSync(path);
    if (statSync(real).isDirectory()) return real;
  } catch {
    // Reported below, without the path.
  }
  throw invalid(`${variable} is not a folder`);
}

function fileInside(folder: string, name: string, root: string, what: string): string {
  if (!PLAIN_NAME.test(name)) throw invalid(`${what} has no usable file name`);
  let real: string;
  try {
    real = realpathSync(join(folder, name));
  } catch {
    throw invalid(`${what} is missing`);
  }
  if (!isWithin(real, root) || !statSync(real).isFile()) throw invalid(`${what} is not a regular file inside IEXEC_IN`);
  return real;
}

/**
 * Whether `path` is `folder` or below it (both resolved; on Linux relative() never gives an
 * absolute path). A name that merely starts with dots (`..data`) is inside.
 */
const isWithin = (path: string, folder: string): boolean => !/^\.\.(\/|$)/.test(relative(folder, path));
