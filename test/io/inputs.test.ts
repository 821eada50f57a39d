import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { expandImageInputs, IMAGE_EXTENSIONS } from '../../src/io/inputs.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-inputs-'));
const home = process.cwd();

beforeAll(async () => {
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } }).png().toBuffer();
  for (const path of ['photos/a/1.png', 'photos/b/1.png', 'photos/c.JPG', 'photo[1].png', 'photo1.png']) {
    mkdirSync(join(scratch, path, '..'), { recursive: true });
    writeFileSync(join(scratch, path), png);
  }
  // Files sharp cannot decode, judged by their extension.
  for (const path of ['photos/x.bmp', 'photos/notes.txt', 'photos/a/y.heic', 'bitmaps/only.bmp']) {
    mkdirSync(join(scratch, path, '..'), { recursive: true });
    writeFileSync(join(scratch, path), 'not decodable');
  }
});
afterEach(() => process.chdir(home));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('expandImageInputs: which files', () => {
  it('takes from a folder only the extensions sharp decodes, and lists what it skipped', async () => {
    process.chdir(scratch);
    const inputs = await expandImageInputs(['photos']);
    expect(inputs.paths).toEqual(['photos/a/1.png', 'photos/b/1.png', 'photos/c.JPG']);
    expect(inputs.skipped).toEqual(['photos/a/y.heic', 'photos/notes.txt', 'photos/x.bmp']);
    expect(inputs.namedFiles).toBe(false);
  });

  it('applies the same rule to glob matches', async () => {
    process.chdir(scratch);
    const inputs = await expandImageInputs(['photos/*']);
    expect(inputs.paths).toEqual(['photos/c.JPG']);
    expect(inputs.skipped).toEqual(['photos/notes.txt', 'photos/x.bmp']);
  });

  it('a folder with nothing decodable is an error that names what it skipped', async () => {
    process.chdir(scratch);
    const error = await expandImageInputs(['bitmaps']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toBe('Expected image files, folders or glob patterns that exist for the inputs but received bitmaps (a folder with no image file sharp decodes; skipped 1: bitmaps/only.bmp).');
  });

  it('takes a file named explicitly whatever its extension (the decoder decides)', async () => {
    process.chdir(scratch);
    const inputs = await expandImageInputs(['photos/x.bmp']);
    expect(inputs).toEqual({ paths: ['photos/x.bmp'], skipped: [], namedFiles: true });
  });

  it('lists only extensions sharp reads from files', () => {
    const readable = Object.values(sharp.format).flatMap((f) => (f.input.file ? ((f.input as { fileSuffix?: string[] }).fileSuffix ?? []) : []));
    expect(IMAGE_EXTENSIONS.length).toBeGreaterThan(0);
    for (const ext of IMAGE_EXTENSIONS) expect(readable).toContain(`.${ext}`);
    for (const ext of ['bmp', 'heic', 'heif']) expect(IMAGE_EXTENSIONS).not.toContain(ext);
  });
});

describe('expandImageInputs: one identity per image', () => {
  it('gives a file the same path whether named, found in a folder or matched by a glob', async () => {
    process.chdir(scratch);
    const named = await expandImageInputs(['./photos/a/1.png']);
    const folder = await expandImageInputs(['photos/a']);
    const globbed = await expandImageInputs(['photos/a/*.png']);
    expect(named.paths).toEqual(['photos/a/1.png']);
    expect(folder.paths).toEqual(['photos/a/1.png']);
    expect(globbed.paths).toEqual(['photos/a/1.png']);
  });

  it('keeps absolute inputs absolute, and drops a file given twice in two forms', async () => {
    process.chdir(scratch);
    const abs = join(scratch, 'photos', 'a');
    expect((await expandImageInputs([abs])).paths).toEqual([join(abs, '1.png')]);
    expect((await expandImageInputs([join(abs, '*.png')])).paths).toEqual([join(abs, '1.png')]);
    expect((await expandImageInputs(['photos/a/1.png', join(abs, '1.png'), 'photos/a'])).paths).toEqual(['photos/a/1.png']);
  });

  it('takes an existing file with glob characters literally, as one named file', async () => {
    process.chdir(scratch);
    const literal = await expandImageInputs(['photo[1].png']);
    expect(literal).toEqual({ paths: ['photo[1].png'], skipped: [], namedFiles: true });
    // Not a file: a pattern.
    const pattern = await expandImageInputs(['photo?.png']);
    expect(pattern.namedFiles).toBe(false);
    expect(pattern.paths).toEqual(['photo1.png']);
  });
});
