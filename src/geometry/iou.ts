/**
 * Pairwise IoU, in float32 exactly as torchvision.ops.box_iou computes it.
 *
 * Glossary: N boxes in `a`, M boxes in `b`; the result is N×M, row-major.
 */
import { areasOf } from './boxes.js';
import { checkBoxes } from './validate.js';

const f32 = Math.fround;

/**
 * N×M IoU matrix of two XYXY box sets: `inter / ((areaA + areaB) - inter)`, every step in float32.
 * Two zero-area boxes give NaN (0/0), as in torchvision. Inverted boxes (x2 < x1) are accepted with
 * torchvision's meaning: their area is the product of the two negative sides and they intersect
 * nothing.
 */
export function boxIou(a: Float32Array, b: Float32Array): Float32Array {
  const n = checkBoxes('a', a, { allowInverted: true });
  const m = checkBoxes('b', b, { allowInverted: true });
  const areaA = areasOf(a, n);
  const areaB = areasOf(b, m);
  const iou = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const ax1 = a[4 * i], ay1 = a[4 * i + 1], ax2 = a[4 * i + 2], ay2 = a[4 * i + 3];
    const areaI = areaA[i];
    for (let j = 0; j < m; j++) {
      const w = f32(Math.min(ax2, b[4 * j + 2]) - Math.max(ax1, b[4 * j]));
      const h = f32(Math.min(ay2, b[4 * j + 3]) - Math.max(ay1, b[4 * j + 1]));
      const inter = f32((w > 0 ? w : 0) * (h > 0 ? h : 0));
      iou[i * m + j] = f32(inter / f32(f32(areaI + areaB[j]) - inter));
    }
  }
  return iou;
}
