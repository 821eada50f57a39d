/**
 * The mined pseudo-label format (`regionclip mine`'s JSONL, one record per image) and its COCO
 * dataset export: categories are the concepts (ids by sorted name), annotations carry the score.
 */
import { createReadStream } from 'node:fs';
import { InvalidInputError, expectedMessage } from '../errors.js';
import { readTextFile } from './files.js';
import { createInterface } from 'node:readline';
import type { LabelDirection } from '../mining/match.js';
import { writeCocoDataset, type CocoDataset } from './coco.js';

export interface MinedLabel {
  box: [number, number, number, number];
  phrase: string;
  concept: string;
  score: number;
  direction: LabelDirection;
}

export interface MinedRecord {
  id: string | number;
  image: string;
  width: number;
  height: number;
  caption: string;
  phrases: string[];
  labels: MinedLabel[];
}

/** A COCO dataset from a mined JSONL: categories are the concepts (ids by sorted name), annotations carry the score. */
export async function minedToCoco(path: string): Promise<CocoDataset> {
  const images: CocoDataset['images'] = [];
  const raw: { imageId: number; label: MinedLabel }[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const text of lines) {
    if (text.trim().length === 0) continue;
    const record = JSON.parse(text) as MinedRecord;
    const imageId = images.length + 1;
    images.push({ id: imageId, file_name: record.image, width: record.width, height: record.height });
    for (const label of record.labels) raw.push({ imageId, label });
  }
  const names = [...new Set(raw.map((r) => r.label.concept))].sort();
  const ids = new Map(names.map((n, i) => [n, i + 1]));
  const annotations = raw.map(({ imageId, label }, i) => {
    const [x1, y1, x2, y2] = label.box;
    const w = Math.max(0, x2 - x1), h = Math.max(0, y2 - y1);
    return { id: i + 1, image_id: imageId, category_id: ids.get(label.concept)!, bbox: [x1, y1, w, h] as [number, number, number, number], area: w * h, iscrowd: 0 as const, score: label.score };
  });
  return { images, categories: names.map((name) => ({ id: ids.get(name)!, name })), annotations } as CocoDataset;
}


/** Writes the COCO dataset of a mined JSONL (`--coco`). */
export async function writeMinedCoco(path: string, minedJsonl: string): Promise<void> {
  writeCocoDataset(path, await minedToCoco(minedJsonl));
}

/** A concept pool (`--concepts`): one per line, trimmed, blank lines and repeats dropped. */
export function readConcepts(path: string): string[] {
  const text = readTextFile(path, 'concepts');
  const concepts = [...new Set(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0))];
  if (concepts.length === 0) throw new InvalidInputError(expectedMessage('at least one concept (one per line)', path, 'an empty file'));
  return concepts;
}
