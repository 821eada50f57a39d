/**
 * Image inputs from the command line: files, folders (searched recursively for image files) and
 * glob patterns, expanded in the order given, each folder or pattern sorted, duplicates dropped;
 * "-" is an image read from stdin, named "-" in every output.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { InvalidInputError, IoError, UsageError, expectedMessage } from '../errors.js';
import type { NamedBuffer } from '../image/read.js';
import { readTextFile } from './files.js';

export type { NamedBuffer };

/** The input that stands for stdin, and the name of the image read from it. */
export const STDIN_INPUT = '-';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'heic', 'heif', 'bmp'];

function isImagePath(path: string): boolean {
  const dot = path.lastIndexOf('.');
  return dot >= 0 && IMAGE_EXTENSIONS.includes(path.slice(dot + 1).toLowerCase());
}

/**
 * Expands files, folders and globs (and "-", stdin, kept as it is) into a list of image paths.
 * An input that matches nothing is an error: a path that does not exist an IoError (exit 7, as
 * for every file a user names), a folder without images or a pattern that matches nothing an
 * InvalidInputError (exit 3). No input at all is a UsageError.
 */
export async function expandImageInputs(inputs: readonly string[]): Promise<string[]> {
  if (inputs.length === 0) throw new UsageError(expectedMessage('at least one image, folder, glob pattern or - (stdin)', 'the inputs', 'none'));
  if (inputs.filter((i) => i === STDIN_INPUT).length > 1) throw new UsageError(expectedMessage('- (stdin) once', 'the inputs', `it ${inputs.filter((i) => i === STDIN_INPUT).length} times`));
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (path: string) => {
    const full = path === STDIN_INPUT ? path : resolve(path);
    if (!seen.has(full)) {
      seen.add(full);
      out.push(path);
    }
  };
  const missing: string[] = [];
  const empty: string[] = [];
  for (const input of inputs) {
    let stat;
    try {
      stat = input === STDIN_INPUT ? undefined : statSync(input);
    } catch {
      stat = undefined;
    }
    if (input === STDIN_INPUT || stat?.isFile()) {
      add(input); // named explicitly: taken whatever its extension, the decoder decides
    } else if (stat?.isDirectory()) {
      const found = (await glob(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, { cwd: input, caseSensitiveMatch: false, absolute: false })).sort();
      if (found.length === 0) empty.push(`${input} (a folder with no image files)`);
      for (const file of found) add(resolve(input, file));
    } else {
      const pattern = /[*?[{]/.test(input);
      const found = (await glob(input, { caseSensitiveMatch: true })).filter(isImagePath).sort();
      if (found.length === 0) (pattern ? empty : missing).push(pattern ? `${input} (a pattern that matches no image file)` : `${input} (no such file or folder)`);
      for (const file of found) add(file);
    }
  }
  const unmatched = [...missing, ...empty].join(', ');
  if (missing.length > 0) throw new IoError(expectedMessage('image files, folders or glob patterns that exist', 'the inputs', unmatched));
  if (empty.length > 0) throw new InvalidInputError(expectedMessage('image files, folders or glob patterns that exist', 'the inputs', unmatched));
  return out;
}

/**
 * The image piped to stdin (`regionclip detect - < photo.jpg`), named "-": read whole before any
 * model loads. A terminal on stdin is a usage error (nothing was piped); no bytes are invalid input.
 */
export async function readStdinImage(stdin: NodeJS.ReadStream = process.stdin): Promise<NamedBuffer> {
  if (stdin.isTTY === true) {
    throw new UsageError(expectedMessage('image bytes piped to stdin (e.g. regionclip detect - < photo.jpg)', 'the input -', 'a terminal'));
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const buffer = Buffer.concat(chunks);
  if (buffer.length === 0) throw new InvalidInputError(expectedMessage('image bytes on stdin', 'the input -', 'nothing (0 bytes)'));
  return { name: STDIN_INPUT, buffer };
}

/** The expanded inputs with "-" replaced by the image read from stdin (read here, once). */
export async function withStdinImage(paths: readonly string[]): Promise<(string | NamedBuffer)[]> {
  if (!paths.includes(STDIN_INPUT)) return [...paths];
  const stdin = await readStdinImage();
  return paths.map((path) => (path === STDIN_INPUT ? stdin : path));
}

/** Whether the inputs name files only (no folder, no pattern): one image named so gives one result object, not a list. */
export function namesFilesOnly(inputs: readonly string[]): boolean {
  return !inputs.some((i) => /[*?[{]/.test(i) || (existsSync(i) && statSync(i).isDirectory()));
}

/** A vocabulary file (`--vocab-file`): one label per line, taken whole (commas included). */
export function readVocabFile(path: string): string[] {
  return readTextFile(path, 'vocabulary').split(/\r?\n/);
}
