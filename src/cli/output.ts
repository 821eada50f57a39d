/** Shared CLI output helpers: writing result files, warnings and notices on stderr, and ending a run that had per-item failures. */
import { RegionClipError, expectedMessage } from '../errors.js';
import { writeTextFile } from '../io/files.js';
import { fewNames } from '../io/inputs.js';

/** Prints a warning on stderr: the library's `onWarning` for the CLI. */
export function warn(message: string): void {
  console.error(`regionclip: warning: ${message}`);
}

/** Says on stderr which files of the folders and patterns were not taken (io/inputs), if any. */
export function reportSkipped(skipped: readonly string[]): void {
  if (skipped.length > 0) console.error(`regionclip: skipped ${skipped.length} file(s) sharp does not decode (by extension): ${fewNames(skipped)}`);
}

/** Writes JSON to stdout (one line) or to a file (indented), ending with a newline. */
export function writeJson(target: string, toStdout: boolean, value: unknown): void {
  const text = `${JSON.stringify(value, null, toStdout ? undefined : 2)}\n`;
  if (toStdout) process.stdout.write(text);
  else writeTextFile(target, text);
}

/**
 * After every item ran: when some failed, throws an error of the first failure's kind (so the exit
 * code says what went wrong) naming how many failed and which.
 */
export function throwIfFailures(failures: readonly { path: string; error: RegionClipError }[], what: string, command: string): void {
  if (failures.length === 0) return;
  const first = failures[0].error;
  const names = failures.slice(0, 3).map((f) => f.path).join(', ') + (failures.length > 3 ? ', …' : '');
  const Kind = first.constructor as new (message: string, options?: { cause?: unknown }) => RegionClipError;
  throw new Kind(expectedMessage(what, command, `${failures.length} failure(s): ${names}; first: ${first.message.replace(/\.$/, '')}`), { cause: first });
}
