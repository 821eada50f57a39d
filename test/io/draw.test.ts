import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { labelColour, renderDetections } from '../../src/io/draw.js';

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
