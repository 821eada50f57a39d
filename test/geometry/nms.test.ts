import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { argsortDescending, batchedNms, boxIou, nms, InvalidInputError } from '../../src/index.js';
import { f32, goldenSources, SKIP_NO_SHARED } from '../helpers/golden.js';

interface NmsCase { id: string; iou_threshold: number; boxes: number[][]; scores: number[]; keep: number[]; idxs?: number[] }
interface IouCase { id: string; boxes1: number[][]; boxes2: number[][]; iou: (number | null)[][] }
interface NmsGolden { nms: NmsCase[]; batched_nms: NmsCase[]; box_iou: IouCase[] }

for (const source of goldenSources<NmsGolden>('nms/cases.json', 'nms/cases.json')) {
  describe.skipIf(source.data === null)(`torchvision parity (${source.name})`, () => {
    if (source.data === null) { it.skip(SKIP_NO_SHARED, () => {}); return; }
    const golden = source.data;
    it.each(golden.nms.map((c) => [c.id, c] as const))('nms %s: kept indices identical, order included', (_id, c) => {
      const keep = nms(f32(c.boxes), f32(c.scores), c.iou_threshold);
      expect(Array.from(keep)).toEqual(c.keep);
    });
    it.each(golden.batched_nms.map((c) => [c.id, c] as const))('batched_nms %s: kept indices identical', (_id, c) => {
      const keep = batchedNms(f32(c.boxes), f32(c.scores), Int32Array.from(c.idxs!), c.iou_threshold);
      expect(Array.from(keep)).toEqual(c.keep);
    });
    it.each(golden.box_iou.map((c) => [c.id, c] as const))('box_iou %s: within 1e-6, NaN in the same places', (_id, c) => {
      const iou = boxIou(f32(c.boxes1), f32(c.boxes2));
      const ref = f32(c.iou);
      expect(iou.length).toBe(c.boxes1.length * c.boxes2.length);
      for (let i = 0; i < ref.length; i++) {
        if (Number.isNaN(ref[i])) expect(iou[i]).toBeNaN();
        else expect(Math.abs(iou[i] - ref[i])).toBeLessThanOrEqual(1e-6);
      }
    });
  });
}

describe('nms semantics', () => {
  it('suppresses at a float32 IoU of 0.300000012 against a threshold of 0.3 (float64 would keep)', () => {
    // Intersection 3, union 10: float32(3/10) > 0.3.
    const boxes = Float32Array.from([0, 0, 10, 1, 7, 0, 10, 1]);
    const ious = boxIou(boxes.subarray(0, 4), boxes.subarray(4));
    expect(ious[0]).toBe(Math.fround(0.3));
    expect(Array.from(nms(boxes, Float32Array.from([0.9, 0.8]), 0.3))).toEqual([0]);
  });

  it('keeps a box whose IoU equals the threshold exactly', () => {
    const boxes = Float32Array.from([0, 0, 4, 1, 2, 0, 6, 1]); // IoU 2/6 = 0.333…; 0 overlap at 0.5
    const half = Float32Array.from([0, 0, 2, 1, 1, 0, 2, 1]); // IoU 1/2 exactly
    expect(Array.from(nms(half, Float32Array.from([0.5, 0.6]), 0.5))).toEqual([1, 0]);
    expect(Array.from(nms(boxes, Float32Array.from([0.5, 0.6]), 0.3))).toEqual([1]);
  });

  it('returns empty for empty input and breaks score ties by index', () => {
    expect(nms(new Float32Array(0), new Float32Array(0), 0.5)).toEqual(new Int32Array(0));
    const far = Float32Array.from([0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21]);
    expect(Array.from(nms(far, Float32Array.from([0.5, 0.7, 0.5]), 0.5))).toEqual([1, 0, 2]);
  });

  it('batchedNms never suppresses across classes', () => {
    const same = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10]);
    const scores = Float32Array.from([0.2, 0.9, 0.5]);
    expect(Array.from(batchedNms(same, scores, Int32Array.from([0, 1, 0]), 0.5))).toEqual([1, 2]);
    expect(Array.from(batchedNms(same, scores, Int32Array.from([0, 1, 2]), 0.5))).toEqual([1, 2, 0]);
  });
});

