/**
 * Mutation testing (`npm run mutation`, StrykerJS) reaches the bundle's child processes through
 * here. Stryker instruments src/, so the bundle that test/bundle-setup.ts builds in Stryker's
 * sandbox holds every mutant behind a switch. In the test process Stryker flips the switch through
 * a global; a child process reads it from `__STRYKER_ACTIVE_MUTANT__` instead. Outside mutation
 * testing the global is absent and a child runs exactly as given.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Coverage = Record<string, number>;
interface StrykerGlobal {
  activeMutant?: string;
  currentTestId?: string;
  mutantCoverage?: { static: Coverage; perTest: Record<string, Coverage> };
}

const stryker = (): StrykerGlobal | undefined => (globalThis as { __stryker__?: StrykerGlobal }).__stryker__;

/** True when the tests run under Stryker (the bundle then carries its instrumentation). */
export const underMutationTesting = (): boolean => stryker() !== undefined;

// In the measuring run, the child hands back the mutants it reached (on file descriptor 3), so that
// Stryker runs this test for them; without it only in-process code would count as covered. A
// --require preload (not --import, which would start the app later than a test's own preloads),
// in a folder any user can read (one test runs the bundle as nobody).
let coverageReporter: string | undefined;
function reportCoveragePreload(): string {
  if (coverageReporter === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'mutation-'));
    chmodSync(dir, 0o755);
    coverageReporter = join(dir, 'report-coverage.cjs');
    writeFileSync(
      coverageReporter,
      "process.on('exit', () => require('node:fs').writeSync(3, JSON.stringify(globalThis.__stryker__?.mutantCoverage?.static ?? {})));\n",
      { mode: 0o644 },
    );
  }
  return coverageReporter;
}

export interface MutationChild {
  env: NodeJS.ProcessEnv;
  nodeArgs: string[];
  /** Extra stdio entries after stdin, stdout, stderr. */
  stdio: 'pipe'[];
  /** Takes what the child wrote on file descriptor 3, once it has exited. */
  collect(report: string): void;
}

/** How to start a child that runs the bundle so that the active mutant, or coverage, crosses over. */
export function mutationChild(env: NodeJS.ProcessEnv, nodeArgs: string[]): MutationChild {
  const ns = stryker();
  const unchanged: MutationChild = { env, nodeArgs, stdio: [], collect: () => undefined };
  if (ns === undefined) return unchanged;
  if (ns.activeMutant !== undefined) return { ...unchanged, env: { ...env, __STRYKER_ACTIVE_MUTANT__: ns.activeMutant } };
  return {
    env,
    nodeArgs: ['--require', reportCoveragePreload(), ...nodeArgs],
    stdio: ['pipe'],
    collect(report) {
      if (report === '') return; // killed before exit: nothing reported
      const coverage = (ns.mutantCoverage ??= { static: {}, perTest: {} });
      const target = ns.currentTestId === undefined ? coverage.static : (coverage.perTest[ns.currentTestId] ??= {});
      for (const [id, hits] of Object.entries(JSON.parse(report) as Coverage)) target[id] = (target[id] ?? 0) + hits;
    },
  };
}
