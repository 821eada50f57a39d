/**
 * Access to golden reference tables: the full set in ../shared/golden (present in the development
 * workspace and CI, absent from a user's clone) and the committed subsets in fixtures/golden.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ../shared/golden beside the repository, or REGIONCLIP_GOLDEN_DIR; null when absent. */
export const sharedGoldenDir: string | null = (() => {
  const dir = process.env.REGIONCLIP_GOLDEN_DIR ?? resolve(repoRoot, '..', 'shared', 'golden');
  return existsSync(dir) ? dir : null;
})();

/** Why the full-golden tests skip (their test name; global-setup.ts prints it once per run). */
export const SKIP_NO_SHARED = `../shared/golden not found (looked in ${resolve(repoRoot, '..', 'shared', 'golden')}; set REGIONCLIP_GOLDEN_DIR to point elsewhere): full-golden parity tests skipped, the fixtures/golden subsets still run`;

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** A golden file from ../shared/golden, or null when that folder is absent. */
export function sharedGolden<T = any>(relPath: string): T | null {
  return sharedGoldenDir === null ? null : readJson<T>(join(sharedGoldenDir, relPath));
}

/** A committed subset from fixtures/golden. */
export function fixtureGolden<T = any>(relPath: string): T {
  return readJson<T>(join(repoRoot, 'fixtures', 'golden', relPath));
}

/** float32 data from golden JSON: `null` (NaN/±Inf in the reference) becomes NaN. */
export function f32(values: (number | null)[] | (number | null)[][]): Float32Array {
  const flat = (values as unknown[]).flat() as (number | null)[];
  return Float32Array.from(flat, (v) => (v === null ? Number.NaN : v));
}

/** Sources to run a parity test on: always the fixture subset, plus the full set when present. */
export function goldenSources<T>(fixturePath: string, sharedPath: string): { name: string; data: T | null }[] {
  return [
    { name: `fixtures/golden/${fixturePath}`, data: fixtureGolden<T>(fixturePath) },
    { name: `../shared/golden/${sharedPath}`, data: sharedGolden<T>(sharedPath) },
  ];
}
