import { toAppError } from './errors';
import type { IexecApp } from './iexec/app';
import { parseRequesterArgs } from './iexec/args';
import { readBagPlace } from './iexec/bot';
import { runBulk } from './iexec/bulk';
import { guardNodeEnvironment } from './iexec/environment';
import { readInputs } from './iexec/inputs';
import { resolveOutputDir, writeFailure, writeResult } from './iexec/output';
import { readRequesterSecrets } from './iexec/requester-secrets';
import { readDeveloperSecret } from './iexec/secret';

export interface Invocation {
  env: NodeJS.ProcessEnv;
  /** The requester's arguments: what follows the script on the command line. */
  argv: readonly string[];
}

/** The whole task: context in, the app's work, result out. Returns the process exit code. */
export async function run(app: IexecApp, { env, argv }: Invocation): Promise<number> {
  try {
    guardNodeEnvironment(env);
    const outputDir = resolveOutputDir(env);
    const secret = app.secret === undefined ? undefined : readDeveloperSecret(env, app.secret);
    const args = parseRequesterArgs(argv, app.args);
    const { inputFiles, dataset, bulk } = readInputs(env);
    const task = { secret, args, inputFiles, dataset, requesterSecrets: readRequesterSecrets(env), bot: readBagPlace(env) };
    const spec = app.protectedData;
    // A bulk task runs the app once per protected data; an app that reads none ignores them all.
    const result =
      spec !== undefined && bulk.length > 0
        ? await runBulk(bulk, spec.bulk, spec.read, (protectedData, item) => app.run({ ...task, dataset: item.path, protectedData }))
        : await app.run({ ...task, protectedData: await spec?.read(dataset) });
    await writeResult(outputDir, result);
    if (result.log !== undefined) process.stdout.write(`${result.log}\n`);
    return 0;
  } catch (error) {
    return reportFailure(error, env);
  }
}

/**
 * The one place a failure is reported: a safe line on stderr and, when IEXEC_OUT can take them,
 * error.txt and a computed.json that carries the same line.
 */
export function reportFailure(error: unknown, env: NodeJS.ProcessEnv): number {
  const failure = toAppError(error);
  process.stderr.write(`${failure.line}\n`);
  try {
    writeFailure(resolveOutputDir(env), failure.line);
  } catch (outputError) {
    const unwritable = toAppError(outputError);
    if (unwritable.line !== failure.line) process.stderr.write(`${unwritable.line}\n`);
  }
  return failure.exitCode;
}
