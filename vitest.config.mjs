import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/js/**/*.test.ts', 'test/conformance/**/*.test.ts', 'test/interop/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
