/**
 * The lines of a JSONL input, by number and by content. This is the one place that decides what a
 * line is, so the mining loop, its progress total, `--lines` ranges and the producer of a
 * distributed run agree on every line's number:
 *
 * - a line is the bytes up to and including "\n"; a "\r" before the "\n" is not part of its text
 *   (CRLF files); a last line without "\n" still counts; a lone "\r" does not end a line;
 * - `index` is 0-based; a `LineRange` speaks as people and `<out>.errors.jsonl` do: 1-based,
 *   inclusive (`first`..`last`);
 * - a range's identity is the sha256 of its bytes (terminators included), not the file's path, so
 *   the same data mounted at another path is the same input.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { ConfigError, InvalidInputError, IoError, expectedMessage } from '../errors.js';

/** Lines `first`..`last` of an input (1-based, inclusive; `last` undefined: to the end). */
export interface LineRange {
  first: number;
  last?: number;
  /** Byte offset at which line `first` starts (a producer's hint: reading starts there, not at byte 0). */
  startByte?: number;
  /** sha256 of the range's bytes when the producer read them; other content is refused. */
  sha256?: string;
}

/** A range as found in the file. */
export interface ScannedRange {
  /** 0-based index of the range's first line. */
  firstIndex: number;
  /** 0-based index after its last line (firstIndex + number of lines). */
  endIndex: number;
  /** Byte offset of its first line. */
  startByte: number;
  /** sha256 (hex) of its bytes. */
  sha256: string;
}

/** A contiguous piece of a split input: a LineRange with every field known. */
export type InputRange = Required<LineRange>;

const NEWLINE = 10;

/**
 * The pieces of `path`'s lines from `startByte`, in order: each chunk of the file cut after every
 * "\n" (`ends`: the piece ends its line). A piece is a view of the stream's buffer, valid until
 * the next one is asked for. Read errors are IoErrors.
 */
