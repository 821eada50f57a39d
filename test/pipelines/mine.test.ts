import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, UsageError } from '../../src/errors.js';
import { readCheckpoint } from '../../src/io/checkpoint.js';
import { DetectorModel } from '../../src/models/detector.js';
import { mine, type MineOptions } from '../../src/pipelines/mine.js';
import { repoRoot } from '../helpers/golden.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-mine-lib-'));
const data = join(scratch, 'data');
const input = join(data, 'captions.jsonl');
const N = 9;
let model: DetectorModel;
const common = (output: string): MineOptions => ({ input, output, proposals: 20, cacheDir: false });
const read = (path: string) => readFileSync(path, 'utf8');

beforeAll(async () => {
  model = await DetectorModel.load(join(repoRoot, 'fixtures', 'models', 'tiny-detector-features'));
  mkdirSync(join(data, 'imgs'), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: i * 25, g: 120, b: 90 } } }).png().toFile(join(data, 'imgs', `i${i}.png`));
    lines.push(JSON.stringify({ image: `imgs/i${i}.png`, caption: 'a red square and a blue circle', id: i }));
  }
  lines.splice(4, 0, '{bad');
  writeFileSync(input, `${lines.join('\n')}\n`);
}, 60_000);
afterAll(async () => {
  await model.release();
  rmSync(scratch, { recursive: true, force: true });
});

describe('mine() checkpoints', () => {
  const reference = join(scratch, 'reference.jsonl');

  it('checkpoints every K lines or T seconds (fsync first), not after every line', async () => {
    const seen: number[] = [];
    const summary = await mine(model, {
      ...common(reference), checkpointLines: 4, checkpointSeconds: 3600,
      onProgress: () => seen.push(readCheckpoint(reference)?.nextLine ?? -1),
    });
    expect(summary).toMatchObject({ images: N, errors: 1 });
    // 10 lines: the checkpoint appears after line 4 and moves at 8; line 10 is recorded when the run ends.
    expect(seen).toEqual([-1, -1, -1, 4, 4, 4, 4, 8, 8, 8]);
    const final = readCheckpoint(reference)!;
    expect(final).toMatchObject({ nextLine: 10, done: true, outputBytes: Buffer.byteLength(read(reference)), errorBytes: Buffer.byteLength(read(`${reference}.errors.jsonl`)) });

    // T seconds: a tiny T checkpoints after every line.
    const timed = join(scratch, 'timed.jsonl');
    const seenTimed: number[] = [];
    await mine(model, { ...common(timed), checkpointLines: 1000, checkpointSeconds: 1e-6, onProgress: () => seenTimed.push(readCheckpoint(timed)?.nextLine ?? -1) });
    expect(seenTimed).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(read(timed)).toBe(read(reference));
  });

  it('a signal stops the run after a checkpoint; the resumed run ends with the uninterrupted bytes', async () => {
    const out = join(scratch, 'aborted.jsonl');
    const stop = new AbortController();
    const reason = new Error('worker lost its lock');
    const run = mine(model, { ...common(out), checkpointLines: 1000, signal: stop.signal, onProgress: ({ done }) => { if (done === 6) stop.abort(reason); } });
    await expect(run).rejects.toBe(reason);
    expect(readCheckpoint(out)).toMatchObject({ nextLine: 6, done: false });
    const resumed = await mine(model, { ...common(out), resume: true });
    expect(resumed.resumedFrom).toBe(6);
    expect(read(out)).toBe(read(reference));
    expect(read(`${out}.errors.jsonl`)).toBe(read(`${reference}.errors.jsonl`));
  });

  it('resume finds the same data at another path (identified by its content, not its path); changed content is refused', async () => {
    const out = join(scratch, 'moved.jsonl');
    // strict stops at the bad line 5 with a checkpoint, as an interrupted run would leave it.
    await expect(mine(model, { ...common(out), strict: true })).rejects.toThrow(InvalidInputError);
    expect(readCheckpoint(out)).toMatchObject({ nextLine: 5, done: false });
    const moved = join(scratch, 'mounted-elsewhere');
    cpSync(data, moved, { recursive: true });
    const resumed = await mine(model, { ...common(out), input: join(moved, 'captions.jsonl'), resume: true });
    expect(resumed.resumedFrom).toBe(5);
    expect(read(out)).toBe(read(reference));
    expect(read(`${out}.errors.jsonl`)).toBe(read(`${reference}.errors.jsonl`));
    writeFileSync(join(moved, 'captions.jsonl'), read(input).replace('"id":8', '"id":80'));
    await expect(mine(model, { ...common(out), input: join(moved, 'captions.jsonl'), resume: true })).rejects.toThrow(UsageError);
  });

  it('lines mines one range: its records are the whole run\'s for those lines', async () => {
    const out = join(scratch, 'range.jsonl');
    const progress: number[] = [];
    const summary = await mine(model, { ...common(out), lines: '4:7', onProgress: ({ done, total }) => progress.push(done * 100 + total) });
    expect(summary).toMatchObject({ images: 3, errors: 1 });
    expect(progress).toEqual([104, 204, 304, 404]);
    // Lines 4..7: images 3, (line 5 is the bad one), 4, 5 → records 3..5 of the whole run.
    expect(read(out)).toBe(read(reference).split('\n').slice(3, 6).map((l) => `${l}\n`).join(''));
    expect(JSON.parse(read(`${out}.errors.jsonl`))).toMatchObject({ line: 5, error: 'InvalidInputError' });
    expect(readCheckpoint(out)).toMatchObject({ nextLine: 7, done: true });
  });
});
