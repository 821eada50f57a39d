import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // onnxruntime-node, sharp and @napi-rs/canvas are native modules: run each file in its own process.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
