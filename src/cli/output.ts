/**
 * Shared CLI output helpers: writing result files, warnings and notices on stderr, ending a run that
 * had per-item failures, and what the built-in model says about itself.
 */
import { isBuiltinModel } from '../config/options.js';
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

/** What the built-in model is (README "Built-in model"), for --help and the notice on stderr. */
export const BUILTIN_MODEL_NOTE = 'the built-in model (models/world-rn-small), trained only on a synthetic world of emoji scenes: '
  + 'on real photos its answers mean little. For real weights see README "Real weights" and docs/models.md';

/**
 * One line on stderr when `model` (a reference as the pipelines take it) is the built-in model,
 * unless `quiet`; never on stdout, where JSON may go.
 */
export function noticeBuiltinModel(model: string, quiet: boolean | undefined): void {
  if (quiet !== true && isBuiltinModel(model)) process.stderr.write(`regionclip: using ${BUILTIN_MODEL_NOTE} (--model DIR; --quiet hides this line).\n`);
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
