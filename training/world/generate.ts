/**
 * The synthetic open-vocabulary world: deterministic, seeded scenes of emoji objects on procedural
 * backgrounds, with captions, COCO ground truth and single-object images. Offline tooling (never
 * imported by src/).
 *
 *   npx tsx training/world/generate.ts --out DIR --split train|val|test --images N --seed S
 *       [--size 320] [--singles K] [--single-size 160] [--held-out-style] [--boxes base|all]
 *       [--coco-fraction 0.3] [--cache training/world/.cache] [--concurrency 4] [--quiet]
 *
 * Outputs in DIR (same arguments → byte-identical files):
 *   images/NNNNNN.jpg         scenes (size×size, JPEG q90)
 *   captions.jsonl            {"id", "image", "caption"} per scene, id = the COCO image id
 *   gt.json                   COCO GT: every concept as a category (stable ids), boxes XYWH of alpha > 32;
 *                             train/val hold base boxes only, test every box (--boxes overrides)
 *   gt-coco65.json            the same restricted to the 65 COCO-analogue categories (the benchmark)
 *   split.json                COCO-65 {"novel": [17 names], "base": [48 names]} for `regionclip eval --split`
 *   split-all.json            every concept by id {"novel": [...], "base": [...]}
 *   scenes.jsonl              per scene: background, and per object concept id, name, word, bbox, style, icon, flip, visible, annotated
 *   singles/NNNNNN.jpg + singles.jsonl   single-object images {"id", "image", "label", "category_id", "split", "style", "icon"}
 *   concepts.json             the concept table (id, name, synonyms, base|novel, icons per style)
 *   world.json                the arguments and package versions that made it
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { BACKGROUNDS, Rng, paintBackground } from './backgrounds.js';
import { makeCaption, type CaptionGroup } from './captions.js';
import { readConcepts, type Concept, type ConceptTable } from './concepts.js';
import { ALPHA_THRESHOLD, SpriteCache, alphaBox, scaleSprite } from './sprites.js';
import { HELD_OUT_STYLE, STYLES, TRAINING_STYLES, type StyleName } from './styles.js';

const here = dirname(fileURLToPath(import.meta.url));

export type Split = 'train' | 'val' | 'test';

export interface WorldOptions {
  out: string;
  split: Split;
  images: number;
  seed: number;
  size: number;
  singles: number;
  singleSize: number;
  heldOutStyle: boolean;
  boxes: 'base' | 'all';
  cocoFraction: number;
  cache: string;
  concurrency: number;
  quiet: boolean;
  concepts?: ConceptTable;
}

/** An object's visible fraction (not covered by later objects) is kept at or above this. */
export const MIN_VISIBLE = 0.5;
export const JPEG_QUALITY = 90;

export interface SceneObject {
  category_id: number;
  name: string;
  word: string;
  /** COCO [x, y, w, h]: the tight box of the placed sprite's alpha > 32 (occluded parts included). */
  bbox: [number, number, number, number];
  style: StyleName;
  icon: string;
  flip: boolean;
  /** Where the scaled sprite was placed: [x, y, w, h]. */
  placed: [number, number, number, number];
  tint?: [number, number, number];
  visible: number;
  novel: boolean;
  annotated: boolean;
}

/** The styles a concept may be drawn in for this world, with their icons. */
function drawable(concept: Concept, heldOut: boolean): [StyleName, string][] {
  const out: [StyleName, string][] = [];
  const styles: StyleName[] = heldOut ? [HELD_OUT_STYLE] : TRAINING_STYLES;
  for (const style of styles) for (const icon of concept.icons[style] ?? []) out.push([style, icon]);
  // The mdi-only COCO classes look the same in every style: the held-out-style world draws them too.
  if (heldOut && out.length === 0) for (const icon of concept.icons.mdi ?? []) out.push(['mdi', icon]);
  return out;
}

function pickWord(rng: Rng, concept: Concept): string {
  const p = concept.coco65 ? 0.8 : 0.65;
  if (concept.synonyms.length === 0 || rng.chance(p)) return concept.name;
  return rng.pick(concept.synonyms);
}

function randomTint(rng: Rng): [number, number, number] {
  // Saturated or dark colours, so white-on-white is rare.
  const h = rng.next() * 6, s = rng.range(0.5, 1), v = rng.range(0.25, 0.9);
  const i = Math.floor(h), f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
  return rgb.map((x) => Math.round(x * 255)) as [number, number, number];
}

