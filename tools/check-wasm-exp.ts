// Exhaustive check of box-coder.wat's exp: for every float32 x in [-104.5, 4.2] (about 2.2 billion
// values; dw and dh are clamped to 4.135 before exp), the decoded half-width of the box [-1, -1, 1, 1]
// under the delta [0, 0, x, x] is exactly float32(Math.exp(x)). Run after editing the .wat:
//   npx tsx tools/check-wasm-exp.ts        (a few minutes; exits 1 on any difference)
import { BBOX_XFORM_CLIP, decodeBoxesUnchecked } from '../src/geometry/box-coder.js';

const CHUNK = 1 << 20;
const refs = new Float32Array(4 * CHUNK);
for (let i = 0; i < CHUNK; i++) refs.set([-1, -1, 1, 1], 4 * i);
const deltas = new Float32Array(4 * CHUNK);
const bits = new Uint32Array(CHUNK), xs = new Float32Array(bits.buffer);
const one = new Float32Array(1), oneBits = new Uint32Array(one.buffer);
const bitsOf = (v: number) => ((one[0] = v), oneBits[0]);
let differences = 0, total = 0;
// Non-negative floats from +0 up to 4.2, negative ones from -0 down to -104.5 (bit patterns increase).
for (const [first, last] of [[0, bitsOf(4.2)], [0x80000000, bitsOf(-104.5)]]) {
  for (let start = first; start <= last; start += CHUNK) {
    const m = Math.min(CHUNK, last - start + 1);
    for (let i = 0; i < m; i++) bits[i] = start + i;
    for (let i = 0; i < m; i++) deltas[4 * i + 2] = deltas[4 * i + 3] = xs[i];
    const out = decodeBoxesUnchecked(deltas.subarray(0, 4 * m), refs.subarray(0, 4 * m), [1, 1, 1, 1]);
    for (let i = 0; i < m; i++) {
      const want = Math.fround(Math.exp(Math.min(xs[i], BBOX_XFORM_CLIP)));
      if (out[4 * i + 2] !== want && ++differences <= 20) console.log(`x = ${xs[i]}: ${out[4 * i + 2]}, Math.exp gives ${want}`);
    }
    total += m;
  }
}
console.log(`${total} float32 arguments, ${differences} differences`);
process.exit(differences === 0 ? 0 : 1);