async function* linePieces(path: string, startByte: number): AsyncGenerator<{ bytes: Buffer; ends: boolean }> {
  const stream = createReadStream(path, { start: startByte, highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      let pos = 0;
      while (pos < buf.length) {
        const nl = buf.indexOf(NEWLINE, pos);
        const end = nl >= 0 ? nl + 1 : buf.length;
        yield { bytes: buf.subarray(pos, end), ends: nl >= 0 };
        pos = end;
      }
    }
  } catch (error) {
    throw new IoError(expectedMessage('a readable JSONL file', path, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
  } finally {
    stream.destroy();
  }
}

/**
 * Walks `path` from `startByte` (the start of line `firstIndex`), calling `visit(index, bytes,
 * ends)` for each piece of each line (`ends`: the piece ends with the line's "\n"). `visit`
 * returns false to stop. Returns the number of lines seen up to where it stopped (the file's line
 * count when it read to the end) and whether it read to the end.
 */
async function walkLines(path: string, startByte: number, firstIndex: number, visit: (index: number, bytes: Buffer, ends: boolean) => boolean): Promise<{ lines: number; complete: boolean }> {
  let index = firstIndex;
  let partial = false;
  for await (const { bytes, ends } of linePieces(path, startByte)) {
    if (!visit(index, bytes, ends)) return { lines: index, complete: false };
    if (ends) index++;
    partial = !ends;
  }
  return { lines: partial ? index + 1 : index, complete: true };
}

/** Checks that `startByte` is where a line starts in `path` (byte 0, or just after a "\n"). */
function checkLineStart(path: string, startByte: number): void {
  const size = statSync(path).size;
  let before = NEWLINE;
  if (startByte > 0 && startByte <= size) {
    const fd = openSync(path, 'r');
    try {
      const one = Buffer.alloc(1);
      readSync(fd, one, 0, 1, startByte - 1);
      before = one[0];
    } finally {
      closeSync(fd);
    }
  }
  if (startByte > size || before !== NEWLINE) throw new InvalidInputError(expectedMessage('a byte offset where a line starts', `${path} (startByte)`, `${startByte}, ${startByte > size ? `past the end (${size} bytes)` : 'inside a line'}; the input changed since it was split`));
}

/** "1001:2000" (or "1001:" for an open end), as `--lines` takes it. */
export function formatLineRange(range: LineRange): string {
  return `${range.first}:${range.last ?? ''}`;
}

/**
 * Finds `range` (undefined: the whole file) in `path` in one pass: where it starts, how many lines
 * it has and the sha256 of its bytes. `forWhat` names the range in errors (e.g. "mine.lines (--lines)").
 * @throws ConfigError when the range is not inside the file; InvalidInputError when the file's
 *   content is not what `range.sha256` / `range.startByte` recorded.
 */
export async function scanRange(path: string, range: LineRange | undefined, forWhat = 'the line range'): Promise<ScannedRange> {
  const lo = range === undefined ? 0 : range.first - 1;
  const hi = range?.last ?? Infinity;
  const fromByte = range?.startByte ?? 0;
  if (range?.startByte !== undefined) checkLineStart(path, range.startByte);
  const fromIndex = range?.startByte === undefined ? 0 : lo;
  const hash = createHash('sha256');
  let offset = fromByte;
  let startByte: number | undefined;
  const { lines, complete } = await walkLines(path, fromByte, fromIndex, (index, bytes) => {
    if (index >= hi) return false;
    if (index >= lo) {
      startByte ??= offset;
      hash.update(bytes);
    }
    offset += bytes.length;
    return true;
  });
  // Read to the end: `lines` is the file's line count. Stopped at `hi`: the range is inside the file.
  if (range !== undefined && complete && (lo >= lines || hi > lines && hi !== Infinity)) {
    throw new ConfigError(expectedMessage(`a line range inside the input's ${lines} line(s) (${path})`, forWhat, formatLineRange(range)));
  }
  const scanned: ScannedRange = { firstIndex: lo, endIndex: Math.min(hi, lines), startByte: startByte ?? fromByte, sha256: hash.digest('hex') };
  if (range?.sha256 !== undefined && range.sha256 !== scanned.sha256) {
    throw new InvalidInputError(expectedMessage(`the bytes of lines ${formatLineRange(range)} that were split (sha256 ${range.sha256})`, path, `other content (sha256 ${scanned.sha256}); the input changed since it was split`));
  }
  return scanned;
}

/**
 * Splits `path` into ranges of `linesPerRange` lines in one pass (the last may be shorter): the
 * file's line count and sha256, and each range's first/last line, start byte and sha256.
 */
export async function splitInput(path: string, linesPerRange: number): Promise<{ lines: number; sha256: string; ranges: InputRange[] }> {
  const whole = createHash('sha256');
  const ranges: InputRange[] = [];
  let current: { first: number; startByte: number; hash: ReturnType<typeof createHash> } | undefined;
  let offset = 0;
  const close = (last: number) => {
    if (current !== undefined) ranges.push({ first: current.first, last, startByte: current.startByte, sha256: current.hash.digest('hex') });
    current = undefined;
  };
  const { lines } = await walkLines(path, 0, 0, (index, bytes, ends) => {
    whole.update(bytes);
    current ??= { first: index + 1, startByte: offset, hash: createHash('sha256') };
    current.hash.update(bytes);
    offset += bytes.length;
    if (ends && (index + 1) % linesPerRange === 0) close(index + 1);
    return true;
  });
  close(lines);
  return { lines, sha256: whole.digest('hex'), ranges };
}

/**
 * The lines of `path` as text, with their 0-based index, from `startByte` (which must start line
 * `firstIndex`). The "\n" and a "\r" before it are dropped. Stop early with `break`.
 */
export async function* readLines(path: string, startByte = 0, firstIndex = 0): AsyncGenerator<{ index: number; text: string }> {
  let pieces: Buffer[] = [];
  let index = firstIndex;
  const text = (parts: Buffer[]) => {
    const line = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    let end = line.length;
    if (end > 0 && line[end - 1] === NEWLINE) end--;
    if (end > 0 && line[end - 1] === 13) end--;
    return line.toString('utf8', 0, end);
  };
  for await (const { bytes, ends } of linePieces(path, startByte)) {
    if (!ends) {
      pieces.push(Buffer.from(bytes)); // copied: the stream may reuse its buffer
      continue;
    }
    pieces.push(bytes);
    const line = text(pieces);
    pieces = [];
    yield { index: index++, text: line };
  }
  if (pieces.length > 0) yield { index, text: text(pieces) };
}
