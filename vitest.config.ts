import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env['CI'] === 'true' ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
  },
});
