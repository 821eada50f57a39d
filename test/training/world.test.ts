/**
 * Smoke test of the synthetic world generator (training/world, offline tooling with its own
 * node_modules): a tiny world, generated twice (the first run renders its sprites into a fresh
 * cache, the second reads them back) must be byte-identical; every box must be the tight alpha > 32
 * box of its re-rendered sprite; captions name exactly the scene's concepts; train GT has no novel box,
 * test GT has every box. Skips, saying so, when training/world/node_modules is absent
 * (`npm ci --prefix training/world` installs it; .ci/run does).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCocoDataset, parseCocoSplit } from '../../src/io/coco.js';

const root = join(import.meta.dirname, '..', '..');
const worldDir = join(root, 'training', 'world');
const installed = existsSync(join(worldDir, 'node_modules', '@resvg', 'resvg-js'));
if (!installed) console.warn('Skipping the synthetic-world smoke test: training/world/node_modules is missing (npm ci --prefix training/world).');

interface SceneObject { category_id: number; name: string; word: string; bbox: number[]; style: string; icon: string; flip: boolean; placed: number[]; novel: boolean; annotated: boolean }
interface Scene { id: number; image: string; objects: SceneObject[] }
interface Sprite { width: number; height: number; rgba: Buffer }
/* eslint-disable @typescript-eslint/no-explicit-any */
type Module = any;

// Loaded by computed URL so that the root type check does not follow training/world's own dependencies.
const load = (file: string): Promise<Module> => import(pathToFileURL(join(worldDir, file)).href);

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}
const jsonl = <T>(path: string): T[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as T);

describe.skipIf(!installed)('synthetic world generator', () => {
  let tmp: string;
  let generate: Module, sprites: Module, captions: Module;
  const options = (out: string, split: string, cache: string) => ({
    out, split, images: 6, seed: 7, size: 160, singles: 4, singleSize: 64, heldOutStyle: false, boxes: split === 'test' ? 'all' : 'base',
    cocoFraction: 0.5, cache, concurrency: 3, quiet: true,
  });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'world-'));
    [generate, sprites, captions] = await Promise.all([load('generate.ts'), load('sprites.ts'), load('captions.ts')]);
    const cache = join(tmp, 'cache');
    await generate.generateWorld(options(join(tmp, 'a'), 'test', cache)); // renders sprites
    await generate.generateWorld(options(join(tmp, 'b'), 'test', cache)); // reads them from the cache
    await generate.generateWorld(options(join(tmp, 'train'), 'train', cache));
  }, 120_000);
  afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('is deterministic: same seed, byte-identical files', () => {
    const a = files(join(tmp, 'a')), b = files(join(tmp, 'b'));
    expect(a).toEqual(b);
    expect(a).toEqual(expect.arrayContaining(['captions.jsonl', 'gt.json', 'gt-coco65.json', 'split.json', 'split-all.json', 'scenes.jsonl', 'singles.jsonl', 'concepts.json', 'world.json', 'images/000000.jpg', 'singles/000003.jpg']));
    for (const f of a) expect(readFileSync(join(tmp, 'b', f)).equals(readFileSync(join(tmp, 'a', f))), f).toBe(true);
    // Another split with the same seed is another world.
    expect(readFileSync(join(tmp, 'train', 'images', '000000.jpg')).equals(readFileSync(join(tmp, 'a', 'images', '000000.jpg')))).toBe(false);
  });

  it('boxes are the tight alpha > 32 boxes of the placed sprites', async () => {
    const cache = new sprites.SpriteCache(join(tmp, 'cache'));
    const concepts = JSON.parse(readFileSync(join(tmp, 'a', 'concepts.json'), 'utf8')).concepts as { id: number; crop?: string }[];
    let checked = 0;
    for (const scene of jsonl<Scene>(join(tmp, 'a', 'scenes.jsonl'))) {
      for (const o of scene.objects) {
        const crop = concepts.find((c) => c.id === o.category_id)?.crop;
        const sprite: Sprite = await cache.get(o.style, o.icon, crop);
        const [x, y, w, h] = o.placed;
        const scaled: Sprite = await sprites.scaleSprite(sprite, w, h, o.flip);
        const [x0, y0, x1, y1] = sprites.alphaBox(scaled.rgba, w, h, 32);
        expect(o.bbox).toEqual([x + x0, y + y0, x1 - x0, y1 - y0]);
        expect(x >= 0 && y >= 0 && x + w <= 160 && y + h <= 160).toBe(true);
        expect(o.style).not.toBe('twemoji'); // the held-out style never appears outside --held-out-style
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(6);
  });

  it('GT, captions and split agree; test has every box, train no novel box', () => {
    for (const [dir, every] of [['a', true], ['train', false]] as const) {
      const gt = parseCocoDataset(JSON.parse(readFileSync(join(tmp, dir, 'gt.json'), 'utf8')), dir);
      const scenes = jsonl<Scene>(join(tmp, dir, 'scenes.jsonl'));
      const caps = jsonl<{ id: number; image: string; caption: string }>(join(tmp, dir, 'captions.jsonl'));
      expect(caps.map((c) => Object.keys(c))).toEqual(caps.map(() => ['id', 'image', 'caption']));
      expect(gt.images.map((i) => i.file_name)).toEqual(caps.map((c) => c.image));
      const novel = new Set(gt.categories.filter((c) => c.split === 'novel').map((c) => c.id));
      scenes.forEach((scene, i) => {
        const caption = caps[i].caption;
        for (const o of scene.objects) {
          expect(caption.includes(o.word) || caption.includes(captions.plural(o.word)), `${o.word} in "${caption}"`).toBe(true);
          expect(o.annotated).toBe(every || !novel.has(o.category_id));
        }
        const expected = scene.objects.filter((o) => o.annotated).map((o) => [o.category_id, ...o.bbox]);
        const actual = gt.annotations.filter((a) => a.image_id === scene.id).map((a) => [a.category_id, ...a.bbox]);
        expect(actual).toEqual(expected);
      });
      for (const a of gt.annotations) expect(a.area).toBe(a.bbox[2] * a.bbox[3]);
      if (!every) expect(gt.annotations.filter((a) => novel.has(a.category_id))).toEqual([]);
      else expect(scenes.some((s) => s.objects.some((o) => o.novel))).toBe(true);
    }
    const split = parseCocoSplit(JSON.parse(readFileSync(join(tmp, 'a', 'split.json'), 'utf8')));
    expect([split.novel.length, split.base.length]).toEqual([17, 48]);
    const coco65 = parseCocoDataset(JSON.parse(readFileSync(join(tmp, 'a', 'gt-coco65.json'), 'utf8')));
    expect(coco65.categories.map((c) => c.name).sort()).toEqual([...split.novel, ...split.base].sort());
    const singles = jsonl<{ label: string; category_id: number; image: string }>(join(tmp, 'a', 'singles.jsonl'));
    expect(singles).toHaveLength(4);
    for (const s of singles) expect(existsSync(join(tmp, 'a', s.image))).toBe(true);
  });
});