interface Placement { obj: SceneObject; alpha: Uint8Array; rgba: Buffer }

class Composer {
  /** Index of the top object per pixel (alpha > threshold), -1 for background. */
  owner: Int16Array;
  counts: number[] = [];
  constructor(readonly size: number, readonly rgb: Float32Array) {
    this.owner = new Int16Array(size * size).fill(-1);
  }
  /** Would putting a mask at (x, y) leave every earlier object at least MIN_VISIBLE visible? */
  fits(alpha: Uint8Array, w: number, h: number, x: number, y: number): boolean {
    const covered = new Array<number>(this.counts.length).fill(0);
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) {
      if (alpha[j * w + i] <= ALPHA_THRESHOLD) continue;
      const o = this.owner[(y + j) * this.size + x + i];
      if (o >= 0) covered[o]++;
    }
    return covered.every((c, o) => this.counts[o] === 0 || (this.visibleCount(o) - c) / this.counts[o] >= MIN_VISIBLE);
  }
  private visibleCount(o: number): number {
    let n = 0;
    for (let k = 0; k < this.owner.length; k++) if (this.owner[k] === o) n++;
    return n;
  }
  draw(rgba: Buffer, w: number, h: number, x: number, y: number, tint?: [number, number, number]): void {
    const index = this.counts.length;
    let count = 0;
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) {
      const s = (j * w + i) * 4, a = rgba[s + 3];
      if (a === 0) continue;
      const p = (y + j) * this.size + x + i, d = p * 3, t = a / 255;
      for (let c = 0; c < 3; c++) {
        const src = tint ? (rgba[s + c] / 255) * tint[c] : rgba[s + c];
        this.rgb[d + c] = src * t + this.rgb[d + c] * (1 - t);
      }
      if (a > ALPHA_THRESHOLD) { this.owner[p] = index; count++; }
    }
    this.counts.push(count);
  }
  visible(o: number): number {
    return this.counts[o] === 0 ? 0 : this.visibleCount(o) / this.counts[o];
  }
}

async function encodeJpeg(rgb: Float32Array, size: number): Promise<Buffer> {
  const bytes = Buffer.alloc(size * size * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.min(255, Math.max(0, Math.round(rgb[i])));
  return sharp(bytes, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: JPEG_QUALITY, chromaSubsampling: '4:2:0' }).toBuffer();
}

interface Pools { all: Concept[]; coco: Concept[] }

function pickConcept(rng: Rng, pools: Pools, cocoFraction: number): Concept {
  return pools.coco.length > 0 && rng.chance(cocoFraction) ? rng.pick(pools.coco) : rng.pick(pools.all);
}

