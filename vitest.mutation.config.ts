import { readFileSync, statSync } from 'node:fs';
import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import base from './vitest.config';

/**
 * In-process tests first, then those that start the bundle in child processes (the slowest, and
 * most mutants are killed before them: Stryker stops at the first failing test); smaller files
 * first within each group. Fixed, unlike vitest's own order, which follows the previous run.
 */
class InProcessFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cost = (file: TestSpecification): [number, number] => [
      readFileSync(file.moduleId, 'utf8').includes('helpers/worker') ? 1 : 0,
      statSync(file.moduleId).size,
    ];
    return files
      .map((file) => ({ file, cost: cost(file) }))
      .sort((a, b) => a.cost[0] - b.cost[0] || a.cost[1] - b.cost[1])
      .map(({ file }) => file);
  }
}

/** The tests `npm run mutation` runs (see README, Mutation testing). */
export default mergeConfig(
  // One flat project instead of the base's three: its tests, and its set-ups but the image's.
  { ...base, test: { ...base.test, projects: undefined, include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts', 'test/bundle-setup.ts'] } },
  defineConfig({
    test: {
      // Left out, as they cannot kill a mutant: the image and script checks (test/tee), the tools'
      // tests (tools/*.ts start the bundle without the active mutant) and the SIGKILL test (random
      // by design: a kill there would not repeat).
      // The image tests (test/image) are left out too: a container does not get the active mutant.
      exclude: [...configDefaults.exclude, 'test/tee/**', 'test/tools/**', 'test/image/**', 'test/interrupt.test.ts'],
      // Nor is the image built, or the image's Node fetched (the set-ups above): the bundle runs
      // on this Node only.
      provide: {
        images: { tdx: { skipped: 'not under mutation testing' }, scone: { skipped: 'not under mutation testing' } },
        sourceDateEpoch: '0',
        imageNode: { skipped: 'not under mutation testing' },
      },
      // Stryker finds a test again by its name, which holds the seed: a fixed one keeps the name and
      // the cases. 60 cases for each app still reach every behaviour, in a third of the time.
      env: { FAULT_SEED: '20261122', FAULT_CASES: '60' },
      sequence: { sequencer: InProcessFirst },
    },
  }),
);
