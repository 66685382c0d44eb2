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

void run(app, { env: process.env, argv: process.argv.slice(2) }).then((code) => {
  process.exitCode = code;
});
