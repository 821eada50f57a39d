/**
 * Icons → sprites: Iconify SVG bodies rendered with @resvg/resvg-js at SPRITE_SIZE px (longest side),
 * cropped to their alpha, cached on disk as PNG (straight RGBA) under `<cache>/sprites-<size>/<style>/`.
 *
 * An Iconify body is wrapped as
 *   <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="left top width height">
 * with the icon's (or its set's) width/height/left/top — defaults 16, 16, 0, 0 — and an alias's
 * hFlip/vFlip/rotate applied; without xmlns:xlink some bodies do not parse. Monochrome sets draw in
 * `currentColor`: rendered white here and tinted per object when composited.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';
import { STYLES, type StyleName } from './styles.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'package.json'));

/** Longest side of a cached sprite: scenes draw objects up to about 200 px, so they are always downscaled. */
export const SPRITE_SIZE = 256;
/** A pixel belongs to an object when its alpha is above this (the benchmark's box definition: alpha > 32). */
export const ALPHA_THRESHOLD = 32;

export interface Sprite {
  width: number;
  height: number;
  /** Straight (not premultiplied) RGBA, width×height×4. */
  rgba: Buffer;
}

interface IconData { body: string; width?: number; height?: number; left?: number; top?: number; hFlip?: boolean; vFlip?: boolean; rotate?: number }
interface IconSetJson extends IconData { icons: Record<string, IconData>; aliases?: Record<string, IconData & { parent: string }> }

const setCache = new Map<StyleName, IconSetJson>();
function iconSet(style: StyleName): IconSetJson {
  let set = setCache.get(style);
  if (set === undefined) {
    set = require(`${STYLES[style].package}/icons.json`) as IconSetJson;
    setCache.set(style, set);
  }
  return set;
}

/** The icon's SVG document, aliases resolved (their flips and rotation applied). */
export function iconSvg(style: StyleName, name: string, color = '#ffffff'): string {
  const set = iconSet(style);
  let hFlip = false, vFlip = false, rotate = 0;
  let current = name;
  let icon: IconData | undefined;
  for (let depth = 0; depth < 8 && icon === undefined; depth++) {
    if (set.icons[current] !== undefined) {
      icon = set.icons[current];
    } else {
      const alias = set.aliases?.[current];
      if (alias === undefined) throw new Error(`Expected an icon or alias "${current}" in ${STYLES[style].package} but found none.`);
      hFlip = hFlip !== Boolean(alias.hFlip);
      vFlip = vFlip !== Boolean(alias.vFlip);
      rotate += alias.rotate ?? 0;
      current = alias.parent;
    }
  }
  if (icon === undefined) throw new Error(`Alias chain too deep for ${style}:${name}`);
  hFlip = hFlip !== Boolean(icon.hFlip);
  vFlip = vFlip !== Boolean(icon.vFlip);
  rotate += icon.rotate ?? 0;
  const width = icon.width ?? set.width ?? 16;
  const height = icon.height ?? set.height ?? 16;
  const left = icon.left ?? set.left ?? 0;
  const top = icon.top ?? set.top ?? 0;
  const cx = left + width / 2, cy = top + height / 2;
  const transforms: string[] = [];
  if (rotate % 4 !== 0) transforms.push(`rotate(${(rotate % 4) * 90} ${cx} ${cy})`);
  if (hFlip || vFlip) transforms.push(`translate(${cx} ${cy}) scale(${hFlip ? -1 : 1} ${vFlip ? -1 : 1}) translate(${-cx} ${-cy})`);
  let body = icon.body.replace(/currentColor/g, color);
  if (transforms.length > 0) body = `<g transform="${transforms.join(' ')}">${body}</g>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="${left} ${top} ${width} ${height}">${body}</svg>`;
}

/** Tight box [x0, y0, x1, y1) (exclusive ends) of alpha > threshold in an RGBA buffer; undefined when empty. */
export function alphaBox(rgba: Uint8Array, width: number, height: number, threshold = ALPHA_THRESHOLD): [number, number, number, number] | undefined {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width * 4;
    for (let x = 0; x < width; x++) {
      if (rgba[row + 4 * x + 3] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 + 1, y1 + 1];
}

/** The fork half of fork-and-knife: everything right of the widest run of empty columns is cleared. */
export function keepLeftOfWidestGap(sprite: Sprite): Sprite {
  const { width, height, rgba } = sprite;
  const empty = new Array<boolean>(width).fill(true);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (rgba[(y * width + x) * 4 + 3] > ALPHA_THRESHOLD) empty[x] = false;
  let best = -1, bestLength = 0;
  for (let x = 0; x < width; ) {
    if (!empty[x]) { x++; continue; }
    let end = x;
    while (end < width && empty[end]) end++;
    const inside = x > 0 && end < width; // a gap between two parts, not the margin
    if (inside && end - x > bestLength) { best = x; bestLength = end - x; }
    x = end;
  }
  if (best < 0) return sprite;
  const out = Buffer.from(rgba);
  for (let y = 0; y < height; y++) out.fill(0, (y * width + best) * 4, (y + 1) * width * 4);
  return { width, height, rgba: out };
}

function crop(sprite: Sprite): Sprite {
  const box = alphaBox(sprite.rgba, sprite.width, sprite.height, 0);
  if (box === undefined) throw new Error('empty sprite');
  const [x0, y0, x1, y1] = box;
  const width = x1 - x0, height = y1 - y0;
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) sprite.rgba.copy(rgba, y * width * 4, ((y + y0) * sprite.width + x0) * 4, ((y + y0) * sprite.width + x1) * 4);
  return { width, height, rgba };
}

