import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IoError } from '../../src/errors.js';
import { errorsPath, readCheckpoint, writeCheckpoint, type CheckpointState } from '../../src/io/checkpoint.js';
import { ATTEMPT_OUTPUT, mergeRanges, rangeFolder, startAttempt, type CommittedRange } from '../../src/io/mine-parts.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-parts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const read = (path: string) => readFileSync(path, 'utf8');
const state = (nextLine: number, out: string, errors: string, done = false): CheckpointState => ({
  version: 1, settingsHash: 'h', nextLine, outputBytes: Buffer.byteLength(out), errorBytes: Buffer.byteLength(errors), counts: { images: nextLine, phrases: 0, labels: 0, errors: 0, skipped: 0 }, done,
});
/** An attempt folder whose files hold `out` + `tail` (bytes written after its checkpoint) and whose checkpoint counts `out`. */
function attempt(rangeDir: string, name: string, nextLine: number, out: string, tail = '', done = false): void {
  const output = join(rangeDir, name, ATTEMPT_OUTPUT);
  mkdirSync(join(rangeDir, name), { recursive: true });
  writeFileSync(output, out + tail);
  writeFileSync(errorsPath(output), '');
  writeCheckpoint(output, state(nextLine, out, '', done));
}

describe('distributed mine files', () => {
  it('a new attempt starts from the most advanced checkpoint of the earlier ones', () => {
    const rangeDir = rangeFolder(join(scratch, 'run'), { first: 11, last: 20 });
    expect(rangeDir).toBe(join(scratch, 'run', '11-20'));
    const fresh = startAttempt(rangeDir, 'a0');
    expect(fresh).toEqual({ dir: join(rangeDir, 'a0'), output: join(rangeDir, 'a0', ATTEMPT_OUTPUT), resumesAt: undefined });
    attempt(rangeDir, 'a1', 13, 'r11\nr12\nr13\n', 'r14-torn');
    attempt(rangeDir, 'a2', 15, 'r11\nr12\nr13\nr14\nr15\n', 'r16\n');
    mkdirSync(join(rangeDir, 'a3'));
    writeFileSync(join(rangeDir, 'a3', `${ATTEMPT_OUTPUT}.checkpoint.json`), '{not json');
    const next = startAttempt(rangeDir, 'a4');
    expect(next.resumesAt).toBe(15);
    // The files are copied whole (mine() cuts them back to the checkpoint), the checkpoint as it was.
    expect(read(next.output)).toBe('r11\nr12\nr13\nr14\nr15\nr16\n');
    expect(readCheckpoint(next.output)).toEqual(state(15, 'r11\nr12\nr13\nr14\nr15\n', ''));
    // A finished attempt beats any line count.
    attempt(rangeDir, 'a5', 12, 'r11\nr12\n', '', true);
    expect(startAttempt(rangeDir, 'a6').resumesAt).toBe(12);
    expect(readCheckpoint(join(rangeDir, 'a6', ATTEMPT_OUTPUT))?.done).toBe(true);
  });

  it('merges committed ranges in input order into the output, its errors file and the final checkpoint', () => {
    const runDir = join(scratch, 'merge');
    const parts: CommittedRange[] = [];
    const texts = [['a\n', ''], ['b\nc\n', '{"line":5}\n'], ['d\n', '']];
    texts.forEach(([out, errors], i) => {
      const first = 1 + 3 * i;
      const dir = join(runDir, `${first}-${first + 2}`, 'x');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, ATTEMPT_OUTPUT), out);
      writeFileSync(errorsPath(join(dir, ATTEMPT_OUTPUT)), errors);
      parts.push({ first, last: first + 2, attempt: `${first}-${first + 2}/x`, outputBytes: out.length, errorBytes: errors.length, counts: { images: i + 1, phrases: 2, labels: 3, errors: errors ? 1 : 0, skipped: 0 } });
    });
    expect(parts).toHaveLength(3);
    const output = join(scratch, 'merged.jsonl');
    const final = mergeRanges(runDir, [parts[2], parts[0], parts[1]], output, { settingsHash: 'whole', lines: 9 });
    expect(read(output)).toBe('a\nb\nc\nd\n');
    expect(read(errorsPath(output))).toBe('{"line":5}\n');
    expect(final).toEqual({ version: 1, settingsHash: 'whole', nextLine: 9, outputBytes: 8, errorBytes: 11, counts: { images: 6, phrases: 6, labels: 9, errors: 1, skipped: 0 }, done: true });
    expect(read(`${output}.checkpoint.json`)).toBe(JSON.stringify(final));
    // Merged already: a retried merge rewrites nothing.
    const before = statSync(output).mtimeMs;
    rmSync(join(runDir, '1-3'), { recursive: true });
    expect(mergeRanges(runDir, parts, output, { settingsHash: 'whole', lines: 9 })).toEqual(final);
    expect(statSync(output).mtimeMs).toBe(before);
  });

  it('refuses ranges that do not cover the input once, and files of another size than committed', () => {
    const runDir = join(scratch, 'bad');
    const dir = join(runDir, '1-2', 'x');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ATTEMPT_OUTPUT), 'ab\n');
    writeFileSync(errorsPath(join(dir, ATTEMPT_OUTPUT)), '');
    const part: CommittedRange = { first: 1, last: 2, attempt: '1-2/x', outputBytes: 3, errorBytes: 0, counts: {} };
    const output = join(scratch, 'bad.jsonl');
    const cases: [CommittedRange[], number, string][] = [
      [[part], 3, 'Expected ranges covering lines 1..3 once for'],
      [[part, { ...part, first: 2, last: 3 }], 3, 'lines 2:3 after line 2'],
      [[{ ...part, outputBytes: 2 }], 2, 'Expected a committed range file of 2 bytes for'],
    ];
    expect(cases).toHaveLength(3);
    for (const [parts, lines, message] of cases) {
      const error = (() => { try { mergeRanges(runDir, parts, output, { settingsHash: 'h', lines }); } catch (e) { return e; } })();
      expect(error).toBeInstanceOf(IoError);
      expect((error as Error).message).toContain(message);
      expect(existsSync(output)).toBe(false);
    }
  });
});
