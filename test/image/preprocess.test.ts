import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/read.js';
import { clipResize, preprocessClip, CLIP_MEAN, CLIP_STD } from '../../src/image/preprocess.js';
import { sharedGolden, sharedGoldenDir, SKIP_NO_SHARED } from '../helpers/golden.js';

interface PreprocessEntry { file: string; original_size: [number, number]; resized_size: [number, number]; resampled: boolean; decoded_pixels_sha256: string; resized_rgb_u8_file: string; tensor_file: string }
const index = sharedGolden<{ images: PreprocessEntry[]; mean: number[]; std: number[]; n_px: number }>('preprocess/index.json');

describe.skipIf(index === null)('CLIP preprocessing parity (../shared/golden/preprocess)', () => {
  if (index === null) { it.skip(SKIP_NO_SHARED, () => {}); return; }
  const dir = join(sharedGoldenDir!, 'preprocess');
  it('uses OpenAI CLIP mean/std', () => {
    expect(CLIP_MEAN).toEqual(index.mean);
    expect(CLIP_STD).toEqual(index.std);
  });
  it.each(index.images.map((e) => [e.file, e] as const))('%s: decode, resized u8 and tensor identical', async (_file, entry) => {
    const decoded = await decodeImage(join(dir, entry.file));
    expect([decoded.width, decoded.height]).toEqual(entry.original_size);
    expect(createHash('sha256').update(decoded.data).digest('hex')).toBe(entry.decoded_pixels_sha256);
    const resized = clipResize(decoded, index.n_px);
    expect([resized.width, resized.height]).toEqual(entry.resized_size);
    const refResized = readFileSync(join(dir, entry.resized_rgb_u8_file));
    let u8Diff = 0;
    for (let i = 0; i < refResized.length; i++) if (resized.data[i] !== refResized[i]) u8Diff++;
    expect(u8Diff).toBe(0);
    const tensor = await preprocessClip(join(dir, entry.file), { size: index.n_px, mean: CLIP_MEAN, std: CLIP_STD });
    expect(tensor.dims).toEqual([3, 224, 224]);
    const refBytes = readFileSync(join(dir, entry.tensor_file));
    const ref = new Float32Array(refBytes.buffer.slice(refBytes.byteOffset, refBytes.byteOffset + refBytes.length));
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(tensor.data[i] - ref[i]));
    expect(maxErr).toBe(0);
  });
});
