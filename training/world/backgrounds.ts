/**
 * Seeded randomness and procedural, named backgrounds (no image files, no licence questions): each
 * name has a caption phrase ("on the grass", "in front of a brick wall") and a painter that fills an
 * RGB Float32Array (0..255, row-major, 3 channels) from the scene's RNG.
 */
import { createHash } from 'node:crypto';

/** sfc32, seeded from sha256(key): one independent stream per image, so any image can be made alone. */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(key: string) {
    const h = createHash('sha256').update(key).digest();
    this.a = h.readUInt32LE(0); this.b = h.readUInt32LE(4); this.c = h.readUInt32LE(8); this.d = h.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.next();
  }
  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  range(lo: number, hi: number): number { return lo + (hi - lo) * this.next(); }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(list: readonly T[]): T { return list[Math.floor(this.next() * list.length)]; }
  chance(p: number): boolean { return this.next() < p; }
  /** Index drawn with the given (unnormalized) weights. */
  weighted(weights: readonly number[]): number {
    let r = this.next() * weights.reduce((s, w) => s + w, 0);
    for (let i = 0; i < weights.length; i++) if ((r -= weights[i]) < 0) return i;
    return weights.length - 1;
  }
  shuffle<T>(list: T[]): T[] {
    for (let i = list.length - 1; i > 0; i--) { const j = Math.floor(this.next() * (i + 1)); [list[i], list[j]] = [list[j], list[i]]; }
    return list;
  }
}

type Rgb = [number, number, number];

