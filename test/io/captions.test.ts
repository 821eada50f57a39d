import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { captionInputKind, openCaptionSource } from '../../src/io/captions.js';
import { ConfigError, InvalidInputError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-captions-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
};
const units = async (path: string, from = 0, range?: { first: number; last?: number }) => {
  const source = await openCaptionSource(path, range);
  const out = [];
  for await (const u of source.units(from)) out.push(u);
  return out;
};
const count = async (path: string) => {
  const { range } = await openCaptionSource(path, undefined);
  return range.endIndex - range.firstIndex;
};
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const doc = { images: [{ id: 20, file_name: 'a.jpg' }, { id: 'x', file_name: 'b.jpg' }], annotations: [{ image_id: 20, caption: 'one' }, { image_id: 'x', caption: 'two' }, { image_id: 20, caption: 'three' }] };

describe('caption input', () => {
  it('JSONL: one unit per line, blank lines and bad lines included (the miner reports them)', async () => {
    const path = file('c.jsonl', '{"image": "a.jpg", "caption": "a dog"}\n\n{not json\n{"image": "b.jpg", "caption": "x"}');
    expect(await captionInputKind(path)).toBe('jsonl');
    expect((await units(path)).map((u) => [u.index, u.text])).toEqual([[0, '{"image": "a.jpg", "caption": "a dog"}'], [1, ''], [2, '{not json'], [3, '{"image": "b.jpg", "caption": "x"}']]);
    expect((await units(path, 2)).map((u) => u.index)).toEqual([2, 3]);
    expect(await count(path)).toBe(4);
    expect((await units(path, 0, { first: 2, last: 3 })).map((u) => u.index)).toEqual([1, 2]);
  });

  it('a COCO-captions document, pretty or on one line: one unit per image with its captions in file order', async () => {
    for (const text of [JSON.stringify(doc, null, 2), JSON.stringify(doc)]) {
      const path = file('doc.json', text);
      expect(await captionInputKind(path)).toBe('coco-captions');
      expect((await units(path)).map((u) => [u.index, JSON.parse(u.text)])).toEqual([
        [0, { file_name: 'a.jpg', image_id: 20, captions: ['one', 'three'] }],
        [1, { file_name: 'b.jpg', image_id: 'x', captions: ['two'] }],
      ]);
      expect(await count(path)).toBe(2);
      // a range is of images, 1-based, identified by the units' content whatever the layout
      expect((await units(path, 0, { first: 2 })).map((u) => u.index)).toEqual([1]);
      const { range } = await openCaptionSource(path, { first: 1, last: 1 });
      expect(range).toEqual({ firstIndex: 0, endIndex: 1, startByte: 0, sha256: sha('{"file_name":"a.jpg","image_id":20,"captions":["one","three"]}\n') });
      await expect(openCaptionSource(path, { first: 2, last: 3 }, 'mine.lines (--lines)')).rejects.toThrow(ConfigError);
      await expect(openCaptionSource(path, { first: 2, last: 3 }, 'mine.lines (--lines)')).rejects.toThrow(`Expected a range inside the document's 2 image(s) (${path}) for mine.lines (--lines) but received 2:3.`);
    }
  });

  it('a JSON value that is neither, or a caption on no image, is invalid input naming the file', async () => {
    const array = file('array.json', '[\n  {"image": "a.jpg"}\n]\n');
    await expect(captionInputKind(array)).rejects.toThrow(InvalidInputError);
    await expect(captionInputKind(array)).rejects.toThrow(`Expected JSONL (one {"image", "caption"} object a line) or a COCO-captions document ({"images", "annotations"}) for ${array} but received a JSON array.`);
    const orphan = file('orphan.json', JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 2, caption: 'x' }] }));
    await expect(units(orphan)).rejects.toThrow(`Expected the id of an image in "images" for annotations[0].image_id in ${orphan} but received 2.`);
  });
});
