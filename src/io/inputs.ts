/**
 * Image inputs from the command line: files, folders (searched recursively for image files) and
 * glob patterns, expanded in the order given, each folder or pattern sorted, duplicates dropped.
 *
 * Which files: a file named explicitly is always taken (the decoder decides, and a file it cannot
 * read is an error naming it); from folders and patterns only the extensions sharp decodes are
 * taken (`IMAGE_EXTENSIONS`), and the other files are listed as skipped for the caller to report.
 * An existing file is taken literally even when its name has glob characters (`photo[1].jpg`).
 *
 * One identity per image: its path as the user would write it from the current folder, whatever
 * the form of the input that found it. A relative input gives relative paths, an absolute one
 * absolute paths, both normalized (`./a/1.jpg` → `a/1.jpg`); a folder's files are the folder as
 * written joined with their path inside it (`photos/` → `photos/a/1.jpg`); a relative pattern's
 * matches are relative to the current folder. Results (`image.path`) and `--boxes` keys
 * (io/boxes) use this path. "-" is an image read from stdin, named "-" in every output.
 */
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { InvalidInputError, IoError, UsageError, expectedMessage } from '../errors.js';
import type { NamedBuffer } from '../image/read.js';
import { readTextFile, statIfExists } from './files.js';

export type { NamedBuffer };

/** The input that stands for stdin, and the name of the image read from it. */
export const STDIN_INPUT = '-';

/**
 * Extensions of the formats sharp decodes from files (`sharp.format[*].input.fileSuffix`: JPEG,
 * PNG, WebP, GIF, TIFF, and AVIF through libheif; not HEIC, BMP or SVG, which image/read does not take).
 */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'jpe', 'jfif', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif'];

const GLOB_CHARACTERS = /[*?[\]{}()!]/;

function isImagePath(path: string): boolean {
  const dot = path.lastIndexOf('.');
  return dot >= 0 && IMAGE_EXTENSIONS.includes(path.slice(dot + 1).toLowerCase());
}

/** The image paths of a run's inputs. */
export interface ImageInputs {
  /** The images, in input order, each path by the identity rule above. */
  paths: string[];
  /** Files of the folders and patterns that were not taken (not an extension sharp decodes), in order. */
  skipped: string[];
  /** Whether every input named a file (no folder, no pattern): one image named so gives one result object, not a list. */
  namedFiles: boolean;
}

/**
 * Expands files, folders and globs (and "-", stdin, kept as it is) into image paths. An input that
 * matches nothing is an error: a path that does not exist an IoError (exit 7, as for every file a
 * user names), a folder without images or a pattern that matches none an InvalidInputError (exit
 * 3). No input at all, or "-" twice, is a UsageError.
 */
export async function expandImageInputs(inputs: readonly string[]): Promise<ImageInputs> {
  if (inputs.length === 0) throw new UsageError(expectedMessage('at least one image, folder, glob pattern or - (stdin)', 'the inputs', 'none'));
  const stdinCount = inputs.filter((i) => i === STDIN_INPUT).length;
  if (stdinCount > 1) throw new UsageError(expectedMessage('- (stdin) once', 'the inputs', `it ${stdinCount} times`));
  const seen = new Set<string>();
  const paths: string[] = [];
  const skipped: string[] = [];
  const add = (path: string) => {
    const full = resolve(path);
    if (!seen.has(full)) {
      seen.add(full);
      paths.push(path);
    }
  };
  const missing: string[] = [];
  const empty: string[] = [];
  let namedFiles = true;
  for (const input of inputs) {
    if (input === STDIN_INPUT) {
      paths.push(STDIN_INPUT);
      continue;
    }
    const stat = statIfExists(input);
    if (stat?.isFile()) {
      add(normalize(input)); // named explicitly: taken whatever its extension, the decoder decides
      continue;
    }
    namedFiles = false;
    // A folder's files are its path as written joined with theirs; a pattern's matches are relative to the current folder.
    const found = stat?.isDirectory()
      ? (await glob('**/*', { cwd: input, absolute: false })).sort().map((file) => join(input, file))
      : (await glob(input, { caseSensitiveMatch: true })).sort().map((file) => (isAbsolute(input) ? resolve(file) : normalize(file)));
    const images = found.filter(isImagePath);
    const notImages = found.filter((file) => !isImagePath(file));
    skipped.push(...notImages);
    if (images.length === 0) {
      const nothing = stat === undefined && !GLOB_CHARACTERS.test(input) && notImages.length === 0;
      (nothing ? missing : empty).push(`${input} (${describeEmpty(input, stat !== undefined, notImages)})`);
    }
    images.forEach(add);
  }
  const unmatched = [...missing, ...empty].join(', ');
  if (missing.length > 0) throw new IoError(expectedMessage('image files, folders or glob patterns that exist', 'the inputs', unmatched));
  if (empty.length > 0) throw new InvalidInputError(expectedMessage('image files, folders or glob patterns that exist', 'the inputs', unmatched));
  return { paths, skipped, namedFiles };
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

/** Why a folder or pattern gave no image, for the error. */
function describeEmpty(input: string, isFolder: boolean, notImages: readonly string[]): string {
  const what = isFolder ? 'a folder with no image file sharp decodes' : GLOB_CHARACTERS.test(input) ? 'a pattern that matches no image file sharp decodes' : 'no such file or folder';
  return notImages.length === 0 ? what : `${what}; skipped ${notImages.length}: ${fewNames(notImages)}`;
}

/** The first three names of a list, then "…". */
export function fewNames(names: readonly string[], count = 3): string {
  return names.slice(0, count).join(', ') + (names.length > count ? ', …' : '');
}

/** A vocabulary file (`--vocab-file`): one label per line, taken whole (commas included). */
export function readVocabFile(path: string): string[] {
  return readTextFile(path, 'vocabulary').split(/\r?\n/);
}
