import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IoError } from '../../src/errors.js';
import { checkWritableFile } from '../../src/io/files.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('checkWritableFile: an output path checked before the work', () => {
  it('accepts a new or existing file in an existing folder', () => {
    writeFileSync(join(scratch, 'old.json'), '{}');
    expect(() => checkWritableFile(join(scratch, 'new.json'), '--json')).not.toThrow();
    expect(() => checkWritableFile(join(scratch, 'old.json'), '--json')).not.toThrow();
  });

  it('refuses a missing folder, a file where the folder should be, and a folder where the file should be', () => {
    mkdirSync(join(scratch, 'dir'));
    writeFileSync(join(scratch, 'plain'), 'x');
    const cases: [string, string][] = [
      [join(scratch, 'nodir', 'out.json'), `the folder ${join(scratch, 'nodir')} does not exist`],
      [join(scratch, 'plain', 'out.json'), `${join(scratch, 'plain')} is a file, not a folder`],
      [join(scratch, 'dir'), 'a folder'],
    ];
    for (const [path, reason] of cases) {
      let error: unknown;
      try {
        checkWritableFile(path, '--coco');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(IoError);
      expect((error as Error).message).toBe(`Expected ${reason === 'a folder' ? 'a file path' : 'a file in an existing folder'} for --coco but received ${path} (${reason}).`);
    }
  });
});