/** One scene: objects placed back to front, boxes from the scaled sprites' alpha. */
async function makeScene(rng: Rng, opts: WorldOptions, pools: Pools, sprites: SpriteCache) {
  const size = opts.size;
  const background = rng.pick(BACKGROUNDS);
  const { rgb, phrase } = paintBackground(rng, size, background);
  const composer = new Composer(size, rgb);
  const n = 1 + rng.weighted([3, 5, 5, 4, 2, 1]);
  const objects: SceneObject[] = [];
  const chosen: Concept[] = [];
  for (let k = 0; k < n; k++) {
    const concept = k > 0 && rng.chance(0.25) ? rng.pick(chosen) : pickConcept(rng, pools, opts.cocoFraction);
    const [style, icon] = rng.pick(drawable(concept, opts.heldOutStyle));
    const sprite = await sprites.get(style, icon, concept.crop);
    // Longest side: log-uniform, larger when there are few objects.
    const maxSide = size * (n <= 2 ? 0.7 : 0.5), minSide = size * 0.12;
    const side = Math.exp(rng.range(Math.log(minSide), Math.log(maxSide)));
    const scale = side / Math.max(sprite.width, sprite.height);
    const w = Math.max(4, Math.round(sprite.width * scale)), h = Math.max(4, Math.round(sprite.height * scale));
    const flip = rng.chance(0.5);
    const tint = STYLES[style].monochrome ? randomTint(rng) : undefined;
    const scaled = await scaleSprite(sprite, w, h, flip);
    const alpha = new Uint8Array(w * h);
    for (let i = 0; i < w * h; i++) alpha[i] = scaled.rgba[i * 4 + 3];
    const box = alphaBox(scaled.rgba, w, h);
    if (box === undefined) continue;
    let placedAt: [number, number] | undefined;
    for (let attempt = 0; attempt < 20 && placedAt === undefined; attempt++) {
      const x = rng.int(0, size - w), y = rng.int(0, size - h);
      if (composer.fits(alpha, w, h, x, y)) placedAt = [x, y];
    }
    if (placedAt === undefined) continue;
    const [x, y] = placedAt;
    composer.draw(scaled.rgba, w, h, x, y, tint);
    chosen.push(concept);
    const novel = concept.split === 'novel';
    objects.push({
      category_id: concept.id, name: concept.name, word: '', bbox: [x + box[0], y + box[1], box[2] - box[0], box[3] - box[1]],
      style, icon, flip, placed: [x, y, w, h], ...(tint ? { tint } : {}), visible: 0, novel, annotated: opts.boxes === 'all' || !novel,
    });
  }
  objects.forEach((o, i) => { o.visible = Math.round(composer.visible(i) * 1000) / 1000; });
  // Caption: one group per concept, in order of first appearance, one word per concept.
  const groups: CaptionGroup[] = [];
  const byId = new Map<number, CaptionGroup & { n: number }>();
  for (const o of objects) {
    let g = byId.get(o.category_id);
    if (g === undefined) {
      g = { word: pickWord(rng, chosen[objects.indexOf(o)]), count: 0, cx: 0, cy: 0, n: 0 };
      byId.set(o.category_id, g);
      groups.push(g);
    }
    g.count++;
    g.cx += o.bbox[0] + o.bbox[2] / 2;
    g.cy += o.bbox[1] + o.bbox[3] / 2;
  }
  for (const g of groups) { g.cx /= g.count; g.cy /= g.count; }
  for (const o of objects) o.word = byId.get(o.category_id)!.word;
  const caption = makeCaption(rng, groups, phrase);
  return { background: background.name, backgroundPhrase: phrase, objects, caption, jpeg: await encodeJpeg(composer.rgb, size) };
}

