import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts', 'test/image/global-setup.ts'],
    // End-to-end tests build the bundle and start child processes.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
