import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { parseCocoDataset } from '../../src/io/coco.js';
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
    expect(out[1]).toMatchObject({ image: 'imgs/i1.png', line: 2, width: 96, height: 72, captions: ['a blue circle next to a green triangle'], phrases: ['blue circle', 'green triangle'] });
    expect(out.map((o) => o.line)).toEqual([1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    for (const record of out) {
      // caption rule: at most one label per phrase, two for "two red squares", none under --min-score, boxes inside the image
      for (const phrase of record.phrases) expect(record.labels.filter((l: { phrase: string }) => l.phrase === phrase).length).toBeLessThanOrEqual(phrase === 'red square' ? 2 : 1);
      for (const label of record.labels) {
        expect(record.phrases).toContain(label.phrase);
        expect(label.direction).toBe('phrase→region');
        expect(label.box[2]).toBeLessThanOrEqual(96);
        expect(label.score).toBeGreaterThanOrEqual(0.05);
      }
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
      expect(r.stderr.trim()).toBe(`regionclip: Expected at least one {"image", "caption"} line (or a COCO-captions document) for ${join(scratch, name)} but received ${text === '' ? 'an empty file' : 'only blank lines'}.`);
      expect(existsSync(join(scratch, `${name}.out`))).toBe(false);
    }
  });

  it('embeds a concept pool up front with a text progress bar (--quiet: none)', () => {
    const one = join(data, 'one.jsonl');
    writeFileSync(one, `${JSON.stringify({ image: 'imgs/i1.png', caption: 'a blue circle' })}\n`);
    const concepts = join(scratch, 'concepts.txt');
    writeFileSync(concepts, Array.from({ length: 40 }, (_, i) => `concept ${i}`).join('\n'));
    const args = [one, '--concepts', concepts, '--rule', 'regionclip', ...common];
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

  it('SIGINT stops after the line in hand, writes the checkpoint (none was due), exits 130; --resume ends with the uninterrupted records', async () => {
    const out = join(scratch, 'interrupted.jsonl');
    // No periodic checkpoint would be written before the end: only the signal's.
    const args = [bin, 'mine', input, '--out', out, ...common, '--checkpoint-lines', '1000', '--checkpoint-seconds', '3600'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let signalledAt: number | undefined;
    const code = await new Promise<number | null>((resolveExit) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const counts = [...stderr.matchAll(/ (\d+)\/\d+/g)];
        const done = counts.length > 0 ? Number(counts[counts.length - 1][1]) : 0;
        if (signalledAt === undefined && done >= 3) {
          signalledAt = done;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolveExit(c));
    });
    expect(signalledAt, stderr).toBeDefined();
    expect(code, stderr).toBe(EXIT_CODES.interrupted);
    expect(stderr).toContain('regionclip mine: stopping after the line in hand; its checkpoint is written, and the same command with --resume continues (SIGINT again to quit at once)');
    expect(stderr).toContain(`regionclip: Expected the run to finish for mine but received SIGINT; the checkpoint ${out}.checkpoint.json records the lines done: rerun with --resume to continue.`);
    const checkpoint = JSON.parse(read(`${out}.checkpoint.json`));
    expect(checkpoint.nextLine).toBeGreaterThanOrEqual(signalledAt!);
    expect(checkpoint.nextLine).toBeLessThan(N + 6);
    const resumed = cli(input, '--out', out, '--resume', ...common);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(read(out)).toBe(read(reference));
    expect(read(`${out}.errors.jsonl`)).toBe(read(`${reference}.errors.jsonl`));
  }, 120_000);
});

