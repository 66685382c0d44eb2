import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { AppError, errorsFrom, TASK_ERRORS, taskError, toAppError } from '../src/errors';
import { ROOT } from '../tools/build';

describe('AppError', () => {
  it('carries its code, exit code and one line, and shows as an AppError in a stack trace', () => {
    const error = taskError('SECRET_INVALID', 'secret is not valid JSON');
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'SECRET_INVALID', exitCode: 3, line: 'SECRET_INVALID: secret is not valid JSON' });
    expect(String(error)).toBe('AppError: secret is not valid JSON');
  });

  it('is made from a table of codes, with the exit code of each', () => {
    const made = errorsFrom({ MY_FAILURE: 42 })('MY_FAILURE', 'it failed');
    expect(made).toBeInstanceOf(AppError);
    expect(made).toMatchObject({ code: 'MY_FAILURE', exitCode: 42, line: 'MY_FAILURE: it failed' });
  });

  it("has exactly the codes and exit codes of the README table: the plumbing's and the example app's", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| (\d+) \| `([A-Z_]+)` \|/gm)].map(([, exit, code]) => [code, Number(exit)]);
    expect(rows.length).toBeGreaterThan(0);
    expect({ ...TASK_ERRORS, ...app.errors }).toEqual(Object.fromEntries(rows));
  });
});

describe('toAppError', () => {
  it('keeps an AppError as it is', () => {
    const error = new AppError('COUNTER_TIMEOUT', 'counter did not answer in time', 5);
    expect(toAppError(error)).toBe(error);
  });

  it.each([new Error('token tok-123 in https://host/hit'), 'a string', undefined])('withholds anything else: %j', (error) => {
    const failure = toAppError(error);
    expect(failure.code).toBe('UNEXPECTED');
    expect(failure.exitCode).toBe(1);
    expect(failure.line).toBe('UNEXPECTED: unexpected internal error (details withheld: they may hold secret data)');
  });
});
