/** Reading and writing whole text files, with the one IoError for each (naming the path and the system's code). */
import { readFileSync, writeFileSync } from 'node:fs';
import { IoError, expectedMessage } from '../errors.js';

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error);

/** Reads a UTF-8 file; `what` names it in the error ("a readable <what> file"). */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new IoError(expectedMessage(`a readable ${what} file`, path, codeOf(error)), { cause: error });
  }
}

/** Writes a file, turning a failure into an IoError naming the path. */
export function writeTextFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new IoError(expectedMessage('a writable file', path, codeOf(error)), { cause: error });
  }
}
