/**
 * Every failure the app reports, with its stable code and process exit code.
 * Messages are written by us, never copied from a library error: library errors
 * (axios, JSON.parse, zod) can carry the request URL, headers or parts of the secret.
 */
export const EXIT_CODES = {
  UNEXPECTED: 1,
  SECRET_MISSING: 2,
  SECRET_INVALID: 3,
  COUNTER_UNREACHABLE: 4,
  COUNTER_TIMEOUT: 5,
  COUNTER_HTTP_ERROR: 6,
  COUNTER_BAD_RESPONSE: 7,
  OUTPUT_UNWRITABLE: 8,
} as const;

export type ErrorCode = keyof typeof EXIT_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;

  /** `safeMessage` must never contain a secret value: it is printed and written to IEXEC_OUT. */
  constructor(code: ErrorCode, safeMessage: string) {
    super(safeMessage);
    this.name = 'AppError';
    this.code = code;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }

  /** The one line shown on stderr, in error.txt and in computed.json. */
  get line(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Anything that is not an AppError becomes this: its own message may hold a secret. */
export function toAppError(error: unknown): AppError {
  return error instanceof AppError
    ? error
    : new AppError('UNEXPECTED', 'unexpected internal error (details withheld: they may hold secret data)');
}
