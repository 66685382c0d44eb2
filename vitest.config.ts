import { defineConfig } from 'vitest/config';

/**
 * Three projects, so that one unit test file runs in seconds: the slow set-ups run only for the
 * project whose tests need them. `npm test` (vitest run) runs all three.
 */
// Run the real bundles (built once by test/bundle-setup.ts) in child processes, on this Node and the image's.
export const BUNDLE_TESTS = [
  'test/e2e.test.ts',
  'test/faults.test.ts',
  'test/interrupt.test.ts',
  'test/app/bundle.test.ts',
  'test/tee/image-layout.test.ts',
  'test/tools/image/code-cache.test.ts',
  'test/tools/worker/local.test.ts',
  'test/worker-shapes.test.ts',
  'test/hostile.test.ts',
  'test/tools/measure/memory.test.ts',
];
// Run the image, built once by test/image/global-setup.ts with podman.
export const IMAGE_TESTS = ['test/image/run.test.ts', 'test/image/sconify.test.ts', 'test/image/reproducible.test.ts'];
// Every project's temporary folders go under one, removed at the end.
const TEMP_ROOT = 'test/global-setup.ts';

export default defineConfig({
  test: {
    // End-to-end tests build the bundle and start child processes.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...BUNDLE_TESTS, ...IMAGE_TESTS], globalSetup: [TEMP_ROOT] },
      },
      {
        extends: true,
        test: { name: 'bundle', include: BUNDLE_TESTS, globalSetup: [TEMP_ROOT, 'test/bundle-setup.ts', 'test/image/node-setup.ts'] },
      },
      {
        extends: true,
        test: { name: 'image', include: IMAGE_TESTS, globalSetup: [TEMP_ROOT, 'test/image/global-setup.ts'] },
      },
    ],
  },
});
