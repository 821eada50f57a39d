import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from '../../src/util/suggest.js';

describe('suggestions', () => {
  it('measures edits including swaps', () => {
    expect(editDistance('verbose', 'verbos')).toBe(1);
    expect(editDistance('iuo', 'iou')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
  it('suggests the closest name, or nothing when far', () => {
    expect(closestMatch('verbos', ['verbose', 'version', 'help'])).toBe('verbose');
    expect(closestMatch('max-dets', ['max-det', 'iou', 'conf'])).toBe('max-det');
    expect(closestMatch('xyz', ['verbose', 'version'])).toBeUndefined();
    expect(closestMatch('propo', ['proposals', 'iou'])).toBe('proposals');
  });
});
