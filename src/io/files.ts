/**
 * Reading and writing whole text and JSON files: the one IoError for a file that cannot be read or
 * written (naming the path and the system's code), and one message for JSON that does not parse
 * (with its line and column), raised as the caller's kind of error: invalid input by default, a
 * configuration error for presets and manifests, a model error for a model's own files. Output
 * paths are checked before the work (`checkWritableFile`), so a run never ends unable to write.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, readFileSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, IoError, InvalidInputError, ModelLoadError, expectedMessage } from '../errors.js';

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

/** The file system entry at `path`, or undefined when there is none (ENOENT, or ENOTDIR: a file where a folder would be). */
export function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new IoError(expectedMessage('a path that can be inspected', path, codeOf(error)), { cause: error });
  }
}

/**
 * Checks, before any work, that `path` can be written as a file: it is not a folder, its folder
 * exists (it is not created) and can be written to. `what` names the option in the error ("--json").
 * @throws IoError naming `what`, the path and why.
 */
export function checkWritableFile(path: string, what: string): void {
  const target = statIfExists(path);
  if (target?.isDirectory()) throw new IoError(expectedMessage('a file path', what, `${path} (a folder)`));
  const folder = dirname(path);
  const parent = statIfExists(folder);
  if (parent === undefined) throw new IoError(expectedMessage('a file in an existing folder', what, `${path} (the folder ${folder} does not exist)`));
  if (!parent.isDirectory()) throw new IoError(expectedMessage('a file in an existing folder', what, `${path} (${folder} is a file, not a folder)`));
  try {
    accessSync(target === undefined ? folder : path, constants.W_OK);
  } catch (error) {
    throw new IoError(expectedMessage('a writable file', what, `${path} (${codeOf(error)})`), { cause: error });
  }
}

/** Which error a syntax error in a JSON file becomes: bad input (exit 3), bad configuration (exit 4) or a bad model file (exit 5). */
export type JsonErrorKind = 'input' | 'config' | 'model';

/** Parses JSON read from `path`; a syntax error names its line and column. */
export function parseJsonText(text: string, path: string, what: string, kind: JsonErrorKind = 'input'): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // One line: V8 quotes the text around the error, newlines included.
    const message = (error as Error).message.replace(/\s*\n\s*/g, ' ');
    const position = /position (\d+)/.exec(message);
    let hint = '';
    if (position !== null) {
      const at = Number(position[1]);
      const before = text.slice(0, at);
      hint += ` (line ${before.split('\n').length}, column ${at - before.lastIndexOf('\n')})`;
    }
    if (/Unexpected token '[NI-]'/.test(message) && /[:,[]\s*-?(NaN|Infinity)\b/.test(text)) hint += '; NaN and Infinity are not valid JSON numbers';
    const Kind = kind === 'config' ? ConfigError : kind === 'model' ? ModelLoadError : InvalidInputError;
    throw new Kind(expectedMessage(`valid JSON (${what})`, path, `a syntax error: ${message}${hint}`), { cause: error });
  }
}

/** Reads and parses a JSON file: IoError when unreadable, `kind`'s error when it does not parse. */
export function readJsonFile(path: string, what: string, kind: JsonErrorKind = 'input'): unknown {
  return parseJsonText(readTextFile(path, what), path, what, kind);
}

/** A file's content hash, streamed: hex sha256, or the git blob sha1 `sha1("blob <size>\0" + data)` (Hub etags, manifest hashes). */
export async function hashFile(path: string, kind: 'sha256' | 'git-sha1'): Promise<string> {
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') hash.update(`blob ${statSync(path).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
