import { describe, expect, it } from 'vitest';
import { readBagPlace } from '../../src/iexec/bot';
import { failureOf } from '../helpers/errors';

describe('readBagPlace', () => {
  it('reads the place a worker gives the task', () => {
    expect(readBagPlace({ IEXEC_BOT_SIZE: '100', IEXEC_BOT_FIRST_INDEX: '20', IEXEC_BOT_TASK_INDEX: '57' })).toEqual({ size: 100, firstIndex: 20, index: 57 });
  });

  it('takes a run without the variables as a task alone', () => {
    expect(readBagPlace({})).toEqual({ size: 1, firstIndex: 0, index: 0 });
  });

  it.each(['', '-1', '01', '1.5', 'x', '1e3', ' 1', '1234567890'])('refuses %j, naming the variable', async (value) => {
    for (const variable of ['IEXEC_BOT_SIZE', 'IEXEC_BOT_FIRST_INDEX', 'IEXEC_BOT_TASK_INDEX']) {
      const error = await failureOf(() => readBagPlace({ [variable]: value }));
      expect(error.line).toBe(`INPUT_INVALID: ${variable} is not a whole number`);
    }
  });
});
