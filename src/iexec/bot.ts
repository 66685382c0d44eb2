import { taskError } from '../errors';

/** The task's place in its deal: `size` tasks from `firstIndex`, this one `index` (iexec app run --bot-size…, a bag of tasks). */
export interface BagPlace {
  size: number;
  firstIndex: number;
  index: number;
}

const NUMBER = /^(0|[1-9]\d{0,8})$/;

/**
 * IEXEC_BOT_SIZE, IEXEC_BOT_FIRST_INDEX and IEXEC_BOT_TASK_INDEX, which every worker sets
 * (iexec-common IexecEnvUtils.getComputeStageEnvMap); a run without them is a task alone.
 */
export function readBagPlace(env: NodeJS.ProcessEnv): BagPlace {
  const read = (variable: string, absent: number): number => {
    const value = env[variable];
    if (value === undefined) return absent;
    if (!NUMBER.test(value)) throw taskError('INPUT_INVALID', `${variable} is not a whole number`);
    return Number(value);
  };
  return { size: read('IEXEC_BOT_SIZE', 1), firstIndex: read('IEXEC_BOT_FIRST_INDEX', 0), index: read('IEXEC_BOT_TASK_INDEX', 0) };
}
