import { expect } from 'vitest';
import { AppError } from '../../src/errors';

/** The AppError that `action` throws (or its promise rejects with); fails the test otherwise. */
export async function failureOf(action: () => unknown): Promise<AppError> {
  let outcome: unknown;
  try {
    await action();
  } catch (error) {
    outcome = error;
  }
  expect(outcome, 'expected an AppError').toBeInstanceOf(AppError);
  return outcome as AppError;
}
