import { describe, expect, it } from 'vitest';
import { Boxes, boxArea, boxCount, boxIou, clipBoxes, removeSmallBoxes, scaleBoxes, xywhToXyxy, xyxyToXywh, InvalidInputError } from '../../src/index.js';

const boxes = Float32Array.from([-5, 2, 30, 12, 10, 10, 10.5, 40, 0, 0, 4, 4]);

describe('box helpers', () => {
  it('counts, areas', () => {
    expect(boxCount(boxes)).toBe(3);
    expect(Array.from(boxArea(boxes))).toEqual([350, 15, 16]);
  });
  it('clips x to [0, W] and y to [0, H]', () => {
    expect(Array.from(clipBoxes(boxes, [20, 25]))).toEqual([0, 2, 25, 12, 10, 10, 10.5, 20, 0, 0, 4, 4]);
  });
  it('removes boxes whose width or height is below minSize (>= keeps)', () => {
    expect(Array.from(removeSmallBoxes(boxes, 0.5))).toEqual([0, 1, 2]);
    expect(Array.from(removeSmallBoxes(boxes, 4))).toEqual([0, 2]);
    expect(Array.from(removeSmallBoxes(boxes, 4.5))).toEqual([0]);
  });
  it('scales and converts XYXY ↔ XYWH losslessly', () => {
    expect(Array.from(scaleBoxes(boxes.subarray(8), 2, 0.5))).toEqual([0, 0, 8, 2]);
    const xywh = xyxyToXywh(boxes);
    expect(Array.from(xywh)).toEqual([-5, 2, 35, 10, 10, 10, 0.5, 30, 0, 0, 4, 4]);
    expect(Array.from(xywhToXyxy(xywh))).toEqual(Array.from(boxes));
  });
  it('boxIou of inverted boxes follows torchvision: positive area, no intersection', () => {
    const inverted = Float32Array.from([10, 10, 0, 0]);
    const iou = boxIou(inverted, Float32Array.from([0, 0, 10, 10, 10, 10, 0, 0]));
    expect(Array.from(iou)).toEqual([0, 0]);
  });
  it('rejects bad boxes with a typed error naming the argument', () => {
    expect(() => clipBoxes(Float32Array.from([3, 0, 1, 1]), [10, 10])).toThrow(InvalidInputError);
    expect(() => clipBoxes(boxes, [0, 10])).toThrow(/\[height, width\] as two positive integers for imageSize but received \[0, 10\]/);
    expect(() => removeSmallBoxes(boxes, -1)).toThrow(/finite number >= 0 for minSize but received -1/);
    expect(() => xywhToXyxy(Float32Array.from([0, 0, -1, 2]))).toThrow(/w >= 0 and h >= 0 for boxes\[0\]/);
    expect(() => boxArea(Float32Array.from([0, 0, 1]))).toThrow(/multiple of 4/);
    expect(() => boxIou(Float32Array.from([0, 0, 1, Infinity]), new Float32Array(0))).toThrow(/finite coordinates for a\[0\]/);
  });
});

describe('Boxes (the structure every stage passes)', () => {
  const b = Boxes.from(Float32Array.from([-5, 2, 30, 12, 10, 10, 10.5, 40, 0, 0, 4, 4]));
  it('holds N×4 rows and gives each row back', () => {
    expect(b.length).toBe(3);
    expect(b.row(1)).toEqual([10, 10, 10.5, 40]);
    expect(Boxes.empty().length).toBe(0);
  });
  it('area, clip and nonempty agree with the array API (same kernels)', () => {
    expect(Array.from(b.area())).toEqual([350, 15, 16]);
    expect(Array.from(b.clip([20, 25]).data)).toEqual([0, 2, 25, 12, 10, 10, 10.5, 20, 0, 0, 4, 4]);
    expect(Array.from(b.nonempty(4))).toEqual([0, 2]);
    expect(Array.from(b.nonempty())).toEqual([0, 1, 2]);
    // detectron2's strict `>`: a 4-wide box is not wider than 4, a zero-width box is empty at 0.
    expect(Array.from(b.nonempty(4, 'gt'))).toEqual([0]);
    expect(Array.from(Boxes.from(Float32Array.from([0, 0, 0, 5, 0, 0, 1, 1])).nonempty(0, 'gt'))).toEqual([1]);
    expect(Array.from(Boxes.from(Float32Array.from([0, 0, 0, 5, 0, 0, 1, 1])).nonempty(0))).toEqual([0, 1]);
  });
  it('gathers rows in the given order, repeats included', () => {
    expect(Array.from(b.gather([2, 0, 2]).data)).toEqual([0, 0, 4, 4, -5, 2, 30, 12, 0, 0, 4, 4]);
    expect(b.gather([]).length).toBe(0);
  });
  it('scale multiplies, unscale divides (float32 results, exact on these values), expand grows around the centre', () => {
    expect(Array.from(b.scale(2, 0.5).data)).toEqual([-10, 1, 60, 6, 20, 5, 21, 20, 0, 0, 8, 2]);
    expect(Array.from(b.scale(2, 0.5).unscale(2, 0.5).data)).toEqual(Array.from(b.data));
    // box [0, 0, 4, 4], centre (2, 2): × 1.5 → [-1, -1, 5, 5]
    expect(Array.from(b.gather([2]).expand(1.5).data)).toEqual([-1, -1, 5, 5]);
    expect(Array.from(b.gather([2]).expand(1).data)).toEqual([0, 0, 4, 4]);
  });
  it('toXywh gives COCO [x, y, w, h], as xyxyToXywh does', () => {
    expect(Array.from(b.toXywh())).toEqual([-5, 2, 35, 10, 10, 10, 0.5, 30, 0, 0, 4, 4]);
    expect(Array.from(b.toXywh())).toEqual(Array.from(xyxyToXywh(b.data)));
  });
  it('validates once at the edge: from() checks every coordinate, of() only the length', () => {
    expect(() => Boxes.from(Float32Array.from([0, 0, 1]))).toThrow(/multiple of 4/);
    expect(() => Boxes.from(Float32Array.from([0, 0, NaN, 1]), 'given')).toThrow('Expected finite coordinates for given[0] but received [0, 0, NaN, 1].');
    expect(() => Boxes.from(Float32Array.from([5, 0, 1, 1]))).toThrow(InvalidInputError);
    expect(Boxes.from(Float32Array.from([5, 0, 1, 1]), 'boxes', { allowInverted: true }).length).toBe(1);
    expect(() => Boxes.from([0, 0, 1, 1])).toThrow(/Float32Array/);
    expect(() => Boxes.of(new Float32Array(6))).toThrow(/length 6/);
    expect(Boxes.of(Float32Array.from([5, 0, 1, 1])).length).toBe(1);
  });
});
