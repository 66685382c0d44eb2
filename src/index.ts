import { taskError } from './errors';
import { app } from './app';
import { reportFailure, run } from './main';

// One libuv worker thread, not four: an enclave pays for every thread, and the plumbing's only
// threadpool work is one name lookup. libuv reads this when the pool first starts. An app that
// does much asynchronous file or crypto work may want more.
process.env.UV_THREADPOOL_SIZE = '1';

// Last resort: whatever escapes run() ends the process as Node would, but reported like any
// failure rather than printed as it is (an error can quote the secret).
const crash = (error: unknown): never => process.exit(reportFailure(error, process.env));
process.on('uncaughtException', crash);
// Stryker disable next-line StringLiteral: Node (>= 15) raises an unhandled rejection as an uncaught exception anyway; this keeps it so under --unhandled-rejections=warn
process.on('unhandledRejection', crash);

// The outcome is IEXEC_OUT and the exit code: a closed or broken stdout or stderr (EPIPE) loses
// a line, never the outcome nor a result already written.
const ignore = (): void => undefined;
process.stdout.on('error', ignore);
process.stderr.on('error', ignore);

// The event loop can empty while run() still waits (a library that drops a request without a
// word): Node would then exit 0 with nothing written. That is a failure, reported as any other.
let settled = false;
process.once('beforeExit', () => {
  if (!settled) process.exitCode = reportFailure(taskError('UNEXPECTED', 'the work stopped before it finished (nothing was left to wait for)'), process.env);
});

void run(app, { env: process.env, argv: process.argv.slice(2) }).then((code) => {
  settled = true;
  process.exitCode = code;
});
