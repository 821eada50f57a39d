/**
 * The files of a distributed `mine` on shared storage: one folder per line range, one sub-folder
 * per attempt at it, and the merge of the committed attempts into the final output.
 *
 *   <runDir>/<first>-<last>/<attempt>/out.jsonl  (+ out.jsonl.errors.jsonl, out.jsonl.checkpoint.json)
 *
 * An attempt never writes into another's folder. A worker that lost its lock but still runs (paused,
 * cut off from Redis) can only spoil its own folder, which nobody commits: the queue completes a job
 * only for the lock holder, and the merge reads only the attempt each range's completed job names.
 * A new attempt starts from the most advanced checkpoint of the earlier ones (`startAttempt`): it
 * copies their output and errors (mine() cuts them back to the checkpointed bytes) and resumes there.
 *
 * The merge concatenates the committed ranges in input order into a temporary file, fsyncs it and
 * renames it over the output (then the same for the errors file), and writes the checkpoint a
 * single-process run would have written last: the result is byte for byte that run's.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { IoError, expectedMessage } from '../errors.js';
import { checkpointPath, errorsPath, readCheckpoint, writeCheckpoint, type CheckpointState } from './checkpoint.js';

/** The output file of an attempt, inside its folder. */
export const ATTEMPT_OUTPUT = 'out.jsonl';

/** A range a worker finished: what its job returns, and what the merge reads. */
export interface CommittedRange {
  first: number;
  last: number;
  /** The attempt's folder, relative to the run's folder. */
  attempt: string;
  outputBytes: number;
  errorBytes: number;
  counts: Record<string, number>;
}

/** The folder of one range of a run. */
export function rangeFolder(runDir: string, range: { first: number; last: number }): string {
  return join(runDir, `${range.first}-${range.last}`);
}

/** The most advanced checkpoint among a range's attempts (undefined: none has one yet). */
function bestAttempt(rangeDir: string): { dir: string; state: CheckpointState } | undefined {
  if (!existsSync(rangeDir)) return undefined;
  let best: { dir: string; state: CheckpointState } | undefined;
  for (const name of readdirSync(rangeDir)) {
    const dir = join(rangeDir, name);
    let state: CheckpointState | undefined;
    try {
      state = readCheckpoint(join(dir, ATTEMPT_OUTPUT));
    } catch {
      continue; // Not a checkpoint we can read: that attempt is simply not a starting point.
    }
    if (state === undefined) continue;
    const rank = (s: CheckpointState) => (s.done ? Infinity : s.nextLine);
    if (best === undefined || rank(state) > rank(best.state)) best = { dir, state };
  }
  return best;
}

/** Copies a file and flushes the copy to stable storage. */
function copyDurable(from: string, to: string): void {
  copyFileSync(from, to);
  const fd = openSync(to, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates attempt `name`'s folder in `rangeDir`, seeded with the most advanced earlier attempt
 * (its files and checkpoint), and returns the attempt's output path and the line it resumes at.
 */
export function startAttempt(rangeDir: string, name: string): { dir: string; output: string; resumesAt: number | undefined } {
  const dir = join(rangeDir, name);
  const output = join(dir, ATTEMPT_OUTPUT);
  try {
    const best = bestAttempt(rangeDir);
    mkdirSync(dir, { recursive: true });
    if (best === undefined) return { dir, output, resumesAt: undefined };
    const from = join(best.dir, ATTEMPT_OUTPUT);
    // The files first, the checkpoint last: a checkpoint never counts bytes its files lack.
    copyDurable(from, output);
    copyDurable(errorsPath(from), errorsPath(output));
    writeCheckpoint(output, best.state);
    return { dir, output, resumesAt: best.state.nextLine };
  } catch (error) {
    if (error instanceof IoError) throw error;
    throw new IoError(expectedMessage('a writable folder on the shared storage', dir, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
  }
}

/** Appends bytes [0, length) of `from` to the open file `fd`, a megabyte at a time. */
function appendPart(fd: number, from: string, length: number): void {
  const size = statSync(from).size;
  if (size !== length) throw new IoError(expectedMessage(`a committed range file of ${length} bytes`, from, `${size} bytes`));
  const buffer = Buffer.alloc(Math.min(1 << 20, Math.max(length, 1)));
  const input = openSync(from, 'r');
  try {
    for (let at = 0; at < length;) {
      const n = readSync(input, buffer, 0, Math.min(buffer.length, length - at), at);
      if (n === 0) throw new IoError(expectedMessage(`${length} bytes`, from, `${at} (the file shrank while merging)`));
      for (let written = 0; written < n;) written += writeSync(fd, buffer, written, n - written);
      at += n;
    }
  } finally {
    closeSync(input);
  }
}

/** Writes `target` as the concatenation of `parts` (path, bytes): temporary file, fsync, rename. */
function writeConcatenation(target: string, parts: { path: string; bytes: number }[], tag: string): number {
  const tmp = `${target}.${tag}.tmp`;
  const fd = openSync(tmp, 'w');
  let total = 0;
  try {
    for (const part of parts) {
      appendPart(fd, part.path, part.bytes);
      total += part.bytes;
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, target);
  return total;
}

/** The summed counts of committed ranges, keyed as a checkpoint keeps them. */
function sumCounts(parts: CommittedRange[]): Record<string, number> {
  const counts: Record<string, number> = { images: 0, phrases: 0, labels: 0, errors: 0, skipped: 0 };
  for (const part of parts) for (const [key, value] of Object.entries(part.counts)) counts[key] = (counts[key] ?? 0) + value;
  return counts;
}

/**
 * Merges a run's committed ranges into `output` (and its errors file) in input order, then writes
 * the final checkpoint (`settingsHash` of the whole run, `lines` lines, done). Already merged (the
 * final checkpoint says so): nothing is rewritten. Returns the final checkpoint.
 * @throws IoError when the ranges do not cover lines 1..`lines` exactly once, or a file is not the
 *   size its range committed.
 */
export function mergeRanges(runDir: string, parts: CommittedRange[], output: string, final: { settingsHash: string; lines: number }): CheckpointState {
  const previous = existsSync(checkpointPath(output)) ? readCheckpoint(output) : undefined;
  if (previous !== undefined && previous.done && previous.settingsHash === final.settingsHash && previous.nextLine === final.lines) return previous;
  const ordered = [...parts].sort((a, b) => a.first - b.first);
  let next = 1;
  for (const part of ordered) {
    if (part.first !== next || part.last < part.first) throw new IoError(expectedMessage(`ranges covering lines 1..${final.lines} once`, runDir, `lines ${part.first}:${part.last} after line ${next - 1}`));
    next = part.last + 1;
  }
  if (next !== final.lines + 1) throw new IoError(expectedMessage(`ranges covering lines 1..${final.lines} once`, runDir, `ranges up to line ${next - 1}`));
  const tag = `merge-${process.pid}`;
  const files = ordered.map((part) => join(runDir, part.attempt, ATTEMPT_OUTPUT));
  const outputBytes = writeConcatenation(output, ordered.map((part, i) => ({ path: files[i], bytes: part.outputBytes })), tag);
  const errorBytes = writeConcatenation(errorsPath(output), ordered.map((part, i) => ({ path: errorsPath(files[i]), bytes: part.errorBytes })), tag);
  const state: CheckpointState = { version: 1, settingsHash: final.settingsHash, nextLine: final.lines, outputBytes, errorBytes, counts: sumCounts(ordered), done: true };
  writeCheckpoint(output, state);
  return state;
}
