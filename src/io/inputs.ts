/**
 * Image inputs from the command line: files, folders (searched recursively for image files) and
 * glob patterns, expanded in the order given, each folder or pattern sorted, duplicates dropped.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { InvalidInputError, expectedMessage } from '../errors.js';
import { readTextFile } from './files.js';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'heic', 'heif', 'bmp'];

function isImagePath(path: string): boolean {
  const dot = path.lastIndexOf('.');
  return dot >= 0 && IMAGE_EXTENSIONS.includes(path.slice(dot + 1).toLowerCase());
}

/** Expands files, folders and globs into a list of image paths. An input that matches nothing is an error. */
export async function expandImageInputs(inputs: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (path: string) => {
    const full = resolve(path);
    if (!seen.has(full)) {
      seen.add(full);
      out.push(path);
    }
  };
  const unmatched: string[] = [];
  for (const input of inputs) {
    let stat;
    try {
      stat = statSync(input);
    } catch {
      stat = undefined;
    }
    if (stat?.isFile()) {
      add(input); // named explicitly: taken whatever its extension, the decoder decides
    } else if (stat?.isDirectory()) {
      const found = (await glob(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, { cwd: input, caseSensitiveMatch: false, absolute: false })).sort();
      if (found.length === 0) unmatched.push(`${input} (a folder with no image files)`);
      for (const file of found) add(resolve(input, file));
    } else {
      const found = (await glob(input, { caseSensitiveMatch: true })).filter(isImagePath).sort();
      if (found.length === 0) unmatched.push(/[*?[{]/.test(input) ? `${input} (a pattern that matches no image file)` : `${input} (no such file or folder)`);
      for (const file of found) add(file);
    }
  }
  if (unmatched.length > 0) {
    throw new InvalidInputError(expectedMessage('image files, folders or glob patterns that exist', 'the inputs', unmatched.join(', ')));
  }
  return out;
}

/** Whether the inputs name files only (no folder, no pattern): one image named so gives one result object, not a list. */
export function namesFilesOnly(inputs: readonly string[]): boolean {
  return !inputs.some((i) => /[*?[{]/.test(i) || (existsSync(i) && statSync(i).isDirectory()));
}

/** A vocabulary file (`--vocab-file`): one label per line, taken whole (commas included). */
export function readVocabFile(path: string): string[] {
  return readTextFile(path, 'vocabulary').split(/\r?\n/);
}
