import { hitCounter, type HitOptions } from './app/counter';
import { unpackCounterSecret } from './app/secret';
import { toAppError } from './errors';
import { resolveOutputDir, writeFailure, writeResult } from './iexec/output';
import { readDeveloperSecret } from './iexec/secret';

/** The whole task: secret in, one counter hit, result out. Returns the process exit code. */
export async function run(env: NodeJS.ProcessEnv = process.env, options: HitOptions = {}): Promise<number> {
  try {
    const outputDir = resolveOutputDir(env);
    const secret = unpackCounterSecret(readDeveloperSecret(env));
    const hits = await hitCounter(secret, options);
    const result = `endpoint hit ${hits} times`;
    writeResult(outputDir, result);
    process.stdout.write(`${result}\n`);
    return 0;
  } catch (error) {
    return reportFailure(error, env);
  }
}

/**
 * The one place a failure is reported: a safe line on stderr and, when IEXEC_OUT can take them,
 * error.txt and a computed.json that carries the same line.
 */
export function reportFailure(error: unknown, env: NodeJS.ProcessEnv = process.env): number {
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
