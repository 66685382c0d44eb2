import type * as z from 'zod/mini';
import type { ErrorTable } from '../errors';
import type { ArgsSpec } from './args';
import type { BagPlace } from './bot';
import type { Upstream } from './http';
import type { InputFile } from './inputs';
import type { SecretSpec } from './secret';

/** What the plumbing hands the app's work: everything validated, nothing left to read from the environment. */
export interface Task<Secret, Args> {
  secret: Secret;
  args: Args;
  inputFiles: InputFile[];
  dataset: string | undefined;
  requesterSecrets: ReadonlyMap<number, string>;
  /** The task's place in its bag of tasks (one task alone: size 1, index 0). */
  bot: BagPlace;
}

export interface TaskResult {
  /** Written to IEXEC_OUT/result.txt: the task's deterministic output. */
  result: string;
  /** Printed on stdout, which the worker logs: only what is safe to publish. */
  log?: string;
}

/**
 * The app's contract: the one thing src/main.ts, the tools and the generic tests know about the
 * app. src/app/index.ts exports one (`app`); src/app/stand-in.ts the stand-in of its upstream.
 */
export interface IexecApp<S extends SecretSpec = SecretSpec, A extends ArgsSpec = ArgsSpec> {
  secret: S;
  args: A;
  /** The remote service the app calls, which the stand-in replaces in local runs and tests. */
  upstream: Upstream;
  /** The app's own error codes (its upstream's included); their exit codes must not reuse the plumbing's. */
  errors: ErrorTable;
  /** Why the result differs from one run to the next, when it does (replicated workers then disagree). */
  resultVaries?: string;
  run(task: Task<z.output<S['schema']>, z.output<A['schema']>>): Promise<TaskResult>;
}

export const defineApp = <S extends SecretSpec, A extends ArgsSpec>(app: IexecApp<S, A>): IexecApp<S, A> => app;

/** The stand-in of the app's upstream, for local runs, benchmarks and tests (never bundled). */
export interface StandIn<S extends SecretSpec = SecretSpec> {
  /** A fresh service with its own state, answering as the real one does (fetch API). */
  create(): (request: Request) => Response | Promise<Response>;
  /** A valid secret that points the app at a stand-in served at `url`. */
  demoSecret(url: string): z.input<S['schema']>;
  /** Requester arguments a demo run passes. */
  demoArgs: string[];
}