/** Smooth value noise in [0, 1] on a size×size grid, `cells` lattice cells across, several octaves. */
function valueNoise(rng: Rng, size: number, cells: number, octaves: number, stretchX = 1): Float32Array {
  const out = new Float32Array(size * size);
  let amplitude = 1, total = 0;
  for (let o = 0; o < octaves; o++) {
    const n = Math.max(1, Math.round(cells * 2 ** o));
    const nx = Math.max(1, Math.round(n / stretchX));
    const lattice = new Float32Array((nx + 1) * (n + 1)).map(() => rng.next());
    for (let y = 0; y < size; y++) {
      const fy = (y / size) * n, iy = Math.floor(fy), ty = fy - iy, sy = ty * ty * (3 - 2 * ty);
      for (let x = 0; x < size; x++) {
        const fx = (x / size) * nx, ix = Math.floor(fx), tx = fx - ix, sx = tx * tx * (3 - 2 * tx);
        const i = iy * (nx + 1) + ix;
        const top = lattice[i] + (lattice[i + 1] - lattice[i]) * sx;
        const bottom = lattice[i + nx + 1] + (lattice[i + nx + 2] - lattice[i + nx + 1]) * sx;
        out[y * size + x] += amplitude * (top + (bottom - top) * sy);
      }
    }
    total += amplitude;
    amplitude /= 2;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

function jitter(rng: Rng, c: Rgb, amount: number): Rgb {
  return c.map((v) => Math.min(255, Math.max(0, v + rng.range(-amount, amount)))) as Rgb;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function paint(size: number, colorAt: (x: number, y: number) => Rgb): Float32Array {
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out.set(colorAt(x, y), (y * size + x) * 3);
  return out;
}

/** Two colours mixed by a noise field, plus fine grain. */
function noisy(rng: Rng, size: number, a: Rgb, b: Rgb, cells: number, octaves: number, grain: number, stretchX = 1): Float32Array {
  const field = valueNoise(rng, size, cells, octaves, stretchX);
  const ca = jitter(rng, a, 20), cb = jitter(rng, b, 20);
  return paint(size, (x, y) => {
    const c = mix(ca, cb, field[y * size + x]);
    const g = (rng.next() - 0.5) * grain;
    return [c[0] + g, c[1] + g, c[2] + g];
  });
}

const COLOURS: [string, Rgb][] = [
  ['white', [240, 240, 240]], ['grey', [128, 128, 128]], ['black', [30, 30, 30]], ['red', [200, 40, 40]], ['orange', [240, 140, 30]],
  ['yellow', [240, 220, 60]], ['green', [60, 160, 70]], ['blue', [50, 90, 200]], ['purple', [130, 60, 170]], ['pink', [240, 150, 190]],
  ['brown', [120, 80, 40]], ['beige', [225, 210, 175]],
];

export interface Background {
  name: string;
  /** Caption phrases that place objects on it ("on the grass"). */
  phrases: string[];
  paint(rng: Rng, size: number): Float32Array;
}

export const BACKGROUNDS: Background[] = [
  { name: 'sky', phrases: ['in the sky', 'against the sky', 'under a blue sky'], paint: (rng, s) => {
    const top = jitter(rng, [70, 130, 220], 25), bottom = jitter(rng, [190, 220, 250], 15);
    const clouds = valueNoise(rng, s, 3, 4, 2);
    return paint(s, (x, y) => { const c = mix(top, bottom, y / s); const k = Math.max(0, clouds[y * s + x] - 0.55) * 2.2; return mix(c, [250, 250, 252], Math.min(1, k)); });
  } },
  { name: 'grass', phrases: ['on the grass', 'on a lawn', 'in a meadow'], paint: (rng, s) => noisy(rng, s, [40, 110, 40], [110, 170, 60], 6, 4, 40, 0.25) },
  { name: 'sand', phrases: ['on the sand', 'on a beach', 'in the desert'], paint: (rng, s) => noisy(rng, s, [200, 170, 120], [235, 215, 165], 5, 5, 30) },
  { name: 'water', phrases: ['on the water', 'in front of the sea', 'by a lake'], paint: (rng, s) => {
    const deep = jitter(rng, [20, 70, 140], 20), light = jitter(rng, [90, 160, 210], 20);
    const f = valueNoise(rng, s, 4, 3, 4); const freq = rng.range(0.15, 0.35);
    return paint(s, (x, y) => mix(deep, light, Math.min(1, Math.max(0, 0.5 * f[y * s + x] + 0.35 * (1 + Math.sin(y * freq + 6 * f[y * s + x])) / 2))));
  } },
  { name: 'snow', phrases: ['in the snow', 'on the snow'], paint: (rng, s) => noisy(rng, s, [215, 225, 240], [250, 250, 255], 4, 4, 12) },
  { name: 'gravel', phrases: ['on the gravel', 'on a gravel path'], paint: (rng, s) => noisy(rng, s, [90, 85, 80], [185, 180, 170], 24, 3, 60) },
  { name: 'brick', phrases: ['in front of a brick wall', 'by a brick wall'], paint: (rng, s) => {
    const brick = jitter(rng, [160, 70, 50], 25), mortar = jitter(rng, [200, 195, 185], 15);
    const h = rng.int(14, 28), w = h * 2 + rng.int(0, 10), grain = valueNoise(rng, s, 20, 2);
    return paint(s, (x, y) => {
      const row = Math.floor(y / h), off = row % 2 ? w / 2 : 0;
      const inMortar = y % h < 3 || (x + off) % w < 3;
      const c = inMortar ? mortar : mix(brick, [brick[0] * 0.7, brick[1] * 0.7, brick[2] * 0.7], grain[y * s + x]);
      return c;
    });
  } },
  { name: 'wood', phrases: ['on a wooden table', 'on a wooden floor'], paint: (rng, s) => {
    const a = jitter(rng, [150, 100, 60], 20), b = jitter(rng, [200, 150, 100], 20), f = valueNoise(rng, s, 3, 3, 0.15);
    const freq = rng.range(0.05, 0.12);
    return paint(s, (x, y) => mix(a, b, (1 + Math.sin(x * freq + 10 * f[y * s + x])) / 2));
  } },
  { name: 'plain', phrases: ['on a {colour} background', 'against a plain {colour} background'], paint: () => { throw new Error('painted by paintBackground'); } },
  { name: 'gradient', phrases: ['on a {colour} background', 'on a gradient background'], paint: () => { throw new Error('painted by paintBackground'); } },
  { name: 'stripes', phrases: ['on a striped background', 'on a {colour} striped background'], paint: () => { throw new Error('painted by paintBackground'); } },
  { name: 'checker', phrases: ['on a checkered background', 'on a checkered tablecloth'], paint: (rng, s) => {
    const a = jitter(rng, rng.pick(COLOURS)[1], 20), b = jitter(rng, [245, 245, 245], 10), n = rng.int(16, 48);
    return paint(s, (x, y) => ((Math.floor(x / n) + Math.floor(y / n)) % 2 ? a : b));
  } },
  { name: 'texture', phrases: ['on a textured background', 'on a {colour} surface'], paint: () => { throw new Error('painted by paintBackground'); } },
];

/** Paints a background, returning its RGB pixels and the caption phrase (with its colour word filled in). */
export function paintBackground(rng: Rng, size: number, background: Background): { rgb: Float32Array; phrase: string } {
  const [colourName, colour] = rng.pick(COLOURS);
  let rgb: Float32Array;
  if (background.name === 'plain') {
    const c = jitter(rng, colour, 15);
    rgb = paint(size, () => c);
  } else if (background.name === 'gradient') {
    const a = jitter(rng, colour, 20), b = jitter(rng, mix(colour, [255, 255, 255], rng.range(0.2, 0.7)), 20);
    const angle = rng.range(0, Math.PI * 2), cx = Math.cos(angle), cy = Math.sin(angle);
    rgb = paint(size, (x, y) => mix(a, b, Math.min(1, Math.max(0, 0.5 + ((x / size - 0.5) * cx + (y / size - 0.5) * cy)))));
  } else if (background.name === 'stripes') {
    const a = jitter(rng, colour, 20), b = jitter(rng, rng.pick(COLOURS)[1], 20), n = rng.int(8, 40), vertical = rng.chance(0.5);
    rgb = paint(size, (x, y) => (Math.floor((vertical ? x : y) / n) % 2 ? a : b));
  } else if (background.name === 'texture') {
    rgb = noisy(rng, size, colour, mix(colour, [255, 255, 255], 0.5), rng.int(2, 16), 4, 30);
  } else {
    rgb = background.paint(rng, size);
  }
  const phrase = rng.pick(background.phrases).replace('{colour}', colourName);
  return { rgb, phrase };
}
