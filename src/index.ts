import { reportFailure, run } from './main';

// Last resort: whatever escapes run() ends the process as Node would, but reported like any
// failure rather than printed as it is (an error can quote the secret).
const crash = (error: unknown): never => process.exit(reportFailure(error));
process.on('uncaughtException', crash);
// Stryker disable next-line StringLiteral: Node (>= 15) raises an unhandled rejection as an uncaught exception anyway; this keeps it so under --unhandled-rejections=warn
process.on('unhandledRejection', crash);

void run().then((code) => {
  process.exitCode = code;
});
