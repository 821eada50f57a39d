import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, InvalidInputError } from '../../src/errors.js';
import { readLines, scanRange, splitInput } from '../../src/io/input-lines.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-lines-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const file = (name: string, text: string | Buffer) => {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
};
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const collect = async (path: string, startByte?: number, firstIndex?: number) => {
  const out: { index: number; text: string }[] = [];
  for await (const line of readLines(path, startByte, firstIndex)) out.push(line);
  return out;
};

describe('input lines', () => {
  // By hand: "a\r\n" (3 bytes), "" (1), "b\rc\n" (4), "é" (2 bytes, no newline): 4 lines, 10 bytes.
  const text = 'a\r\n\nb\rc\né';
  const path = file('mixed.jsonl', text);

  it('a line ends at "\\n" only; CRLF drops the "\\r"; a last line without "\\n" counts', async () => {
    expect(await collect(path)).toEqual([{ index: 0, text: 'a' }, { index: 1, text: '' }, { index: 2, text: 'b\rc' }, { index: 3, text: 'é' }]);
    expect(await collect(path, 4, 2)).toEqual([{ index: 2, text: 'b\rc' }, { index: 3, text: 'é' }]);
    expect(await scanRange(path, undefined)).toEqual({ firstIndex: 0, endIndex: 4, startByte: 0, sha256: sha(text) });
    expect(await scanRange(file('empty.jsonl', ''), undefined)).toEqual({ firstIndex: 0, endIndex: 0, startByte: 0, sha256: sha('') });
  });

  it('a range is found by line number, and identified by the sha256 of its bytes', async () => {
    expect(await scanRange(path, { first: 2, last: 3 })).toEqual({ firstIndex: 1, endIndex: 3, startByte: 3, sha256: sha('\nb\rc\n') });
    expect(await scanRange(path, { first: 3 })).toEqual({ firstIndex: 2, endIndex: 4, startByte: 4, sha256: sha('b\rc\né') });
    // From a start byte: the same answer, without reading what comes before.
    expect(await scanRange(path, { first: 3, startByte: 4 })).toEqual(await scanRange(path, { first: 3 }));
    // The same bytes at another path are the same range.
    expect((await scanRange(file('copy.jsonl', text), { first: 2, last: 3 })).sha256).toBe(sha('\nb\rc\n'));
  });

  it('refuses ranges outside the file, wrong start bytes and changed content', async () => {
    const bad: [Parameters<typeof scanRange>[1], RegExp, typeof ConfigError | typeof InvalidInputError][] = [
      [{ first: 5 }, /inside the input's 4 line\(s\)/, ConfigError],
      [{ first: 2, last: 5 }, /received 2:5/, ConfigError],
      [{ first: 3, startByte: 5 }, /a byte offset where a line starts .* 5, inside a line/, InvalidInputError],
      [{ first: 3, startByte: 11 }, /past the end \(10 bytes\)/, InvalidInputError],
      [{ first: 2, last: 3, sha256: sha('other') }, /other content \(sha256 [0-9a-f]{64}\); the input changed since it was split/, InvalidInputError],
    ];
    expect(bad).toHaveLength(5);
    for (const [range, message, kind] of bad) {
      const error = await scanRange(path, range, 'mine.lines (--lines)').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(kind);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('splits a file into contiguous ranges whose bytes concatenate to the file', async () => {
    const lines = Array.from({ length: 11 }, (_, i) => `{"i":${i},"s":"${'x'.repeat(i * 37 % 11)}"}`);
    const body = `${lines.join('\n')}\n`;
    const big = file('eleven.jsonl', body);
    const split = await splitInput(big, 4);
    expect(split.lines).toBe(11);
    expect(split.sha256).toBe(sha(body));
    expect(split.ranges.map((r) => [r.first, r.last])).toEqual([[1, 4], [5, 8], [9, 11]]);
    for (const r of split.ranges) {
      const part = lines.slice(r.first - 1, r.last).map((l) => `${l}\n`).join('');
      expect(r.sha256).toBe(sha(part));
      expect(r.startByte).toBe(Buffer.byteLength(lines.slice(0, r.first - 1).map((l) => `${l}\n`).join('')));
      expect(await scanRange(big, r)).toMatchObject({ firstIndex: r.first - 1, endIndex: r.last, startByte: r.startByte, sha256: r.sha256 });
    }
    // A last line without "\n" belongs to the last range; an exact multiple leaves no empty range.
    expect((await splitInput(file('nonl.jsonl', 'a\nb\nc'), 2)).ranges.map((r) => [r.first, r.last])).toEqual([[1, 2], [3, 3]]);
    expect((await splitInput(file('four.jsonl', 'a\nb\nc\nd\n'), 2)).ranges.map((r) => [r.first, r.last])).toEqual([[1, 2], [3, 4]]);
    expect((await splitInput(file('none.jsonl', ''), 2)).ranges).toEqual([]);
  });

  it('reads lines longer than a read chunk whole', async () => {
    const long = 'y'.repeat((1 << 20) + 123);
    const path2 = file('long.jsonl', `a\n${long}\nb\n`);
    const got = await collect(path2);
    expect(got.map((l) => l.text.length)).toEqual([1, long.length, 1]);
    expect(got[1].text).toBe(long);
  });
});
