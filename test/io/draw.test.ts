import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { IoError } from '../../src/errors.js';
import { annotatedPaths, labelColour, renderDetections } from '../../src/io/draw.js';

describe('renderDetections', () => {
  it('draws each label in its own colour, with a readable tag', async () => {
    const image = { data: new Uint8Array(200 * 100 * 3).fill(128), width: 200, height: 100, channels: 3 };
    const png = renderDetections(image, [
      { label: 'cat', score: 0.9, box: [20, 40, 80, 90] },
      { label: 'dog', score: 0.8, box: [120, 40, 180, 90] },
    ]);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([200, 100]);
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    const cat = labelColour('cat', ['cat', 'dog']), dog = labelColour('dog', ['cat', 'dog']);
    expect(cat).not.toEqual(dog);
    expect(at(20, 65)).toEqual(cat); // left edge of the cat box
    expect(at(180, 65)).toEqual(dog);
    expect(at(50, 65)).toEqual([128, 128, 128]); // inside stays untouched
    // The tag sits above the box, filled with the label colour.
    expect(at(22, 40 - 3)).toEqual(cat);
  });
});

describe('annotatedPaths', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'regionclip-draw-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('one image: the path itself; several, or a folder: <folder>/<path inside the images\' common folder>.png', () => {
    expect(annotatedPaths(join(scratch, 'one.jpg'), ['photos/a.jpg'])('photos/a.jpg')).toBe(join(scratch, 'one.jpg'));
    const out = join(scratch, 'out');
    const images = ['photos/a/1.jpg', 'photos/b/1.jpg', 'photos/c.webp'];
    const pathOf = annotatedPaths(out, images);
    expect(images.map(pathOf)).toEqual([join(out, 'a', '1.png'), join(out, 'b', '1.png'), join(out, 'c.png')]);
    // Created up front, and the same folder can be written into again (no EEXIST).
    expect(statSync(out).isDirectory()).toBe(true);
    expect(annotatedPaths(out, ['photos/a/1.jpg'])('photos/a/1.jpg')).toBe(join(out, '1.png'));
    expect(annotatedPaths(`${join(scratch, 'new')}/`, ['x.jpg'])('x.jpg')).toBe(join(scratch, 'new', 'x.png'));
  });

  it('names stay unique when only the extension differs, whatever the input order', () => {
    const out = join(scratch, 'ext');
    const images = ['p/1.jpg', 'p/1.png', 'p/2.jpg'];
    const names = images.map(annotatedPaths(out, images));
    expect(names).toEqual([join(out, '1.jpg.png'), join(out, '1.png.png'), join(out, '2.png')]);
    const reversed = [...images].reverse();
    expect(reversed.map(annotatedPaths(out, reversed))).toEqual([...names].reverse());
  });

  it('refuses a target that is neither an image path nor a folder, or a folder where a file must go, before any image', () => {
    expect(() => annotatedPaths(join(scratch, 'no-extension'), ['a.jpg'])).toThrow(
      `Expected a .png, .jpg or .jpeg path, or a folder (an existing one, or a path ending in /) for --save but received "${join(scratch, 'no-extension')}".`,
    );
    writeFileSync(join(scratch, 'file.png'), 'x');
    expect(() => annotatedPaths(join(scratch, 'file.png'), ['a.jpg', 'b.jpg'])).toThrow(IoError);
    mkdirSync(join(scratch, 'taken', 'a.png'), { recursive: true });
    expect(() => annotatedPaths(join(scratch, 'taken'), ['a.jpg', 'b.jpg'])).toThrow(`Expected a file path for --save but received ${join(scratch, 'taken', 'a.png')} (a folder).`);
    expect(() => annotatedPaths(join(scratch, 'missing', 'x.png'), ['a.jpg'])).toThrow(IoError);
  });
});
