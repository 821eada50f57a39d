/**
 * `regionclip mine`'s input: image–caption pairs as JSONL (one `{"image", "caption", "id"?}` object a
 * line, or COCO-captions style `file_name` / `image_id`), or a COCO-captions JSON document
 * (`{"images": [{id, file_name, ...}], "annotations": [{image_id, caption}, ...]}`, pretty-printed or on
 * one line), detected by its content and read as one unit per image with all its captions.
 *
 * Either way the input is a sequence of units, each a JSON text the miner validates on its own (a bad
 * unit is that unit's error, not the run's): a JSONL file's lines as written (line k is unit k - 1,
 * io/input-lines decides what a line is), or, for a document, one `{"file_name", "image_id",
 * "captions": [...]}` per entry of `images`, in order. A JSONL file is streamed; a document is read
 * whole (JSON has no streaming form).
 */
import { createHash } from 'node:crypto';
import { ConfigError, InvalidInputError, describe, expectedMessage } from '../errors.js';
import { readTextFile } from './files.js';
import { formatLineRange, readLines, scanRange, type LineRange, type ScannedRange } from './input-lines.js';

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
  for await (const { text } of readLines(path)) if (text.trim().length > 0) return text;
  return '';
}

type CaptionsDocument = Json & { images: unknown[]; annotations: unknown[] };
/** The input's kind, with the document itself when it is one (read once: a document is parsed whole). */
type CaptionInput = { kind: 'jsonl' } | { kind: 'coco-captions'; doc: CaptionsDocument };

/**
 * What the input is: a COCO-captions document when its first line is one (minified) or when the first
 * line is not a JSON object but the whole file is a document (pretty-printed); JSONL otherwise (its bad
 * lines are then errors of their own).
 * @throws InvalidInputError for a whole-file JSON value that is neither (an array, a detection dataset without captions).
 */
async function readCaptionInput(path: string): Promise<CaptionInput> {
  const first = (await firstLine(path)).trim();
  let value: unknown;
  try {
    value = JSON.parse(first);
  } catch {
    if (!first.startsWith('{') && !first.startsWith('[')) return { kind: 'jsonl' };
    try {
      value = JSON.parse(readTextFile(path, 'captions'));
    } catch {
      return { kind: 'jsonl' };
    }
    if (!isCaptionsDocument(value)) {
      throw new InvalidInputError(expectedMessage('JSONL (one {"image", "caption"} object a line) or a COCO-captions document ({"images", "annotations"})', path, `a JSON ${Array.isArray(value) ? 'array' : 'object without "images" and "annotations" arrays'}`));
    }
    return { kind: 'coco-captions', doc: value };
  }
  return isCaptionsDocument(value) ? { kind: 'coco-captions', doc: value } : { kind: 'jsonl' };
}

/** What the input is (see readCaptionInput). */
export async function captionInputKind(path: string): Promise<CaptionInputKind> {
  return (await readCaptionInput(path)).kind;
}

/**
 * A COCO-captions document's units (`path` names it in errors): per image, `{"file_name", "image_id",
 * "captions"}` with its annotations' captions in file order. The image entries themselves are checked unit by unit.
 * @throws InvalidInputError for an annotation that is not an object with a caption string, or whose image_id names no image.
 */
function documentUnits(doc: CaptionsDocument, path: string): CaptionUnit[] {
  const ids = new Set(doc.images.map((image) => (isObject(image) ? image.id : undefined)));
  const captions = new Map<unknown, string[]>();
  doc.annotations.forEach((a, i) => {
    if (!isObject(a) || typeof a.caption !== 'string') throw new InvalidInputError(expectedMessage('an object with a "caption" string', `annotations[${i}] in ${path}`, isObject(a) ? describe(a.caption) : describe(a)));
    if (!ids.has(a.image_id)) throw new InvalidInputError(expectedMessage('the id of an image in "images"', `annotations[${i}].image_id in ${path}`, describe(a.image_id)));
    const list = captions.get(a.image_id);
    if (list === undefined) captions.set(a.image_id, [a.caption]);
    else list.push(a.caption);
  });
  return doc.images.map((image, index) => ({
    index,
    text: JSON.stringify(isObject(image) ? { file_name: image.file_name, image_id: image.id, captions: captions.get(image.id) ?? [] } : image),
  }));
}

/** Units `firstIndex` up to `endIndex` of an input, with the sha256 that identifies their content. */
export interface CaptionSource {
  kind: CaptionInputKind;
  /** The units asked for (a JSONL file: its lines, bytes and all; a document: its images). */
  range: ScannedRange;
  /** The range's units from `from` (0-based, at least `range.firstIndex`) on, in order. */
  units(from: number): AsyncGenerator<CaptionUnit>;
}

/**
 * Opens `path` for mining `range` (undefined: all of it). A JSONL file's range is its lines (io/input-lines'
 * scanRange: sha256 of the lines' bytes); a document's is its images, 1-based like lines, identified by the
 * sha256 of the units' texts (each followed by "\n"), so a moved or reformatted document with the same images
 * and captions is the same input. `forWhat` names the range in errors (e.g. "mine.lines (--lines)").
 * @throws ConfigError when the range is not inside the input; InvalidInputError for a bad document (see captionInputKind, documentUnits).
 */
export async function openCaptionSource(path: string, range: LineRange | undefined, forWhat = 'the line range'): Promise<CaptionSource> {
  const input = await readCaptionInput(path);
  const { kind } = input;
  if (input.kind === 'jsonl') {
    const scanned = await scanRange(path, range, forWhat);
    return {
      kind, range: scanned,
      async* units(from: number) {
        for await (const unit of readLines(path, scanned.startByte, scanned.firstIndex)) {
          if (unit.index >= scanned.endIndex) break;
          if (unit.index >= from) yield unit;
        }
      },
    };
  }
  const all = documentUnits(input.doc, path);
  const lo = range === undefined ? 0 : range.first - 1;
  const hi = range?.last ?? all.length;
  if (range !== undefined && (lo >= all.length || hi > all.length)) {
    throw new ConfigError(expectedMessage(`a range inside the document's ${all.length} image(s) (${path})`, forWhat, formatLineRange(range)));
  }
  const chosen = all.slice(lo, hi);
  const hash = createHash('sha256');
  for (const unit of chosen) hash.update(`${unit.text}\n`);
  const scanned: ScannedRange = { firstIndex: lo, endIndex: hi, startByte: 0, sha256: hash.digest('hex') };
  if (range?.sha256 !== undefined && range.sha256 !== scanned.sha256) {
    throw new InvalidInputError(expectedMessage(`the images ${formatLineRange(range)} that were split (sha256 ${range.sha256})`, path, `other content (sha256 ${scanned.sha256}); the input changed since it was split`));
  }
  return {
    kind, range: scanned,
    async* units(from: number) {
      yield* chosen.slice(Math.max(0, from - lo));
    },
  };
}
