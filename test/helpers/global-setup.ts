/**
 * Runs once per `vitest run`, in the main process: says once (not once per test file) that the full golden
 * tables are absent and which tests that skips.
 */
import { SKIP_NO_SHARED, sharedGoldenDir } from './golden.js';

export default function setup(): void {
  if (sharedGoldenDir === null) console.warn(`[regionclip tests] ${SKIP_NO_SHARED}`);
}
