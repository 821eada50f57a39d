/** Shared CLI output helpers: writing result files and ending a run that had per-item failures. */
import { writeFileSync } from 'node:fs';
import { IoError, RegionClipError, expectedMessage } from '../errors.js';

/** Writes a file, turning a failure into an IoError naming the path. */
export function writeOutputFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new IoError(expectedMessage('a writable file', path, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
  }
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
