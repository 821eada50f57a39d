/**
 * Box coding, a float32 port of torchvision's detection BoxCoder (decode_single / encode_single),
 * the parameterization every R-CNN RPN and box head uses.
 *
 * Glossary: N reference boxes (anchors or proposals, XYXY); k boxes per row (class-specific
 * blocks), so deltas are N×4k rows of [dx, dy, dw, dh]; weights [wx, wy, ww, wh] divide the deltas
 * ((1, 1, 1, 1) for the RPN, (10, 10, 5, 5) for the Fast R-CNN head).
 *
 * Decoding runs in WebAssembly (wasm/box-coder.wat), one box per f32x4: the same float32 operations
 * in the same order, and exp computed in float64 to within 2^-50 before its float32 rounding — which
 * gives float32(Math.exp(x)) for every float32 x in [-104.5, 4.2] (checked exhaustively; dw and dh
 * are clamped to 4.135 first), so results equal a scalar float32 port's bit for bit.
 * `decodeBoxes` checks its arguments; `decodeBoxesUnchecked` is the kernel for callers that checked
 * them at their own edge (filterProposals).
 */
import { describe, invalidInput } from '../errors.js';
import { checkBoxes, checkNumber } from './validate.js';
import { BOX_CODER_WASM } from './wasm/box-coder-wasm.js';
import { instantiate, reserve, type WasmKernel } from './wasm/kernel.js';

const f32 = Math.fround;

/**
 * Upper clamp for dw and dh before exp(): log(1000 / 16). A delta can then grow a box at most
 * 1000/16 = 62.5× per side, so a wild regression output cannot overflow exp(). torchvision and
 * detectron2 both use this constant; it is applied to the float32 tensor, hence the float32 value.
 */
export const BBOX_XFORM_CLIP = Math.fround(Math.log(1000 / 16));

export type BoxCoderWeights = [number, number, number, number];

/**
 * Checks weights [wx, wy, ww, wh] (finite, > 0) and returns them as float32, the precision the
 * deltas are divided in.
 */
export function checkBoxCoderWeights(weights: unknown): BoxCoderWeights {
  if (!Array.isArray(weights) || weights.length !== 4) {
    throw invalidInput('weights [wx, wy, ww, wh]', 'weights', Array.isArray(weights) ? `an array of length ${weights.length}` : describe(weights));
  }
  weights.forEach((w, i) => checkNumber(`weights[${i}]`, w, 'positive'));
  return [f32(weights[0]), f32(weights[1]), f32(weights[2]), f32(weights[3])];
}

/**
 * Applies deltas to reference boxes: N×4k deltas and N×4 reference boxes → N×4k boxes.
 * `pw = exp(min(dw / ww, clip)) · w` (no lower clamp), centred at `dx / wx · w + cx`.
 * @throws InvalidInputError for reference boxes that are not finite, deltas that are not N×4k, or
 *   weights that are not four finite numbers > 0.
 */
export function decodeBoxes(deltas: Float32Array, refBoxes: Float32Array, weights: BoxCoderWeights = [1, 1, 1, 1]): Float32Array {
  const n = checkBoxes('refBoxes', refBoxes, { allowInverted: true });
  const checked = checkBoxCoderWeights(weights);
  if (!(deltas instanceof Float32Array)) throw invalidInput('a Float32Array of N×4k deltas', 'deltas', describe(deltas));
  if (n === 0 ? deltas.length !== 0 : deltas.length % (4 * n) !== 0) {
    throw invalidInput(`N×4k deltas for N = ${n} reference boxes (a multiple of ${4 * n})`, 'deltas', `length ${deltas.length}`);
  }
  return decodeBoxesUnchecked(deltas, refBoxes, checked);
}

type DecodeFunction = (refs: number, rows: number, n: number, stride: number, wx: number, wy: number, ww: number, wh: number, clip: number) => void;
let kernel: { wasm: WasmKernel; decode: DecodeFunction } | undefined;

/** Bytes of deltas decoded per round trip through the kernel's memory (whole rows; at least one row). Exported for tests. */
export const DECODE_CHUNK_BYTES = 1 << 22;
/** Where the reference boxes go in the kernel's memory: after exp's table of 64 float64. */
const REFS_AT = 512;

/**
 * `decodeBoxes` without its checks: `refBoxes` N×4, `deltas` N×4k (k >= 1 when N > 0), `weights` as
 * `checkBoxCoderWeights` returns them. Internal callers that validated their inputs use it.
 */
export function decodeBoxesUnchecked(deltas: Float32Array, refBoxes: Float32Array, weights: BoxCoderWeights): Float32Array {
  const n = refBoxes.length >> 2;
  const out = new Float32Array(deltas.length);
  if (deltas.length === 0) return out;
  if (kernel === undefined) {
    const wasm = instantiate(BOX_CODER_WASM);
    kernel = { wasm, decode: wasm.exports.decode as DecodeFunction };
  }
  const stride = deltas.length / n; // 4k floats per row
  const rowsPerChunk = Math.max(1, Math.min(n, Math.floor(DECODE_CHUNK_BYTES / (4 * stride))));
  const rowsAt = REFS_AT + 16 * rowsPerChunk;
  reserve(kernel.wasm, rowsAt + 4 * stride * rowsPerChunk, 'decodeBoxes', `${n} rows of ${stride} deltas`);
  const floats = new Float32Array(kernel.wasm.memory.buffer);
  const [wx, wy, ww, wh] = weights;
  for (let i0 = 0; i0 < n; i0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, n - i0);
    floats.set(refBoxes.subarray(4 * i0, 4 * (i0 + rows)), REFS_AT >> 2);
    floats.set(deltas.subarray(stride * i0, stride * (i0 + rows)), rowsAt >> 2);
    kernel.decode(REFS_AT, rowsAt, rows, stride, wx, wy, ww, wh, BBOX_XFORM_CLIP);
    out.set(floats.subarray(rowsAt >> 2, (rowsAt >> 2) + stride * rows), stride * i0);
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
  const [wx, wy, ww, wh] = checkBoxCoderWeights(weights);
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