async function makeSingle(rng: Rng, opts: WorldOptions, concept: Concept, sprites: SpriteCache) {
  const size = opts.singleSize;
  const background = rng.pick(BACKGROUNDS);
  const { rgb } = paintBackground(rng, size, background);
  const [style, icon] = rng.pick(drawable(concept, opts.heldOutStyle));
  const sprite = await sprites.get(style, icon, concept.crop);
  const side = size * rng.range(0.55, 0.85);
  const scale = side / Math.max(sprite.width, sprite.height);
  const w = Math.max(4, Math.round(sprite.width * scale)), h = Math.max(4, Math.round(sprite.height * scale));
  const flip = rng.chance(0.5);
  const tint = STYLES[style].monochrome ? randomTint(rng) : undefined;
  const scaled = await scaleSprite(sprite, w, h, flip);
  const composer = new Composer(size, rgb);
  const x = Math.round((size - w) / 2 + rng.range(-0.1, 0.1) * (size - w)), y = Math.round((size - h) / 2 + rng.range(-0.1, 0.1) * (size - h));
  composer.draw(scaled.rgba, w, h, x, y, tint);
  return { style, icon, jpeg: await encodeJpeg(composer.rgb, size) };
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` in flight; results in order. */
async function mapLimit<T>(n: number, concurrency: number, task: (i: number) => Promise<T>, progress?: (done: number) => void): Promise<T[]> {
  const results = new Array<T>(n);
  let next = 0, done = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
      progress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return results;
}

function pad(i: number): string {
  return String(i).padStart(6, '0');
}

function packageVersions(): Record<string, string> {
  const require = createRequire(join(here, 'package.json'));
  const out: Record<string, string> = {};
  out['@resvg/resvg-js'] = (require('@resvg/resvg-js/package.json') as { version: string }).version;
  const v = sharp.versions as Record<string, string | undefined>;
  for (const name of ['sharp', 'vips', 'rsvg', 'mozjpeg']) if (v[name] !== undefined) out[name === 'vips' ? 'libvips' : name] = v[name]!;
  return out;
}

/** Everything beside the JPEGs: gt.json and gt-coco65.json (COCO format), split.json, split-all.json,
 * captions/scenes/singles.jsonl, concepts.json and world.json; returns the box counts. */
function writeWorldFiles(
  opts: WorldOptions, table: ConceptTable, scenes: Omit<Awaited<ReturnType<typeof makeScene>>, 'jpeg'>[], singles: unknown[],
): { annotations: number; cocoAnnotations: number } {
  const categories = table.concepts.map((c) => ({ id: c.id, name: c.name, supercategory: c.group, split: c.split, coco65: c.coco65 }));
  const images = scenes.map((_, i) => ({ id: i + 1, file_name: `images/${pad(i)}.jpg`, width: opts.size, height: opts.size }));
  const annotations: { id: number; image_id: number; category_id: number; bbox: number[]; area: number; iscrowd: 0 }[] = [];
  scenes.forEach((scene, i) => {
    for (const o of scene.objects) {
      if (!o.annotated) continue;
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: o.category_id, bbox: o.bbox, area: o.bbox[2] * o.bbox[3], iscrowd: 0 });
    }
  });
  const info = { description: `regionclip synthetic world, split ${opts.split}, seed ${opts.seed}`, boxes: opts.boxes, heldOutStyle: opts.heldOutStyle };
  const json = (name: string, value: unknown) => writeFileSync(join(opts.out, name), JSON.stringify(value) + '\n');
  json('gt.json', { info, images, categories, annotations });
  const coco = new Set(table.concepts.filter((c) => c.coco65).map((c) => c.id));
  const cocoAnnotations = annotations.filter((a) => coco.has(a.category_id));
  json('gt-coco65.json', { info, images, categories: categories.filter((c) => coco.has(c.id)), annotations: cocoAnnotations });
  const cocoConcepts = table.concepts.filter((c) => c.coco65);
  json('split.json', { novel: cocoConcepts.filter((c) => c.split === 'novel').map((c) => c.name), base: cocoConcepts.filter((c) => c.split === 'base').map((c) => c.name) });
  json('split-all.json', { novel: table.concepts.filter((c) => c.split === 'novel').map((c) => c.id), base: table.concepts.filter((c) => c.split === 'base').map((c) => c.id) });
  writeFileSync(join(opts.out, 'captions.jsonl'), scenes.map((s, i) => JSON.stringify({ id: i + 1, image: `images/${pad(i)}.jpg`, caption: s.caption }) + '\n').join(''));
  writeFileSync(join(opts.out, 'scenes.jsonl'), scenes.map((s, i) => JSON.stringify({ id: i + 1, image: `images/${pad(i)}.jpg`, background: s.background, backgroundPhrase: s.backgroundPhrase, objects: s.objects }) + '\n').join(''));
  writeFileSync(join(opts.out, 'singles.jsonl'), singles.map((s) => JSON.stringify(s) + '\n').join(''));
  json('concepts.json', table);
  const { out: _out, cache: _cache, concepts: _concepts, quiet: _quiet, concurrency: _concurrency, ...args } = opts;
  json('world.json', { args, packages: packageVersions(), concepts: table.concepts.length, alphaThreshold: ALPHA_THRESHOLD, minVisible: MIN_VISIBLE });
  return { annotations: annotations.length, cocoAnnotations: cocoAnnotations.length };
}

/** Renders opts.images scenes and opts.singles single-object images into opts.out, then writes the annotation files. */
export async function generateWorld(opts: WorldOptions): Promise<{ images: number; annotations: number; seconds: number }> {
  const started = performance.now();
  const table = opts.concepts ?? readConcepts();
  const eligible = table.concepts.filter((c) => drawable(c, opts.heldOutStyle).length > 0);
  const pools: Pools = { all: eligible, coco: eligible.filter((c) => c.coco65) };
  const sprites = new SpriteCache(opts.cache);
  mkdirSync(join(opts.out, 'images'), { recursive: true });
  mkdirSync(join(opts.out, 'singles'), { recursive: true });
  const key = `regionclip-world:${opts.seed}:${opts.split}:${opts.heldOutStyle ? 'held-out' : 'styles'}`;
  const log = (line: string) => { if (!opts.quiet) process.stderr.write(line + '\n'); };
  const every = Math.max(1, Math.min(100, Math.round(opts.images / 10)));

  const scenes = await mapLimit(opts.images, opts.concurrency, async (i) => {
    const scene = await makeScene(new Rng(`${key}:scene:${i}`), opts, pools, sprites);
    writeFileSync(join(opts.out, 'images', `${pad(i)}.jpg`), scene.jpeg);
    return { ...scene, jpeg: undefined };
  }, (done) => {
    if (done % every === 0 || done === opts.images) {
      const s = (performance.now() - started) / 1000;
      log(`${opts.split}: ${done}/${opts.images} scenes (${(done / s).toFixed(1)} images/s)`);
    }
  });

  // Singles cycle through a seeded permutation of the drawable concepts, so K ≥ #concepts covers them all.
  const order = new Rng(`${key}:singles-order`).shuffle(eligible.slice());
  const singles = await mapLimit(opts.singles, opts.concurrency, async (i) => {
    const concept = order[i % order.length];
    const single = await makeSingle(new Rng(`${key}:single:${i}`), opts, concept, sprites);
    writeFileSync(join(opts.out, 'singles', `${pad(i)}.jpg`), single.jpeg);
    return { id: i + 1, image: `singles/${pad(i)}.jpg`, label: concept.name, category_id: concept.id, split: concept.split, style: single.style, icon: single.icon };
  });
  if (opts.singles > 0) log(`${opts.split}: ${opts.singles} single-object images`);

  const { annotations, cocoAnnotations } = writeWorldFiles(opts, table, scenes, singles);
  const seconds = (performance.now() - started) / 1000;
  log(`${opts.split}: ${scenes.length} scenes, ${annotations} boxes (${cocoAnnotations} COCO-65), ${opts.singles} singles in ${seconds.toFixed(1)} s → ${opts.out}`);
  return { images: scenes.length, annotations, seconds };
}

const USAGE = 'npx tsx training/world/generate.ts --out DIR --split train|val|test --images N --seed S [--size 320] [--singles K] [--single-size 160] [--held-out-style] [--boxes base|all] [--coco-fraction 0.3] [--cache DIR] [--concurrency 4] [--quiet]';

export function parseArgs(argv: string[]): WorldOptions {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const known = ['out', 'split', 'images', 'seed', 'size', 'singles', 'single-size', 'boxes', 'coco-fraction', 'cache', 'concurrency'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--held-out-style' || a === '--quiet') { flags.add(a.slice(2)); continue; }
    if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    const name = a.replace(/^--/, '').split('=')[0];
    if (!a.startsWith('--') || !known.includes(name)) throw new Error(`Unknown option ${a}. Usage: ${USAGE}`);
    values[name] = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    if (values[name] === undefined) throw new Error(`Expected a value for --${name}.`);
  }
  const int = (name: string, fallback: number | undefined, min: number, max: number): number => {
    const raw = values[name];
    if (raw === undefined) {
      if (fallback === undefined) throw new Error(`Expected --${name}. Usage: ${USAGE}`);
      return fallback;
    }
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`Expected an integer in [${min}, ${max}] for --${name} but received ${raw}.`);
    return n;
  };
  if (values.out === undefined) throw new Error(`Expected --out DIR. Usage: ${USAGE}`);
  const split = values.split as Split;
  if (!['train', 'val', 'test'].includes(split)) throw new Error(`Expected train, val or test for --split but received ${values.split}.`);
  const boxes = (values.boxes ?? (split === 'test' ? 'all' : 'base')) as 'base' | 'all';
  if (boxes !== 'base' && boxes !== 'all') throw new Error(`Expected base or all for --boxes but received ${values.boxes}.`);
  const images = int('images', undefined, 0, 10_000_000);
  const cocoFraction = values['coco-fraction'] === undefined ? 0.3 : Number(values['coco-fraction']);
  if (!(cocoFraction >= 0 && cocoFraction <= 1)) throw new Error(`Expected a fraction in [0, 1] for --coco-fraction but received ${values['coco-fraction']}.`);
  const size = int('size', 320, 64, 4096);
  return {
    out: resolve(values.out), split, images, seed: int('seed', undefined, 0, 2 ** 31), size,
    singles: int('singles', Math.ceil(images / 2), 0, 10_000_000), singleSize: int('single-size', 160, 32, 4096),
    heldOutStyle: flags.has('held-out-style'), boxes, cocoFraction, cache: resolve(values.cache ?? join(here, '.cache')),
    concurrency: int('concurrency', 4, 1, 64), quiet: flags.has('quiet'),
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await generateWorld(parseArgs(process.argv.slice(2)));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
