/**
 * Box coding, a float32 port of torchvision's detection BoxCoder (decode_single / encode_single),
 * the parameterization every R-CNN RPN and box head uses.
 *
 * Glossary: N reference boxes (anchors or proposals, XYXY); k boxes per row (class-specific
 * blocks), so deltas are N×4k rows of [dx, dy, dw, dh]; weights [wx, wy, ww, wh] divide the deltas
 * ((1, 1, 1, 1) for the RPN, (10, 10, 5, 5) for the Fast R-CNN head).
 */
import { describe, invalidInput } from '../errors.js';
import { checkBoxes, checkNumber } from './validate.js';

const f32 = Math.fround;

/**
 * Upper clamp for dw and dh before exp(): log(1000 / 16). A delta can then grow a box at most
 * 1000/16 = 62.5× per side, so a wild regression output cannot overflow exp(). torchvision and
 * detectron2 both use this constant; it is applied to the float32 tensor, hence the float32 value.
 */
export const BBOX_XFORM_CLIP = Math.fround(Math.log(1000 / 16));

export type BoxCoderWeights = [number, number, number, number];

function checkWeights(weights: unknown): BoxCoderWeights {
  if (!Array.isArray(weights) || weights.length !== 4) {
    throw invalidInput('weights [wx, wy, ww, wh]', 'weights', Array.isArray(weights) ? `an array of length ${weights.length}` : describe(weights));
  }
  weights.forEach((w, i) => checkNumber(`weights[${i}]`, w, 'positive'));
  return [f32(weights[0]), f32(weights[1]), f32(weights[2]), f32(weights[3])];
}

/**
 * Applies deltas to reference boxes: N×4k deltas and N×4 reference boxes → N×4k boxes.
 * `pw = exp(min(dw / ww, clip)) · w` (no lower clamp), centred at `dx / wx · w + cx`.
 */
export function decodeBoxes(deltas: Float32Array, refBoxes: Float32Array, weights: BoxCoderWeights = [1, 1, 1, 1]): Float32Array {
  const n = checkBoxes('refBoxes', refBoxes, { allowInverted: true });
  const [wx, wy, ww, wh] = checkWeights(weights);
  if (!(deltas instanceof Float32Array)) throw invalidInput('a Float32Array of N×4k deltas', 'deltas', describe(deltas));
  if (n === 0 ? deltas.length !== 0 : deltas.length % (4 * n) !== 0) {
    throw invalidInput(`N×4k deltas for N = ${n} reference boxes (a multiple of ${4 * n})`, 'deltas', `length ${deltas.length}`);
  }
  const stride = n === 0 ? 0 : deltas.length / n; // 4k
  const out = new Float32Array(deltas.length);
  for (let i = 0; i < n; i++) {
    const w = f32(refBoxes[4 * i + 2] - refBoxes[4 * i]);
    const h = f32(refBoxes[4 * i + 3] - refBoxes[4 * i + 1]);
    const cx = f32(refBoxes[4 * i] + f32(0.5 * w));
    const cy = f32(refBoxes[4 * i + 1] + f32(0.5 * h));
    for (let o = i * stride, end = o + stride; o < end; o += 4) {
      const dx = f32(deltas[o] / wx);
      const dy = f32(deltas[o + 1] / wy);
      const dw = Math.min(f32(deltas[o + 2] / ww), BBOX_XFORM_CLIP);
      const dh = Math.min(f32(deltas[o + 3] / wh), BBOX_XFORM_CLIP);
      const pcx = f32(f32(dx * w) + cx);
      const pcy = f32(f32(dy * h) + cy);
      const halfW = f32(0.5 * f32(f32(Math.exp(dw)) * w));
      const halfH = f32(0.5 * f32(f32(Math.exp(dh)) * h));
      out[o] = pcx - halfW;
      out[o + 1] = pcy - halfH;
      out[o + 2] = pcx + halfW;
      out[o + 3] = pcy + halfH;
    }
  }
  return out;
}

/**
 * The deltas that take each reference box to its target (torchvision encode_single(targets, refs)):
 * `dx = wx · (tcx - rcx) / rw`, `dw = ww · log(tw / rw)`. A zero-size target or reference gives a
 * non-finite delta, as in torchvision.
 */
export function encodeBoxes(targets: Float32Array, refBoxes: Float32Array, weights: BoxCoderWeights = [1, 1, 1, 1]): Float32Array {
  const n = checkBoxes('targets', targets, { allowInverted: true });
  const m = checkBoxes('refBoxes', refBoxes, { allowInverted: true });
  if (n !== m) throw invalidInput(`as many reference boxes as targets (${n})`, 'refBoxes', `${m} boxes`);
  const [wx, wy, ww, wh] = checkWeights(weights);
  const out = new Float32Array(4 * n);
  for (let i = 0; i < 4 * n; i += 4) {
    const rw = f32(refBoxes[i + 2] - refBoxes[i]);
    const rh = f32(refBoxes[i + 3] - refBoxes[i + 1]);
    const rcx = f32(refBoxes[i] + f32(0.5 * rw));
    const rcy = f32(refBoxes[i + 1] + f32(0.5 * rh));
    const tw = f32(targets[i + 2] - targets[i]);
    const th = f32(targets[i + 3] - targets[i + 1]);
    const tcx = f32(targets[i] + f32(0.5 * tw));
    const tcy = f32(targets[i + 1] + f32(0.5 * th));
    out[i] = f32(f32(wx * f32(tcx - rcx)) / rw);
    out[i + 1] = f32(f32(wy * f32(tcy - rcy)) / rh);
    out[i + 2] = f32(ww * f32(Math.log(f32(tw / rw))));
    out[i + 3] = f32(wh * f32(Math.log(f32(th / rh))));
  }
  return out;
}
