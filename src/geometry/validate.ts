/**
 * Argument guards shared by the geometry functions. Each throws an `InvalidInputError` naming the
 * argument and what was received; none of them copies or changes its input.
 */
import { describe, invalidInput } from '../errors.js';

export interface BoxCheckOptions {
  /**
   * Accept boxes with x2 < x1 or y2 < y1. Only the reference-defined operations (box IoU, RoIAlign,
   * box coding) take them, because torchvision defines their result; everywhere else an inverted
   * box is an error, never a silent wrong answer.
   */
  allowInverted?: boolean;
}

/** Checks an N×4 XYXY box array and returns N. */
export function checkBoxes(name: string, boxes: unknown, options: BoxCheckOptions = {}): number {
  if (!(boxes instanceof Float32Array)) {
    throw invalidInput('a Float32Array of N×4 [x1, y1, x2, y2] boxes', name, describe(boxes));
  }
  if (boxes.length % 4 !== 0) {
    throw invalidInput('a length that is a multiple of 4 (N×4 [x1, y1, x2, y2])', name, `length ${boxes.length}`);
  }
  const n = boxes.length / 4;
  for (let i = 0; i < n; i++) {
    const x1 = boxes[4 * i], y1 = boxes[4 * i + 1], x2 = boxes[4 * i + 2], y2 = boxes[4 * i + 3];
    if (!Number.isFinite(x1) || !Number.isFinite(y1) || !Number.isFinite(x2) || !Number.isFinite(y2)) {
      throw invalidInput('finite coordinates', `${name}[${i}]`, `[${x1}, ${y1}, ${x2}, ${y2}]`);
    }
    if (!options.allowInverted && (x2 < x1 || y2 < y1)) {
      throw invalidInput('x1 <= x2 and y1 <= y2', `${name}[${i}]`, `[${x1}, ${y1}, ${x2}, ${y2}]`);
    }
  }
  return n;
}

/** Checks a Float32Array of `count` finite scores. */
export function checkScores(name: string, scores: unknown, count: number): Float32Array {
  if (!(scores instanceof Float32Array)) {
    throw invalidInput(`a Float32Array of ${count} scores`, name, describe(scores));
  }
  if (scores.length !== count) {
    throw invalidInput(`${count} scores (one per box)`, name, `length ${scores.length}`);
  }
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(scores[i])) throw invalidInput('finite scores', `${name}[${i}]`, describe(scores[i]));
  }
  return scores;
}

/** Checks a number in [0, 1]. */
export function checkFraction(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw invalidInput('a number in [0, 1]', name, describe(value));
  }
  return value;
}

/** Checks a finite number (optionally > 0 or >= 0). */
export function checkNumber(name: string, value: unknown, range: 'any' | 'positive' | 'nonNegative' = 'any'): number {
  const ok = typeof value === 'number' && Number.isFinite(value) &&
    (range === 'any' || (range === 'positive' ? value > 0 : value >= 0));
  if (!ok) {
    const what = range === 'any' ? 'a finite number' : range === 'positive' ? 'a finite number > 0' : 'a finite number >= 0';
    throw invalidInput(what, name, describe(value));
  }
  return value as number;
}

/** Checks an integer (optionally >= min). */
export function checkInteger(name: string, value: unknown, min = Number.MIN_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidInput(min === Number.MIN_SAFE_INTEGER ? 'an integer' : `an integer >= ${min}`, name, describe(value));
  }
  return value;
}

/** Checks an image or feature-map size given as [height, width] of positive integers. */
export function checkSizeHW(name: string, size: unknown): [number, number] {
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => typeof v === 'number' && Number.isInteger(v) && v > 0)) {
    throw invalidInput('[height, width] as two positive integers', name, Array.isArray(size) ? `[${size.join(', ')}]` : describe(size));
  }
  return [size[0], size[1]];
}
