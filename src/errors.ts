/**
 * Every failure is an AppError: a stable code, the process exit code, and a message written by us.
 * Messages are never copied from a library error: library errors (axios, JSON.parse, zod) can
 * carry the request URL, headers or parts of a secret.
 */
export class AppError extends Error {
  /** `safeMessage` must never contain a secret value: it is printed and written to IEXEC_OUT. */
  constructor(
    readonly code: string,
    safeMessage: string,
    readonly exitCode: number,
  ) {
    super(safeMessage);
    this.name = 'AppError';
  }

  /** The one line shown on stderr, in error.txt and in computed.json. */
  get line(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Codes and their exit codes. The app adds its own (src/app/), which must not reuse these numbers. */
export type ErrorTable = Readonly<Record<string, number>>;

/** A typed maker of AppErrors for one table: a code missing from the table does not compile. */
export const errorsFrom =
  <T extends ErrorTable>(table: T) =>
  (code: keyof T & string, safeMessage: string): AppError =>
    new AppError(code, safeMessage, table[code] as number); // the key type proves it is in the table

/** The plumbing's own failures: the task's context (src/iexec/) and the last resort. */
export const TASK_ERRORS = {
  UNEXPECTED: 1,
  SECRET_MISSING: 2,
  SECRET_INVALID: 3,
  OUTPUT_UNWRITABLE: 8,
  ARGS_INVALID: 9,
  INPUT_INVALID: 10,
  REQUESTER_SECRET_MISSING: 11,
  ENVIRONMENT_UNSAFE: 12,
  RESULT_EMPTY: 13,
  PROTECTED_DATA_MISSING: 14,
  PROTECTED_DATA_INVALID: 15,
  RESULT_INVALID: 16,
} as const;

export const taskError = errorsFrom(TASK_ERRORS);

/** Anything that is not an AppError becomes this: its own message may hold a secret. */
export function toAppError(error: unknown): AppError {
  return error instanceof AppError
    ? error
    : taskError('UNEXPECTED', 'unexpected internal error (details withheld: they may hold secret data)');
}
