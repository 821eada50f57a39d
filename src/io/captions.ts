/**
 * `regionclip mine`'s input: image–caption pairs as JSONL (one `{"image", "caption", "id"?}` object a
 * line, or COCO-captions style `file_name` / `image_id`), or a COCO-captions JSON document
 * (`{"images": [{id, file_name, ...}], "annotations": [{image_id, caption}, ...]}`, pretty-printed or on
 * one line), detected by its content and read as one unit per image with all its captions.
 *
 * Either way the input is a sequence of units, each a JSON text the miner validates on its own (a bad
 * unit is that unit's error, not the run's): a JSONL file's lines as written (line k is unit k - 1),
 * or, for a document, one `{"file_name", "image_id", "captions": [...]}` per entry of `images`, in order.
 * A JSONL file is streamed; a document is read whole (JSON has no streaming form).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidInputError, describe, expectedMessage } from '../errors.js';
import { parseJsonText, readTextFile } from './files.js';

export type CaptionInputKind = 'jsonl' | 'coco-captions';

export interface CaptionUnit {
  /** 0-based: the JSONL line, or the image's position in a document's `images`. */
  index: number;
  text: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCaptionsDocument = (v: unknown): v is Json & { images: unknown[]; annotations: unknown[] } => isObject(v) && Array.isArray(v.images) && Array.isArray(v.annotations);

async function firstLine(path: string): Promise<string> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim().length === 0) continue;
    lines.close();
    return line;
  }
  return '';
}

/**
 * What the input is: a COCO-captions document when its first line is one (minified) or when the first
 * line is not a JSON object but the whole file is a document (pretty-printed); JSONL otherwise (its bad
 * lines are then errors of their own).
 * @throws InvalidInputError for a whole-file JSON value that is neither (an array, a detection dataset without captions).
 */
export async function captionInputKind(path: string): Promise<CaptionInputKind> {
  const first = (await firstLine(path)).trim();
  let value: unknown;
  try {
    value = JSON.parse(first);
  } catch {
    if (!first.startsWith('{') && !first.startsWith('[')) return 'jsonl';
    try {
      value = JSON.parse(readTextFile(path, 'captions'));
    } catch {
      return 'jsonl';
    }
    if (!isCaptionsDocument(value)) {
      throw new InvalidInputError(expectedMessage('JSONL (one {"image", "caption"} object a line) or a COCO-captions document ({"images", "annotations"})', path, `a JSON ${Array.isArray(value) ? 'array' : 'object without "images" and "annotations" arrays'}`));
    }
    return 'coco-captions';
  }
  return isCaptionsDocument(value) ? 'coco-captions' : 'jsonl';
}

/**
 * A COCO-captions document's units: per image, `{"file_name", "image_id", "captions"}` with its
 * annotations' captions in file order. The image entries themselves are checked unit by unit.
 * @throws InvalidInputError for an annotation that is not an object with a caption string, or whose image_id names no image.
 */
export function captionsDocumentUnits(path: string): CaptionUnit[] {
  const doc = parseJsonText(readTextFile(path, 'COCO captions'), path, 'COCO captions');
  if (!isCaptionsDocument(doc)) throw new InvalidInputError(expectedMessage('a COCO-captions document with "images" and "annotations" arrays', path, describe(doc)));
  const ids = new Set(doc.images.map((image) => (isObject(image) ? image.id : undefined)));
  const captions = new Map<unknown, string[]>();
  doc.annotations.forEach((a, i) => {
    if (!isObject(a) || typeof a.caption !== 'string') throw new InvalidInputError(expectedMessage('an object with a "caption" string', `annotations[${i}] in ${path}`, isObject(a) ? describe(a.caption) : describe(a)));
    if (!ids.has(a.image_id)) throw new InvalidInputError(expectedMessage('the id of an image in "images"', `annotations[${i}].image_id in ${path}`, describe(a.image_id)));
    captions.set(a.image_id, [...(captions.get(a.image_id) ?? []), a.caption]);
  });
  return doc.images.map((image, index) => ({
    index,
    text: JSON.stringify(isObject(image) ? { file_name: image.file_name, image_id: image.id, captions: captions.get(image.id) ?? [] } : image),
  }));
}

/** The input's units from `from` on (see the module comment); blank JSONL lines are units too (the miner skips them). */
export async function* captionUnits(path: string, from = 0): AsyncGenerator<CaptionUnit> {
  if ((await captionInputKind(path)) === 'coco-captions') {
    yield* captionsDocumentUnits(path).slice(from);
    return;
  }
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let index = -1;
  for await (const text of lines) {
    index++;
    if (index >= from) yield { index, text };
  }
}

/** How many units the input has (a document: its images; JSONL: its lines, a last one without a newline counted). */
export async function countCaptionUnits(path: string): Promise<number> {
  if ((await captionInputKind(path)) === 'coco-captions') return captionsDocumentUnits(path).length;
  let count = 0, last = 10;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    for (let i = 0; i < buf.length; i++) if (buf[i] === 10) count++;
    if (buf.length > 0) last = buf[buf.length - 1];
  }
  return last === 10 ? count : count + 1;
}