describe('nms properties', () => {
  const boxArb = fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 80 }))
    .map(([x, y, w, h]) => [x / 2, y / 2, (x + w) / 2, (y + h) / 2]);
  const caseArb = fc.record({
    boxes: fc.array(boxArb, { minLength: 0, maxLength: 60 }),
    threshold: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.integer(),
  });

  it('keeps no pair above the threshold, sorted by score, and suppresses every dropped box', () => {
    fc.assert(fc.property(caseArb, ({ boxes, threshold, seed }) => {
      const flat = Float32Array.from(boxes.flat());
      const scores = Float32Array.from(boxes, (_, i) => ((seed + i * 7919) % 1000) / 1000);
      const keep = nms(flat, scores, threshold);
      const n = boxes.length;
      const iou = boxIou(flat, flat);
      for (let a = 0; a < keep.length; a++) {
        if (a > 0) expect(scores[keep[a - 1]]).toBeGreaterThanOrEqual(scores[keep[a]]);
        for (let b = a + 1; b < keep.length; b++) expect(iou[keep[a] * n + keep[b]] > threshold).toBe(false);
      }
      const kept = new Set(keep);
      for (let i = 0; i < n; i++) {
        if (kept.has(i)) continue;
        // A dropped box overlaps some kept box with a score at least its own by more than the threshold.
        expect(Array.from(keep).some((k) => scores[k] >= scores[i] && iou[k * n + i] > threshold)).toBe(true);
      }
    }), { numRuns: 200 });
  });
});

describe('nms bad input', () => {
  const boxes = Float32Array.from([0, 0, 10, 10, 5, 5, 15, 15]);
  const scores = Float32Array.from([0.9, 0.8]);
  it.each([
    ['a length that is not a multiple of 4', () => nms(boxes.subarray(0, 7), scores, 0.5), /multiple of 4 .* for boxes but received length 7/],
    ['a NaN coordinate', () => nms(Float32Array.from([0, 0, Number.NaN, 1]), Float32Array.from([1]), 0.5), /finite coordinates for boxes\[0\]/],
    ['an infinite coordinate', () => nms(Float32Array.from([0, 0, Infinity, 1]), Float32Array.from([1]), 0.5), /finite coordinates/],
    ['x2 < x1', () => nms(Float32Array.from([5, 0, 1, 1]), Float32Array.from([1]), 0.5), /x1 <= x2 and y1 <= y2 for boxes\[0\] but received \[5, 0, 1, 1\]/],
    ['a threshold above 1', () => nms(boxes, scores, 1.5), /number in \[0, 1\] for iouThreshold but received 1.5/],
    ['a negative threshold', () => nms(boxes, scores, -0.1), /iouThreshold/],
    ['a NaN threshold', () => nms(boxes, scores, Number.NaN), /iouThreshold but received NaN/],
    ['too few scores', () => nms(boxes, scores.subarray(0, 1), 0.5), /2 scores \(one per box\) for scores but received length 1/],
    ['a NaN score', () => nms(boxes, Float32Array.from([0.9, Number.NaN]), 0.5), /finite scores for scores\[1\]/],
    ['a plain array', () => nms([0, 0, 1, 1] as unknown as Float32Array, scores, 0.5), /Float32Array.*for boxes but received an array of length 4/],
    ['class ids of the wrong length', () => batchedNms(boxes, scores, Int32Array.from([0]), 0.5), /2 class ids/],
  ])('rejects %s with an InvalidInputError', (_name, call, message) => {
    expect(call).toThrow(InvalidInputError);
    expect(call).toThrow(message);
  });
});

describe('maxKeep', () => {
  it('returns exactly the first maxKeep of the full result', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 3 })), { maxLength: 80 }), fc.integer({ min: 0, max: 20 }), (rows, k) => {
      const boxes = Float32Array.from(rows.flatMap(([x, y, s]) => [x, y, x + s, y + s]));
      const scores = Float32Array.from(rows, (_, i) => ((i * 7919) % 101) / 101);
      const classes = Int32Array.from(rows, (r) => r[3]);
      expect(Array.from(nms(boxes, scores, 0.4, k))).toEqual(Array.from(nms(boxes, scores, 0.4)).slice(0, k));
      expect(Array.from(batchedNms(boxes, scores, classes, 0.4, k))).toEqual(Array.from(batchedNms(boxes, scores, classes, 0.4)).slice(0, k));
    }), { numRuns: 200 });
    expect(() => nms(new Float32Array(0), new Float32Array(0), 0.5, -1)).toThrow(/maxKeep/);
  });
});