describe('regionclip mine: inputs, identity and formats', () => {
  const doc = {
    images: [
      { id: 20, file_name: 'imgs/i0.png', width: 96, height: 72 },
      { id: 'cc3m_000123', file_name: 'imgs/i1.png', width: 96, height: 72 },
      { id: 7, file_name: 'imgs/i2.png', width: 96, height: 72 },
    ],
    annotations: [
      { id: 1, image_id: 20, caption: 'a blue circle next to a green triangle' },
      { id: 2, image_id: 'cc3m_000123', caption: 'two red squares on the sand' },
      { id: 3, image_id: 20, caption: 'a red square' },
    ],
  };
  const loose = ['--min-score', '0'];

  it('a --root that is not a folder, and a missing --concepts or --distractors file, are exit 7 naming the flag, before any line is mined; --resume with --overwrite is a usage error', () => {
    const out = join(scratch, 'root-check.jsonl');
    const root = cli(input, '--out', out, ...common, '--root', join(scratch, 'no-such-root'));
    expect(root.status).toBe(EXIT_CODES.io);
    expect(root.stderr).toContain(`Expected an existing folder (the images' paths are relative to it) for mine.root (--root) but received ${join(scratch, 'no-such-root')}, a path that does not exist.`);
    const file = cli(input, '--out', out, ...common, '--root', input);
    expect(file.status).toBe(EXIT_CODES.io);
    expect(file.stderr).toContain(`${input}, a file.`);
    expect(existsSync(`${out}.errors.jsonl`)).toBe(false);
    const distractors = cli(input, '--out', out, ...common, '--distractors', join(scratch, 'none.txt'));
    expect(distractors.status).toBe(EXIT_CODES.io);
    expect(distractors.stderr).toContain(`Expected a readable distractors (--distractors) file for ${join(scratch, 'none.txt')}`);
    const both = cli(input, '--out', out, ...common, '--resume', '--overwrite');
    expect(both.status).toBe(EXIT_CODES.usage);
    expect(both.stderr).toContain('Expected either --resume (continue the run) or --overwrite (start it over) for mine but received both.');
    const concepts = cli(input, '--out', out, ...common, '--concepts', join(scratch, 'none.txt'));
    expect(concepts.status).toBe(EXIT_CODES.io);
    expect(concepts.stderr).toContain(`Expected a readable concepts (--concepts) file for ${join(scratch, 'none.txt')}`);
  });

  it('reads a COCO-captions JSON document (pretty or minified) as such: one record per image, its captions merged, ids kept', () => {
    for (const [name, text] of [['pretty', JSON.stringify(doc, null, 2)], ['minified', JSON.stringify(doc)]]) {
      const path = join(data, `captions-${name}.json`);
      writeFileSync(path, text);
      const out = join(scratch, `doc-${name}.jsonl`);
      const r = cli(path, '--out', out, ...common, ...loose);
      expect(r.status, r.stderr).toBe(0);
      const out1 = records(out);
      expect(out1.map((o) => [o.id, o.line, o.image, o.captions])).toEqual([
        [20, 1, 'imgs/i0.png', ['a blue circle next to a green triangle', 'a red square']],
        ['cc3m_000123', 2, 'imgs/i1.png', ['two red squares on the sand']],
        [7, 3, 'imgs/i2.png', []],
      ]);
      expect(out1[0].phrases).toEqual(['blue circle', 'green triangle', 'red square']);
      expect(out1[2].labels).toEqual([]);
      if (name !== 'pretty') continue;
      // --lines counts a document's images: 2:3 is the whole run's records 2 and 3, byte for byte.
      const part = join(scratch, `doc-${name}-2-3.jsonl`);
      const p = cli(path, '--out', part, '--lines', '2:3', ...common, ...loose);
      expect(p.status, p.stderr).toBe(0);
      expect(read(part)).toBe(read(out).split('\n').slice(1).join('\n'));
      const outside = cli(path, '--out', join(scratch, `doc-${name}-4.jsonl`), '--lines', '4:4', ...common);
      expect(outside.status).toBe(EXIT_CODES.config);
      expect(outside.stderr.trim()).toBe(`regionclip: Expected a range inside the document's 3 image(s) (${path}) for mine.lines (--lines) but received 4:4.`);
    }
  });

  it('--distractors adds concepts that compete with the caption phrases (lower probabilities, never labels); a resume with other distractors is refused', () => {
    const path = join(data, 'distract.jsonl');
    writeFileSync(path, `${JSON.stringify({ image: 'imgs/i0.png', caption: 'a blue circle next to a green triangle' })}\n`);
    const extra = join(scratch, 'extra-distractors.txt');
    writeFileSync(extra, 'red square\nyellow star\nblue circle\n');
    const plain = join(scratch, 'distract-none.jsonl'), with_ = join(scratch, 'distract-extra.jsonl');
    expect(cli(path, '--out', plain, ...common, ...loose, '--objectness', '0').status).toBe(0);
    const r = cli(path, '--out', with_, ...common, ...loose, '--objectness', '0', '--distractors', extra);
    expect(r.status, r.stderr).toBe(0);
    const [a] = records(plain), [b] = records(with_);
    expect(b.phrases).toEqual(a.phrases);
    expect(new Set(b.labels.map((l: { concept: string }) => l.concept))).not.toContain('red square');
    const best = (rec: typeof a, phrase: string) => Math.max(0, ...rec.labels.filter((l: { phrase: string }) => l.phrase === phrase).map((l: { score: number }) => l.score));
    // "blue circle" is the caption's own phrase: taken out of the distractors; the other two compete.
    expect(best(b, 'green triangle')).toBeLessThan(best(a, 'green triangle'));
    const resumed = cli(path, '--out', with_, ...common, ...loose, '--objectness', '0', '--resume');
    expect(resumed.status).toBe(EXIT_CODES.usage);
  });

  it('records carry their input line; --coco keeps numeric ids, keeps string ids as source_id, lists each image once with the labels of all its lines', () => {
    const lines = [
      { file_name: 'imgs/i0.png', image_id: 20, caption: 'a blue circle' },
      { file_name: 'imgs/i0.png', image_id: 20, caption: 'a green triangle' },
      { image: 'imgs/i1.png', id: 'cc3m_000123', caption: 'two red squares' },
      { image: 'imgs/i2.png', caption: 'a dog' },
    ];
    const path = join(data, 'ids.jsonl');
    writeFileSync(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n\n`);
    const out = join(scratch, 'ids.jsonl');
    const coco = join(scratch, 'ids.coco.json');
    const r = cli(path, '--out', out, '--coco', coco, ...common, ...loose);
    expect(r.status, r.stderr).toBe(0);
    const recs = records(out);
    expect(recs.map((o) => [o.id, o.line])).toEqual([[20, 1], [20, 2], ['cc3m_000123', 3], [undefined, 4]]);
    const dataset = parseCocoDataset(JSON.parse(read(coco)), coco);
    expect(dataset.images.map((i) => [i.id, i.file_name, i.source_id])).toEqual([[20, 'imgs/i0.png', undefined], [21, 'imgs/i1.png', 'cc3m_000123'], [22, 'imgs/i2.png', undefined]]);
    const labelsOf20 = recs[0].labels.length + recs[1].labels.length;
    expect(labelsOf20).toBeGreaterThan(1);
    expect(dataset.annotations.filter((a) => a.image_id === 20)).toHaveLength(labelsOf20);
    expect(dataset.annotations.length).toBe(recs.reduce((n, o) => n + o.labels.length, 0));
    const first = dataset.annotations.find((a) => a.image_id === 20)!;
    const [x1, y1, x2, y2] = recs[0].labels[0].box;
    [x1, y1, x2 - x1, y2 - y1].forEach((v, i) => expect(first.bbox[i]).toBeCloseTo(v, 4));
  });

  it('--format odvg | yolo | labelstudio | coco write the format at --out (the records beside it), each checked against its schema', () => {
    const input2 = join(data, 'ids.jsonl');
    const base = join(scratch, 'fmt');
    const runs: Record<string, string> = { odvg: `${base}.odvg.jsonl`, yolo: `${base}-yolo`, labelstudio: `${base}.ls.json`, coco: `${base}.coco.json` };
    for (const [format, out] of Object.entries(runs)) {
      const r = cli(input2, '--out', out, '--format', format, ...common, ...loose);
      expect(r.status, `${format}: ${r.stderr}`).toBe(0);
    }
    const recs = records(join(scratch, 'fmt.odvg.records.jsonl'));
    expect(recs).toHaveLength(4);
    const byImage = new Map<string, { box: number[]; phrase: string; concept: string; score: number }[]>();
    for (const rec of recs) byImage.set(rec.image, [...(byImage.get(rec.image) ?? []), ...rec.labels]);

    // ODVG (Open-GroundingDino): one line per image with labels; grounding.regions = [x1, y1, x2, y2] + phrase.
    const odvg = read(runs.odvg).trim().split('\n').map((l) => JSON.parse(l));
    expect(odvg.map((o) => o.filename)).toEqual([...byImage.entries()].filter(([, l]) => l.length > 0).map(([image]) => image));
    for (const o of odvg) {
      expect(Object.keys(o).sort()).toEqual(['filename', 'grounding', 'height', 'width']);
      expect([o.width, o.height]).toEqual([96, 72]);
      expect(typeof o.grounding.caption).toBe('string');
      expect(o.grounding.regions.map((g: { bbox: number[]; phrase: string }) => [g.bbox, g.phrase])).toEqual(byImage.get(o.filename)!.map((l) => [l.box, l.phrase]));
    }

    // YOLO: data.yaml (names, nc, train/val), images/ links, labels/<name>.txt "class cx cy w h" normalized.
    const yaml = spawnSync('python3', ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', join(runs.yolo, 'data.yaml')], { encoding: 'utf8' });
    expect(yaml.status, yaml.stderr).toBe(0);
    const dataYaml = JSON.parse(yaml.stdout);
    const concepts = [...new Set([...byImage.values()].flat().map((l) => l.concept))].sort();
    expect(dataYaml).toMatchObject({ path: runs.yolo, train: 'images', val: 'images', nc: concepts.length, names: concepts });
    for (const [image, labels] of byImage) {
      const name = image.replaceAll('/', '__');
      expect(existsSync(join(runs.yolo, 'images', name))).toBe(true);
      const rows = read(join(runs.yolo, 'labels', name.replace(/\.[^.]+$/, '.txt'))).split('\n').filter((l) => l.length > 0);
      expect(rows).toHaveLength(labels.length);
      rows.forEach((row, k) => {
        const [cls, cx, cy, w, h] = row.split(' ').map(Number);
        const [x1, y1, x2, y2] = labels[k].box;
        expect(concepts[cls]).toBe(labels[k].concept);
        expect(cx).toBeCloseTo((x1 + x2) / 2 / 96, 5);
        expect(cy).toBeCloseTo((y1 + y2) / 2 / 72, 5);
        expect(w).toBeCloseTo((x2 - x1) / 96, 5);
        expect(h).toBeCloseTo((y2 - y1) / 72, 5);
        for (const v of [cx, cy, w, h]) expect(v >= 0 && v <= 1).toBe(true);
      });
    }

    // Label Studio: tasks with predictions of rectanglelabels in percent of the original size.
    const tasks = JSON.parse(read(runs.labelstudio));
    expect(tasks.map((t: { data: { image: string } }) => t.data.image)).toEqual([...byImage.keys()]);
    for (const task of tasks) {
      const labels = byImage.get(task.data.image)!;
      expect(task.predictions).toHaveLength(1);
      const [prediction] = task.predictions;
      expect(typeof prediction.model_version).toBe('string');
      expect(prediction.result).toHaveLength(labels.length);
      prediction.result.forEach((res: Record<string, any>, k: number) => {
        const [x1, y1, x2, y2] = labels[k].box;
        expect(res).toMatchObject({ type: 'rectanglelabels', from_name: 'label', to_name: 'image', original_width: 96, original_height: 72, score: labels[k].score });
        expect(res.value.rectanglelabels).toEqual([labels[k].concept]);
        expect(res.value.x).toBeCloseTo((100 * x1) / 96, 5);
        expect(res.value.y).toBeCloseTo((100 * y1) / 72, 5);
        expect(res.value.width).toBeCloseTo((100 * (x2 - x1)) / 96, 5);
        expect(res.value.height).toBeCloseTo((100 * (y2 - y1)) / 72, 5);
      });
    }

    // COCO at --out equals the --coco export of the same records.
    expect(parseCocoDataset(JSON.parse(read(runs.coco)), runs.coco).images).toHaveLength(3);
  });

  it('a run in which every line failed exits with the first error', () => {
    const path = join(data, 'all-bad.jsonl');
    writeFileSync(path, `${JSON.stringify({ image: join(data, 'imgs', 'i0.png'), caption: 'a dog' })}\n${JSON.stringify({ image: 'imgs/nope.png', caption: 'a dog' })}\n`);
    const r = cli(path, '--out', join(scratch, 'all-bad.jsonl'), ...common);
    expect(r.status).toBe(EXIT_CODES.invalidInput);
    expect(r.stderr).toContain('nothing was mined: all 2 line(s) failed');
    expect(r.stderr).toContain('the absolute path');
    const missing = join(data, 'all-missing.jsonl');
    writeFileSync(missing, `${JSON.stringify({ image: 'imgs/nope.png', caption: 'a dog' })}\n`);
    expect(cli(missing, '--out', join(scratch, 'all-missing.jsonl'), ...common).status).toBe(EXIT_CODES.io);
    // A range (a distributed run's job, or --lines) or a shard of bad lines is part of a larger run: its errors
    // are counted, not fatal.
    const mixed = join(data, 'mixed.jsonl');
    writeFileSync(mixed, `${JSON.stringify({ image: 'imgs/nope.png', caption: 'a dog' })}\n${JSON.stringify({ image: 'imgs/i0.png', caption: 'a dog' })}\n`);
    const range = cli(mixed, '--out', join(scratch, 'mixed-1.jsonl'), '--lines', '1:1', ...common);
    expect(range.status, range.stderr).toBe(0);
    expect(range.stderr).toMatch(/mined 0 image\(s\) .* 1 error\(s\)/);
  });

  it('flag mistakes: --concepts with --no-concepts is a usage error (2); an unknown --format is a configuration error (4), as for every choice', () => {
    const both = cli(input, '--out', join(scratch, 'unused.jsonl'), '--no-concepts', '--concepts', join(data, 'pool.txt'), ...common);
    expect(both.status).toBe(EXIT_CODES.usage);
    expect(both.stderr.trim()).toBe(`regionclip: Expected either --concepts FILE or --no-concepts, once for --concepts but received --no-concepts and --concepts ${join(data, 'pool.txt')}.`);
    const format = cli(input, '--out', join(scratch, 'unused.csv'), '--format', 'csv', ...common);
    expect(format.status).toBe(EXIT_CODES.config);
    expect(format.stderr.trim()).toBe('regionclip: Expected one of jsonl, coco, odvg, yolo, labelstudio for mine.format (--format) but received "csv".');
  });
});

describe('regionclip mine: the rules', () => {
  it('--rule regionclip labels regions with pool concepts (region→phrase, above --thresh); it needs a pool', () => {
    const pool = join(data, 'pool.txt');
    writeFileSync(pool, 'circle\nsquare\ntriangle\n');
    const out = join(scratch, 'regionclip.jsonl');
    const r = cli(input, '--out', out, '--rule', 'regionclip', '--concepts', pool, '--thresh', '0.4', ...common);
    expect(r.status, r.stderr).toBe(0);
    const recs = records(out);
    const labels = recs.flatMap((o) => o.labels);
    expect(labels.length).toBeGreaterThan(0);
    for (const record of recs) expect(record.phrases).toEqual([]);
    for (const l of labels) {
      expect(['circle', 'square', 'triangle']).toContain(l.concept);
      expect(l.direction).toBe('region→phrase');
      expect(l.score).toBeGreaterThan(0.4);
    }
    const none = cli(input, '--out', join(scratch, 'regionclip-none.jsonl'), '--rule', 'regionclip', ...common);
    expect(none.status).toBe(EXIT_CODES.usage);
    expect(none.stderr).toContain('Expected a concept pool (--concepts, or a model with one) for the regionclip rule but received none.');
  });

  it('--help names each deviation from RegionCLIP and the defaults', () => {
    const help = spawnSync(process.execPath, [bin, 'mine', '--help'], { encoding: 'utf8' }).stdout.replace(/\s+/g, ' ');
    for (const text of ['--rule', 'not RegionCLIP\'s', 'RegionCLIP\'s CONCEPT_THRES', 'default 0.01, RegionCLIP\'s, not the model\'s own', '--objectness', '--top-k', '--nms', '--vote', '--min-score', '--no-concepts', '--format', 'odvg', 'labelstudio', 'COCO-captions']) {
      expect(help).toContain(text);
    }
  });
});
