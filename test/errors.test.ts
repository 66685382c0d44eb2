import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError, EXIT_CODES, toAppError } from '../src/errors';
import { ROOT } from '../tools/build';

describe('AppError', () => {
  it('carries its code, exit code and one line, and shows as an AppError in a stack trace', () => {
    const error = new AppError('SECRET_INVALID', 'secret is not valid JSON');
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'SECRET_INVALID', exitCode: 3, line: 'SECRET_INVALID: secret is not valid JSON' });
    expect(String(error)).toBe('AppError: secret is not valid JSON');
  });

  it('has exactly the codes and exit codes of the README table', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| (\d+) \| `([A-Z_]+)` \|/gm)].map(([, exit, code]) => [code, Number(exit)]);
    expect(rows.length).toBeGreaterThan(0);
    expect(EXIT_CODES).toEqual(Object.fromEntries(rows));
  });
});

describe('toAppError', () => {
  it('keeps an AppError as it is', () => {
    const error = new AppError('COUNTER_TIMEOUT', 'counter did not answer in time');
    expect(toAppError(error)).toBe(error);
  });

  it.each([new Error('token tok-123 in https://host/hit'), 'a string', undefined])('withholds anything else: %j', (error) => {
    const failure = toAppError(error);
    expect(failure.code).toBe('UNEXPECTED');
    expect(failure.exitCode).toBe(1);
    expect(failure.line).toBe('UNEXPECTED: unexpected internal error (details withheld: they may hold secret data)');
  });
});
