import { taskError } from '../errors';

/**
 * The entrypoint's node flags (tee.env's APP_ENTRYPOINT), which the Gramine manifest passes as
 * NODE_OPTIONS: they size threads and memory, nothing else. A test holds this list to tee.env.
 */
export const ENTRYPOINT_FLAGS: readonly string[] = ['--disable-wasm-trap-handler', '--v8-pool-size=1', '--disable-sigusr1'];

/**
 * Node variables that no iExec worker sets and that make Node act on its own before or while the
 * app runs (README, "Who controls what"). What the app can undo, it undoes and carries on:
 * NODE_TLS_REJECT_UNAUTHORIZED (src/iexec/http.ts verifies anyway) and NODE_V8_COVERAGE (stopped
 * here, so nothing is written outside IEXEC_OUT). What it cannot undo, it refuses before the
 * secret is read: NODE_DEBUG (Node set up its debug output at start; `http` prints every
 * header, the bearer token included) and NODE_OPTIONS beyond the entrypoint's flags (a preload,
 * an inspector, a report that holds the environment). The variable is named, its value never.
 */
export function guardNodeEnvironment(env: NodeJS.ProcessEnv): void {
  if (env.NODE_V8_COVERAGE) process.getBuiltinModule('node:v8').stopCoverage();
  if (env.NODE_DEBUG) throw taskError('ENVIRONMENT_UNSAFE', 'NODE_DEBUG is set: Node would print what the app sends, credentials included (unset it)');
  const options = (env.NODE_OPTIONS ?? '').split(/\s/).filter((option) => option !== '');
  if (options.some((option) => !ENTRYPOINT_FLAGS.includes(option))) {
    throw taskError('ENVIRONMENT_UNSAFE', "NODE_OPTIONS holds more than the entrypoint's flags: Node may run code or open a port the app cannot vouch for (unset it)");
  }
}