/**
 * Icons that crash resvg 2.6.2 (a Rust panic in geom.rs on some clip paths aborts the process, it cannot
 * be caught): rendered with sharp's librsvg instead. Found by `prerender.ts`, which renders every icon
 * in a child process and records the ones that abort it.
 */
export const RESVG_FALLBACK_PATH = join(here, 'resvg-fallback.json');
let fallback: Set<string> | undefined;
function resvgFallback(): Set<string> {
  fallback ??= new Set(existsSync(RESVG_FALLBACK_PATH) ? (JSON.parse(readFileSync(RESVG_FALLBACK_PATH, 'utf8')) as string[]) : []);
  return fallback;
}

/** Renders one icon to a straight-RGBA sprite cropped to its alpha (SPRITE_SIZE on the longest side before cropping). */
export async function renderSprite(style: StyleName, name: string, cropMode?: 'fork-half'): Promise<Sprite> {
  const svg = iconSvg(style, name);
  let png: Buffer;
  if (resvgFallback().has(`${style}:${name}`)) {
    const meta = await sharp(Buffer.from(svg)).metadata();
    const density = (72 * SPRITE_SIZE) / Math.max(meta.width ?? 16, meta.height ?? 16);
    png = await sharp(Buffer.from(svg), { density }).png().toBuffer();
  } else {
    const resvg = new Resvg(svg, { fitTo: { mode: 'width', value: SPRITE_SIZE }, background: 'rgba(0,0,0,0)' });
    const fit = resvg.height > resvg.width ? new Resvg(svg, { fitTo: { mode: 'height', value: SPRITE_SIZE } }) : resvg;
    png = fit.render().asPng();
  }
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let sprite: Sprite = { width: info.width, height: info.height, rgba: data };
  if (cropMode === 'fork-half') sprite = keepLeftOfWidestGap(sprite);
  return crop(sprite);
}

/** Sprites from memory, then the disk cache, then resvg. Cache files are written atomically. */
export class SpriteCache {
  private memory = new Map<string, Promise<Sprite>>();
  constructor(readonly dir: string) {}

  get(style: StyleName, name: string, cropMode?: 'fork-half'): Promise<Sprite> {
    const key = `${style}/${name}${cropMode ? `.${cropMode}` : ''}`;
    let sprite = this.memory.get(key);
    if (sprite === undefined) {
      sprite = this.load(key, style, name, cropMode);
      this.memory.set(key, sprite);
    }
    return sprite;
  }

  private async load(key: string, style: StyleName, name: string, cropMode?: 'fork-half'): Promise<Sprite> {
    const file = join(this.dir, `sprites-${SPRITE_SIZE}`, `${key}.png`);
    if (existsSync(file)) {
      const { data, info } = await sharp(readFileSync(file)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, rgba: data };
    }
    const sprite = await renderSprite(style, name, cropMode);
    mkdirSync(dirname(file), { recursive: true });
    const png = await sharp(sprite.rgba, { raw: { width: sprite.width, height: sprite.height, channels: 4 } }).png({ compressionLevel: 6 }).toBuffer();
    const tmp = `${file}.${process.pid}.${createHash('sha1').update(key).digest('hex').slice(0, 8)}.tmp`;
    writeFileSync(tmp, png);
    renameSync(tmp, file);
    return sprite;
  }
}

/**
 * A sprite scaled to `width`×`height` (sharp's Lanczos-3 on premultiplied alpha), optionally mirrored,
 * as straight RGBA. Deterministic for the same sharp/libvips build.
 */
export async function scaleSprite(sprite: Sprite, width: number, height: number, flip: boolean): Promise<Sprite> {
  let pipeline = sharp(sprite.rgba, { raw: { width: sprite.width, height: sprite.height, channels: 4 } }).resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
  if (flip) pipeline = pipeline.flop();
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgba: data };
}
