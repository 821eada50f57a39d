/**
 * What the text tower was fed: the dims of every `input_ids` tensor given to a graph while a body runs (a spy on
 * `CheckedSession.prototype.run`, the one way graphs run), and a copy of a model folder whose manifest pads every row to
 * the context length (`tokenizer.padding: "context"`), the reference the cut batches are compared with.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { CheckedSession, type ort } from '../../src/runtime/session.js';

/** Runs `body` and returns its result with the [rows, positions] of each input_ids fed, in order. */
export async function recordIdsDims<T>(body: () => Promise<T>): Promise<{ result: T; dims: number[][] }> {
  const dims: number[][] = [];
  const original = CheckedSession.prototype.run;
  const spy = vi.spyOn(CheckedSession.prototype, 'run').mockImplementation(function (this: CheckedSession, feeds: Record<string, ort.Tensor>) {
    if (feeds.input_ids !== undefined) dims.push([...feeds.input_ids.dims]);
    return original.call(this, feeds);
  });
  try {
    return { result: await body(), dims };
  } finally {
    spy.mockRestore();
  }
}

/** A copy of the model folder (our manifest layout) in a temporary folder, its manifest edited by `edit`. */
export function copyWithManifest(dir: string, edit: (manifest: Record<string, any>) => void): string {
  const copy = join(mkdtempSync(join(tmpdir(), 'regionclip-text-')), 'model');
  cpSync(dir, copy, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8'));
  edit(manifest);
  writeFileSync(join(copy, 'manifest.json'), JSON.stringify(manifest));
  return copy;
}

/** The widths (positions) of batches of `batchSize` rows cut after their last EOT, the rows sorted by length. */
export function expectedCutWidths(lengths: readonly number[], batchSize: number): number[] {
  const sorted = [...lengths].sort((a, b) => a - b);
  const widths: number[] = [];
  for (let start = 0; start < sorted.length; start += batchSize) widths.push(sorted[Math.min(sorted.length, start + batchSize) - 1]);
  return widths;
}

/** max |a − b| / max |b|. */
export function relativeDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
