/**
 * A bulk task (DataProtector's bulk processing: up to 100 protected data in one task): the app's
 * run() once per protected data, one after another, so that memory does not grow with the
 * number of items. The app declares how a failing item counts (its protected data spec's `bulk`):
 * - 'per-item': the item's coded error is recorded and the others go on; the result is one
 *   report of every item in result.txt, with the counts iExec's own web3telegram writes
 *   (iExecBlockchainComputing/web3telegram-sdk, dapp/src/executeTask.js: total-count,
 *   success-count, error-count, results[] of { index, dataset, … });
 * - 'all-or-nothing': the first failing item fails the task, with its code.
 * Each item returns a text result; the report holds it for a success, and only the code and
 * safe message of a failure (never a value of the item's protected data).
 */
import { AppError, taskError, toAppError } from '../errors';
import type { TaskResult } from './app';
import { destroyStreams } from './output';
import type { BulkItem } from './inputs';
import type { BulkMode } from './protected-data';

type ItemOutcome = { index: number; dataset: string } & ({ success: true; result: string } | { success: false; error: { code: string; message: string } });

/**
 * Runs `runItem` on each item, in order; `read` reads an item's protected data. `mode` is the app's declaration, undefined for an app that takes one protected data.
 */
export async function runBulk<V>(
  items: readonly BulkItem[],
  mode: BulkMode | undefined,
  read: (path: string) => Promise<V>,
  runItem: (values: V, item: BulkItem) => Promise<TaskResult>,
): Promise<TaskResult> {
  if (mode === undefined) throw taskError('INPUT_INVALID', 'this app takes one protected data, not a bulk of them (its contract declares no bulk processing)');
  const outcomes: ItemOutcome[] = [];
  for (const item of items) {
    const place = { index: item.index, dataset: item.address };
    try {
      if (item.path === undefined) throw taskError('PROTECTED_DATA_MISSING', 'the worker delivered no file for this protected data');
      outcomes.push({ ...place, success: true, result: itemText(await runItem(await read(item.path), item)) });
    } catch (error) {
      const failure = toAppError(error);
      // The item's own code, with its place: which protected data of the bulk failed.
      if (mode === 'all-or-nothing') throw new AppError(failure.code, `bulk item ${item.index}: ${failure.message}`, failure.exitCode);
      outcomes.push({ ...place, success: false, error: { code: failure.code, message: failure.message } });
    }
  }
  const succeeded = outcomes.filter((o) => o.success).length;
  const report = {
    'total-count': outcomes.length,
    'success-count': succeeded,
    'error-count': outcomes.length - succeeded,
    results: outcomes,
  };
  return { result: `${JSON.stringify(report, null, 2)}\n`, log: `bulk: ${succeeded} of ${outcomes.length} protected data processed` };
}

/** An item's result goes into the report: it must be text, and not empty (as for any text result). */
function itemText(result: TaskResult): string {
  if (typeof result.result !== 'string') {
    destroyStreams(result);
    throw taskError('RESULT_INVALID', 'in a bulk task, each protected data gives a text result ({ result })');
  }
  if (result.result === '') throw taskError('RESULT_EMPTY', 'the result is empty, and iExec publishes no empty file (return at least one byte)');
  return result.result;
}
