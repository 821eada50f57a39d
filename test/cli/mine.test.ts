import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { repoRoot } from '../helpers/golden.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const model = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-mine-'));
const data = join(scratch, 'data');
const input = join(data, 'captions.jsonl');
const common = ['--model', model, '--proposals', '30', '--no-cache'];
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'mine', ...args], { encoding: 'utf8' });
const cliWithEnv = (env: Record<string, string>, ...args: string[]) => spawnSync(process.execPath, [bin, 'mine', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
const N = 24;

beforeAll(async () => {
  mkdirSync(join(data, 'imgs'), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    await sharp({ create: { width: 96, height: 72, channels: 3, background: { r: (i * 37) % 255, g: 90, b: 200 - i * 5 } } }).png().toFile(join(data, 'imgs', `i${i}.png`));
    lines.push(JSON.stringify(i % 5 === 0 ? { file_name: `imgs/i${i}.png`, image_id: 1000 + i, caption: 'two red squares on the sand' } : { image: `imgs/i${i}.png`, caption: 'a blue circle next to a green triangle', id: `img-${i}` }));
  }
  // Bad lines: invalid JSON, missing caption, a missing image, an absolute path, a path escaping the root, a link escaping it.
  writeFileSync(join(scratch, 'outside.png'), await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer());
  symlinkSync(join(scratch, 'outside.png'), join(data, 'imgs', 'link.png'));
  lines.splice(3, 0, '{not json');
  lines.splice(6, 0, JSON.stringify({ image: 'imgs/i1.png' }));
  lines.splice(9, 0, JSON.stringify({ image: 'imgs/nope.png', caption: 'a dog' }));
  lines.splice(12, 0, JSON.stringify({ image: join(data, 'imgs', 'i2.png'), caption: 'a dog' }));
  lines.splice(15, 0, JSON.stringify({ image: '../outside.png', caption: 'a dog' }));
  lines.splice(18, 0, JSON.stringify({ image: 'imgs/link.png', caption: 'a dog' }));
  writeFileSync(input, `${lines.join('\n')}\n`);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const read = (path: string) => readFileSync(path, 'utf8');
const records = (path: string) => read(path).trim().split('\n').map((l) => JSON.parse(l));

describe('regionclip mine', () => {
  const reference = join(scratch, 'reference.jsonl');

  it('mines every good line, sends bad lines to the errors file, and writes a COCO dataset', () => {
    const coco = join(scratch, 'reference.coco.json');
    const r = cli(input, '--out', reference, '--coco', coco, ...common);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/mined 24 image\(s\) .* 6 error\(s\)/);
    const out = records(reference);
    expect(out.map((o) => o.id)).toEqual(Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 1000 + i : `img-${i}`)));
    expect(out[1]).toMatchObject({ image: 'imgs/i1.png', width: 96, height: 72, caption: 'a blue circle next to a green triangle', phrases: ['blue circle', 'green triangle'] });
    for (const record of out) {
      for (const label of record.labels) {
        expect(record.phrases).toContain(label.phrase);
        expect(['region→phrase', 'phrase→region', 'both']).toContain(label.direction);
        expect(label.box[2]).toBeLessThanOrEqual(96);
        if (label.direction !== 'phrase→region') expect(label.score).toBeGreaterThan(0.1);
      }
      // every phrase gets its best region (phrase→region) unless below the floor
      expect(new Set(record.labels.map((l: { phrase: string }) => l.phrase)).size).toBeGreaterThan(0);
    }
    const errors = records(`${reference}.errors.jsonl`);
    expect(errors.map((e) => e.line)).toEqual([4, 7, 10, 13, 16, 19]);
    expect(errors[0].reason).toContain('invalid JSON');
    expect(errors[1].reason).toContain('a "caption" string');
    expect(errors[2].error).toBe('IoError');
    expect(errors[3].reason).toContain('the absolute path');
    expect(errors[4].reason).toContain('which leaves it');
    expect(errors[5].reason).toContain('a link that leaves it');
    const dataset = JSON.parse(read(coco));
    expect(dataset.images).toHaveLength(N);
    expect(dataset.categories.map((c: { name: string }) => c.name)).toEqual(['circle', 'sand', 'square', 'triangle']);
    expect(dataset.annotations.length).toBe(out.reduce((n, o) => n + o.labels.length, 0));
  });

  it('--strict stops at the first bad line with its exit code; an existing output needs --resume or --overwrite', () => {
    const strict = cli(input, '--out', join(scratch, 'strict.jsonl'), '--strict', ...common);
    expect(strict.status).toBe(EXIT_CODES.invalidInput);
    expect(records(join(scratch, 'strict.jsonl'))).toHaveLength(3);
    const again = cli(input, '--out', reference, ...common);
    expect(again.status).toBe(EXIT_CODES.usage);
    expect(again.stderr).toContain('--resume or --overwrite');
  });

  it('checks --out and --coco before any line is mined', () => {
    const out = join(scratch, 'unchecked.jsonl');
    const r = cli(input, '--out', out, '--coco', join(scratch, 'nodir', 'coco.json'), ...common);
    expect(r.status).toBe(EXIT_CODES.io);
    expect(r.stderr).toContain(`for coco (--coco) but received ${join(scratch, 'nodir', 'coco.json')} (the folder ${join(scratch, 'nodir')} does not exist)`);
    expect(existsSync(out)).toBe(false);
    const folder = cli(input, '--out', data, ...common);
    expect(folder.status).toBe(EXIT_CODES.io);
    expect(folder.stderr).toContain(`for output (--out) but received ${data} (a folder)`);
  });

  it('an input without a single line is invalid input, not a silent run of 0 images', () => {
    for (const [name, text] of [['empty.jsonl', ''], ['blank.jsonl', '\n  \n\n']] as const) {
      writeFileSync(join(scratch, name), text);
      const r = cli(join(scratch, name), '--out', join(scratch, `${name}.out`), ...common);
      expect(r.status).toBe(EXIT_CODES.invalidInput);
      expect(r.stderr.trim()).toBe(`regionclip: Expected at least one {"image", "caption"} line for ${join(scratch, name)} but received ${text === '' ? 'an empty file' : 'only blank lines'}.`);
      expect(existsSync(join(scratch, `${name}.out`))).toBe(false);
    }
  });

  it('embeds a concept pool up front with a text progress bar (--quiet: none)', () => {
    const one = join(data, 'one.jsonl');
    writeFileSync(one, `${JSON.stringify({ image: 'imgs/i1.png', caption: 'a blue circle' })}\n`);
    const concepts = join(scratch, 'concepts.txt');
    writeFileSync(concepts, Array.from({ length: 40 }, (_, i) => `concept ${i}`).join('\n'));
    const args = [one, '--concepts', concepts, '--source', 'concepts', ...common];
    const r = cli(...args, '--out', join(scratch, 'pool.jsonl'));
    expect(r.status).toBe(0);
    const text = r.stderr.split('\n').filter((l) => l.startsWith('text '));
    expect(text[0]).toMatch(/^text ░{24} 0\/40 /);
    expect(text.at(-1)).toMatch(/^text █{24} 40\/40 /);
    const quiet = cli(...args, '--out', join(scratch, 'pool-quiet.jsonl'), '--quiet');
    expect(quiet.status).toBe(0);
    expect(quiet.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^regionclip: mined 1 image\(s\)/)]);
    expect(records(join(scratch, 'pool-quiet.jsonl'))).toEqual(records(join(scratch, 'pool.jsonl')));
  });

  it('shards partition the run: together they equal the whole; i may come from an environment variable (Kubernetes Indexed Jobs)', () => {
    const parts = [0, 1, 2].map((i) => {
      const out = join(scratch, `shard${i}.jsonl`);
      // Shard 1 reads its index from JOB_COMPLETION_INDEX, as every pod of an Indexed Job can with one command line.
      const r = i === 1 ? cliWithEnv({ JOB_COMPLETION_INDEX: '1' }, input, '--out', out, '--shard', 'JOB_COMPLETION_INDEX/3', ...common) : cli(input, '--out', out, '--shard', `${i}/3`, ...common);
      expect(r.status).toBe(0);
      return records(out);
    });
    const merged = parts.flat().sort((a, b) => String(a.id).localeCompare(String(b.id)));
    const whole = records(reference).sort((a, b) => String(a.id).localeCompare(String(b.id)));
    expect(merged).toEqual(whole);
    expect(parts.every((p) => p.length > 0)).toBe(true);
    expect(cli(input, '--out', join(scratch, 'bad.jsonl'), '--shard', '3/3', ...common).status).toBe(EXIT_CODES.config);
    const unset = cli(input, '--out', join(scratch, 'bad.jsonl'), '--shard', 'REGIONCLIP_UNSET_INDEX/3', ...common);
    expect(unset.status).toBe(EXIT_CODES.config);
    expect(unset.stderr).toContain('Expected an environment variable REGIONCLIP_UNSET_INDEX holding an index 0 <= i < 3 (it is unset) for mine.shard (--shard) but received "REGIONCLIP_UNSET_INDEX/3".');
  });

  it('--lines mines only those lines, numbered as in the whole input', () => {
    // Lines 5..14 hold 7 good lines and the bad lines 7, 10 and 13.
    const errorLines = new Set([4, 7, 10, 13, 16, 19]);
    const good = Array.from({ length: N + errorLines.size }, (_, i) => i + 1).filter((line) => !errorLines.has(line));
    const whole = read(reference).trimEnd().split('\n');
    const expected = whole.filter((_, k) => good[k] >= 5 && good[k] <= 14).map((l) => `${l}\n`).join('');
    const out = join(scratch, 'lines.jsonl');
    const r = cli(input, '--out', out, '--lines', '5:14', ...common);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/mined 7 image\(s\) .* 3 error\(s\)/);
    expect(read(out)).toBe(expected);
    expect(records(`${out}.errors.jsonl`).map((e) => e.line)).toEqual([7, 10, 13]);
    const outside = cli(input, '--out', join(scratch, 'outside.jsonl'), '--lines', '31:', ...common);
    expect(outside.status).toBe(EXIT_CODES.config);
    expect(outside.stderr).toContain(`Expected a line range inside the input's 30 line(s) (${input}) for mine.lines (--lines) but received 31:.`);
  });

  it('killed with SIGKILL at random moments and resumed, it ends with exactly the uninterrupted records', async () => {
    const out = join(scratch, 'killed.jsonl');
    let kills = 0;
    for (let attempt = 0; attempt < 6 && kills < 4; attempt++) {
      const args = [bin, 'mine', input, '--out', out, ...common, '--checkpoint-lines', '2', ...(attempt === 0 ? [] : ['--resume'])];
      // Kill on the child's own progress (not a wall-clock delay, which a fast machine outruns):
      // a random 1 to 12 lines past the count this attempt started from.
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const ahead = 1 + Math.floor(Math.random() * 12);
      let startedAt: number | undefined;
      let stderr = '';
      const exited = await new Promise<boolean>((resolveExit) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const counts = [...stderr.matchAll(/ (\d+)\/\d+/g)];
          const done = counts.length > 0 ? Number(counts[counts.length - 1][1]) : 0;
          startedAt ??= done;
          if (done >= startedAt + ahead && child.exitCode === null && !child.killed) child.kill('SIGKILL');
        });
        child.on('exit', (code) => resolveExit(code === 0));
      });
      if (exited) break;
      kills++;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(kills).toBeGreaterThan(0);
    const final = cli(input, '--out', out, '--resume', ...common);
    expect(final.status).toBe(0);
    expect(read(out)).toBe(read(reference));
    expect(read(`${out}.errors.jsonl`)).toBe(read(`${reference}.errors.jsonl`));
    expect(existsSync(`${out}.checkpoint.json`)).toBe(true);
  }, 120_000);
});
