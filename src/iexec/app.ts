import type * as z from 'zod/mini';
import type { ErrorTable } from '../errors';
import type { ArgsSpec } from './args';
import type { BagPlace } from './bot';
import type { Upstream } from './http';
import type { InputFile } from './inputs';
import type { ProtectedDataSpec } from './protected-data';
import type { SecretSpec } from './secret';

/** What the plumbing hands the app's work: everything validated, nothing left to read from the environment. */
export interface Task<Secret, Args, Protected = undefined> {
  secret: Secret;
  args: Args;
  inputFiles: InputFile[];
  /** The dataset's file, when the task has one. */
  dataset: string | undefined;
  /** The protected data (the task's dataset), typed by the app's `protectedData` schema, when it declares one. */
  protectedData: Protected;
  requesterSecrets: ReadonlyMap<number, string>;
  /** The task's place in its bag of tasks (one task alone: size 1, index 0). */
  bot: BagPlace;
}

/** A file of a folder result: its bytes, or a stream of them (a Node Readable is one), written to disk as it comes. */
export type FileContent = string | Uint8Array | AsyncIterable<string | Uint8Array>;

/** The task's deterministic output, in one of the three forms iExec takes (one key of result, files, callback). */
export type TaskResult = TextResult | FolderResult | CallbackResult;

interface Logged {
  /** Printed on stdout, which the worker logs: only what is safe to publish. */
  log?: string;
}

/** Written to IEXEC_OUT/result.txt. */
export interface TextResult extends Logged {
  result: string;
  files?: never;
  callback?: never;
}

/**
 * Written to the folder IEXEC_OUT/result/, all files or none. Keys are paths relative to it,
 * segments separated by '/', each of A-Z a-z 0-9 . _ - (not starting with '.') and at most 31 bytes.
 * iExec's digest covers the folder's top-level files only: a file in a sub-folder is published but
 * not agreed on by replicated workers.
 */
export interface FolderResult extends Logged {
  files: Record<string, FileContent>;
  result?: never;
  callback?: never;
}

/**
 * For a deal with a callback address: ABI-encoded bytes (0x-prefixed hex, whole bytes) that the
 * worker passes to the callback contract, and whose Keccak-256 is the result digest. Also written
 * to result.txt, for a deal without a callback.
 */
export interface CallbackResult extends Logged {
  callback: `0x${string}`;
  result?: never;
  files?: never;
}

/** The values of a protected data spec; undefined for an app that declares none. */
export type ProtectedValues<P> = P extends ProtectedDataSpec ? z.output<P['schema']> : undefined;
/** The developer secret's values; undefined for an app that declares none. */
export type SecretValues<S> = S extends SecretSpec ? z.output<S['schema']> : undefined;

/**
 * The app's contract: the one thing src/main.ts, the tools and the generic tests know about the
 * app. src/app/index.ts exports one (`app`); src/app/demo.ts its demo task (`demo`).
 */
export interface IexecApp<S extends SecretSpec | undefined = SecretSpec | undefined, A extends ArgsSpec = ArgsSpec, P extends ProtectedDataSpec | undefined = ProtectedDataSpec | undefined> {
  /** The developer secret's fields, if the app takes one (IEXEC_APP_DEVELOPER_SECRET, pushed once per app). */
  secret?: S;
  args: A;
  /** The protected data the app takes as its dataset (DataProtector), if it takes one: its fields and their types. */
  protectedData?: P;
  /** The remote services the app calls, none for an app that works offline. */
  upstreams: readonly Upstream[];
  /** The app's own error codes (its upstreams' included); their exit codes must not reuse the plumbing's. */
  errors: ErrorTable;
  /** Why the result differs from one run to the next, when it does (replicated workers then disagree). */
  resultVaries?: string;
  run(task: Task<SecretValues<S>, z.output<A['schema']>, ProtectedValues<P>>): Promise<TaskResult>;
}

export const defineApp = <S extends SecretSpec | undefined = undefined, A extends ArgsSpec = ArgsSpec, P extends ProtectedDataSpec | undefined = undefined>(
  app: IexecApp<S, A, P>,
): IexecApp<S, A, P> => app;

/** A service that answers as the app's upstreams do (fetch API), with its own fresh state. */
export type StandInService = (request: Request) => Response | Promise<Response>;

/**
 * A task to try the app with, without iExec and without the network: what npm run local, the
 * benchmarks, the memory measurement, the image build's warm run and the generic tests run.
 * Never bundled. Its values are a demo's: nothing secret.
 */
export type DemoTask<S extends SecretSpec | undefined = SecretSpec | undefined> = DemoInputs &
  (S extends SecretSpec
    ? {
        /** The developer secret, required of an app that takes one; `standInUrl` is where the stand-in is served ('' without one). */
        secret: (standInUrl: string) => z.input<S['schema']>;
      }
    : { secret?: never });

interface DemoInputs {
  /** A stand-in of the app's upstreams (one service answering for all), served on 127.0.0.1; none for an offline app. */
  standIn?: () => StandInService;
  /** The requester's arguments. */
  args: string[];
  /** Input files, by name: what the requester gives with --input-files. */
  inputFiles?: Readonly<Record<string, string>>;
  /** Requester secrets, by index (IEXEC_REQUESTER_SECRET_<n>). */
  requesterSecrets?: Readonly<Record<number, string>>;
  /**
   * The protected data given as the dataset, as `npm run local -- --protected-data FILE.json`
   * takes it: made by DataProtector's own serializer.
   */
  protectedData?: Readonly<Record<string, unknown>>;
}