/** A 32-bit LCG (the benchmarks' generator): reproducible random sets without fast-check's shrinking cost. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** torchvision's CPU kernel, written out plainly: comparator sort, forward suppression, float32 IoU. */
function referenceNms(boxes: Float32Array, scores: Float32Array, threshold: number, classIds?: Int32Array): number[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const area = (i: number) => Math.fround(Math.fround(boxes[4 * i + 2] - boxes[4 * i]) * Math.fround(boxes[4 * i + 3] - boxes[4 * i + 1]));
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let a = 0; a < n; a++) {
    const i = order[a];
    if (suppressed[i]) continue;
    keep.push(i);
    for (let b = a + 1; b < n; b++) {
      const j = order[b];
      if (suppressed[j] || (classIds !== undefined && classIds[i] !== classIds[j])) continue;
      const w = Math.max(0, Math.fround(Math.min(boxes[4 * i + 2], boxes[4 * j + 2]) - Math.max(boxes[4 * i], boxes[4 * j])));
      const h = Math.max(0, Math.fround(Math.min(boxes[4 * i + 3], boxes[4 * j + 3]) - Math.max(boxes[4 * i + 1], boxes[4 * j + 1])));
      const inter = Math.fround(w * h);
      if (Math.fround(inter / Math.fround(Math.fround(area(i) + area(j)) - inter)) > threshold) suppressed[j] = 1;
    }
  }
  return keep;
}

/**
 * n random boxes of every kind the kernel treats differently: overlapping crowds, zero width or
 * height, exact duplicates, sides under 2^-40, coordinates past 2^60, boxes much larger than the rest.
 */
function randomSet(seed: number, n: number): { boxes: Float32Array; scores: Float32Array; classIds: Int32Array } {
  const next = lcg(seed);
  const scale = [100, 1e-3, 1e5][seed % 3];
  const boxes = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const kind = next();
    const x = (next() - 0.3) * scale, y = (next() - 0.3) * scale;
    let w = next() * scale * 0.3, h = next() * scale * 0.3;
    if (kind < 0.05) w = 0;
    else if (kind < 0.1) h = 0;
    else if (kind < 0.13) w = 2 ** -45 * next();
    else if (kind < 0.15) { boxes.set([-1e30, -1e30, 1e30 * next(), 1e30], 4 * i); continue; }
    else if (kind < 0.18) { w *= 10; h *= 10; }
    else if (kind < 0.23 && i > 0) { boxes.copyWithin(4 * i, 4 * (i - 1), 4 * i); continue; }
    boxes.set([x, y, x + w, y + h], 4 * i);
  }
  // Few distinct scores (many ties, -0 and +0 among them) on every other seed.
  const scores = Float32Array.from({ length: n }, () => (seed % 2 === 0 ? Math.round(next() * 8 - 4) / 4 * (next() < 0.5 ? -1 : 1) : next() * 2 - 1));
  const classIds = Int32Array.from({ length: n }, () => Math.floor(next() * 4) * (seed % 5 === 0 ? 1 << 20 : 1) - 1);
  return { boxes, scores, classIds };
}

describe('nms kernel against a plain reference', () => {
  it('argsortDescending is a stable sort by decreasing score (-0 ties +0, negatives last)', () => {
    const scores = Float32Array.from([0.5, -0, 0, -1, 0.5, Infinity, -Infinity, 1e-45, -1e-45, 0.5, 3]);
    expect(Array.from(argsortDescending(scores))).toEqual([5, 10, 0, 4, 9, 7, 1, 2, 8, 3, 6]);
    for (let seed = 0; seed < 20; seed++) {
      const { scores: s } = randomSet(seed, 500);
      expect(Array.from(argsortDescending(s))).toEqual(Array.from({ length: 500 }, (_, i) => i).sort((a, b) => s[b] - s[a] || a - b));
    }
    expect(argsortDescending(new Float32Array(0))).toEqual(new Int32Array(0));
  });

  it('keeps the same indices as the reference on 24 random sets of 300–700 boxes (grid path), thresholds 0 to 1', () => {
    let compared = 0;
    for (let seed = 1; seed <= 24; seed++) {
      const { boxes, scores, classIds } = randomSet(seed, 300 + ((seed * 97) % 400));
      for (const threshold of [0, 2 ** -45, 0.3, 0.5, 0.7, 1]) {
        expect(Array.from(nms(boxes, scores, threshold)), `seed ${seed}, threshold ${threshold}`).toEqual(referenceNms(boxes, scores, threshold));
        compared++;
      }
      const threshold = [0.5, 0.7, 0.9][seed % 3];
      const batched = Array.from(batchedNms(boxes, scores, classIds, threshold));
      expect(batched, `batched, seed ${seed}`).toEqual(referenceNms(boxes, scores, threshold, classIds));
      expect(Array.from(batchedNms(boxes, scores, classIds, threshold, 50))).toEqual(batched.slice(0, 50));
      compared++;
    }
    expect(compared).toBe(24 * 7);
  });
});
