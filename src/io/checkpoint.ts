/**
 * Exactly-once, resumable output for long runs. The output (and errors) files are only ever
 * appended to; every K input lines or T seconds (`CheckpointCadence`), both files are flushed to
 * stable storage (fsync) and then a checkpoint records the next input line and the byte length of
 * both files, replaced atomically (temporary file, fsync, rename, fsync of the folder). A run killed
 * at any moment — even by SIGKILL mid-write, or a machine losing power — resumes by truncating both
 * files to the checkpointed lengths (dropping anything written after it) and continuing from the
 * checkpointed line, so the final files equal those of an uninterrupted run: nothing lost, nothing
 * duplicated. The fsync before the checkpoint is what makes "the files hold at least the bytes the
 * checkpoint counts" true after a crash of the machine, not only of the process.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, IoError, UsageError, expectedMessage } from '../errors.js';

export interface CheckpointState {
  version: 1;
  /** Identifies the settings the run was started with; a resume with other settings is refused. */
  settingsHash: string;
  /** 0-based index of the first input line not yet processed. */
  nextLine: number;
  outputBytes: number;
  errorBytes: number;
  counts: Record<string, number>;
  done: boolean;
}

export function checkpointPath(outputPath: string): string {
  return `${outputPath}.checkpoint.json`;
}

/** Where the lines that failed go: `<output>.errors.jsonl`. */
export function errorsPath(outputPath: string): string {
  return `${outputPath}.errors.jsonl`;
}

export function readCheckpoint(outputPath: string): CheckpointState | undefined {
  const path = checkpointPath(outputPath);
  if (!existsSync(path)) return undefined;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as CheckpointState;
    if (state.version !== 1 || typeof state.nextLine !== 'number') throw new Error('unknown checkpoint format');
    return state;
  } catch (error) {
    throw new ConfigError(expectedMessage('a valid checkpoint', path, (error as Error).message), { cause: error });
  }
}

/** An append-only file whose length can be rolled back to a checkpoint. */
export class AppendFile {
  private readonly fd: number;
  bytes: number;

  constructor(readonly path: string, truncateTo: number) {
    try {
      this.fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
      const size = statSync(path).size;
      if (size < truncateTo) throw new Error(`the file has ${size} bytes, fewer than the ${truncateTo} the checkpoint records`);
      ftruncateSync(this.fd, truncateTo);
    } catch (error) {
      throw new IoError(expectedMessage('an output file consistent with its checkpoint', path, (error as Error).message), { cause: error });
    }
    this.bytes = truncateTo;
  }

  append(text: string): void {
    const data = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written, this.bytes + written);
    this.bytes += data.length;
  }

  /** Forces the appended bytes to stable storage (before a checkpoint counts them). */
  sync(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** fsync of a folder, so a rename inside it survives a crash of the machine (not supported everywhere: then skipped). */
function syncFolder(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms and file systems cannot open or fsync a folder; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeCheckpoint(outputPath: string, state: CheckpointState): void {
  const path = checkpointPath(outputPath);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncFolder(dirname(path));
}

/**
 * When to checkpoint: once `everyLines` lines or `everySeconds` seconds have passed since the last
 * checkpoint, whichever comes first (checked as each line is written). A kill loses at most that
 * much work; a checkpoint costs three fsyncs and a rename, which on network file systems is too
 * slow to pay on every line.
 */
export class CheckpointCadence {
  private lines = 0;
  private last = performance.now();

  constructor(readonly everyLines: number, readonly everySeconds: number) {}

  /** Counts one written line; true when a checkpoint is due. */
  tick(): boolean {
    this.lines++;
    return this.lines >= this.everyLines || performance.now() - this.last >= this.everySeconds * 1000;
  }

  /** A checkpoint was written: start counting again. */
  reset(): void {
    this.lines = 0;
    this.last = performance.now();
  }
}

/** Makes the run's files durable (fsync), then records `run.state` with their lengths in the checkpoint. */
export function commitCheckpoint(output: string, run: ResumableRun): void {
  run.out.sync();
  run.errors.sync();
  run.state = { ...run.state, outputBytes: run.out.bytes, errorBytes: run.errors.bytes };
  writeCheckpoint(output, run.state);
}

/** An output and its errors file, open for appending at the checkpointed lengths, with the run's state. */
export interface ResumableRun {
  state: CheckpointState;
  out: AppendFile;
  errors: AppendFile;
  /** The input line the run starts at (0 for a new run). */
  resumedFrom: number;
}

/**
 * Opens `output` and `<output>.errors.jsonl` for a run with settings `settingsHash`: `resume`
 * continues from the checkpoint (refused when the settings differ), `overwrite` starts over; an
 * existing output without either is never touched.
 */
export function openResumable(output: string, settingsHash: string, options: { resume?: boolean; overwrite?: boolean }): ResumableRun {
  const errors = errorsPath(output);
  let state: CheckpointState = { version: 1, settingsHash, nextLine: 0, outputBytes: 0, errorBytes: 0, counts: { images: 0, phrases: 0, labels: 0, errors: 0, skipped: 0 }, done: false };
  const previous = readCheckpoint(output);
  if (options.resume && previous !== undefined) {
    if (previous.settingsHash !== settingsHash) {
      throw new UsageError(expectedMessage('the settings the interrupted run used (model and its --dtype, thresholds, proposals, concepts, shard, lines, input content)', '--resume', 'different settings; rerun with the original ones or start over with --overwrite'));
    }
    state = previous;
  } else if (!options.overwrite && !options.resume && (existsSync(output) || previous !== undefined)) {
    throw new UsageError(expectedMessage('a new output path, --resume or --overwrite', output, 'an existing output'));
  } else {
    rmSync(output, { force: true });
    rmSync(errors, { force: true });
  }
  return { state, out: new AppendFile(output, state.outputBytes), errors: new AppendFile(errors, state.errorBytes), resumedFrom: state.nextLine };
}
