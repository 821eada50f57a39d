import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // onnxruntime-node, sharp and @napi-rs/canvas are native modules: run each file in its own process.
    pool: 'forks',
    // Most files wait on child processes (the CLI, Python, redis-server): one more fork than cores keeps both
    // cores busy. On the 2-core test machine the suite took 336 s with 3 forks against 526 s with 2 (the default).
    maxWorkers: Math.max(3, availableParallelism()),
    include: ['test/**/*.test.ts'],
    // Says once per run when ../shared/golden is absent (the full-golden parity tests skip).
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
  },
});
