/**
 * The R×P matrix of dot products a_r · b_p of the rows of `a` (R×D) and `b` (P×D), the product under
 * scoring's cosine similarities. Each entry equals the plain loop `Σ a[r][i]·b[p][i]` accumulated in
 * float64 in order of i and rounded once to float32 (a float32×float32 product is exact in float64,
 * so only the additions round, in the loop's order).
 *
 * The products run in WebAssembly SIMD (wasm/dot-rows.wat): a register block of 4 rows × 4 phrases,
 * two phrases per f64x2 lane pair, so lanes hold different entries and every sum keeps its order —
 * bit for bit the plain loop. Here the inputs are widened to float64 into the kernel's memory: `b` packed
 * as panels of 4 phrases × D (up to 32 MiB of them at once), rows of `a` in chunks of about 4 MiB with
 * their results; each kernel call takes a cache-sized block of panels past every row of the chunk. The
 * kernel's memory stays at its largest size for later calls (about 36 MiB at most, unless one row or
 * four phrases alone are larger).
 *
 * Glossary: R rows of `a` (regions), P rows of `b` (phrases), D the row length (embedding size).
 */
import { instantiate, reserve, type WasmKernel } from '../geometry/wasm/kernel.js';
import { DOT_ROWS_WASM } from './wasm/dot-rows-wasm.js';

type DotFunction = (a: number, rows: number, b: number, cols: number, dim: number, out: number, stride: number) => void;
let kernel: { wasm: WasmKernel; dot: DotFunction } | undefined;

/** Bytes of packed phrases per kernel call: a block stays in the L2 cache while every row passes by. */
const PHRASE_BLOCK_BYTES = 1 << 17;
/** Bytes of packed phrases held at once (packed once, then every chunk of rows meets them). */
const PACKED_BYTES = 1 << 25;
/** Bytes of widened rows of `a` and of their float32 results per round trip through the kernel. */
const ROW_CHUNK_BYTES = 1 << 22;

/** `dotRows`: R×P float32 dot products of the rows of `a` and `b` (see the module header). Unchecked. */
export function dotRows(a: Float32Array, R: number, b: Float32Array, P: number, dim: number): Float32Array {
  const out = new Float32Array(R * P);
  if (out.length === 0) return out;
  if (kernel === undefined) {
    const wasm = instantiate(DOT_ROWS_WASM);
    kernel = { wasm, dot: wasm.exports.dot as DotFunction };
  }
  const packed = Math.min(P, Math.max(4, Math.floor(PACKED_BYTES / (8 * dim)) & ~3));
  const block = Math.min(packed, Math.max(4, Math.floor(PHRASE_BLOCK_BYTES / (8 * dim)) & ~3));
  const chunk = Math.max(1, Math.min(R, Math.floor(ROW_CHUNK_BYTES / (8 * dim + 4 * packed))));
  const bAt = 0, aAt = bAt + 8 * dim * ((packed + 3) & ~3), outAt = aAt + 8 * dim * chunk;
  reserve(kernel.wasm, outAt + 4 * packed * chunk, 'cosineSimilarity', `${R}×${dim} regions and ${P}×${dim} phrases`);
  const f64 = new Float64Array(kernel.wasm.memory.buffer), f32 = new Float32Array(kernel.wasm.memory.buffer);
  for (let s0 = 0; s0 < P; s0 += packed) {
    const cols = Math.min(packed, P - s0);
    packPanels(b, s0, cols, dim, f64, bAt >> 3);
    for (let r0 = 0; r0 < R; r0 += chunk) {
      const rows = Math.min(chunk, R - r0);
      f64.set(a.subarray(r0 * dim, (r0 + rows) * dim), aAt >> 3);
      for (let p0 = 0; p0 < cols; p0 += block) {
        kernel.dot(aAt, rows, bAt + 8 * dim * p0, Math.min(block, cols - p0), dim, outAt + 4 * p0, 4 * cols);
      }
      const from = outAt >> 2;
      if (cols === P) out.set(f32.subarray(from, from + rows * P), r0 * P);
      else for (let r = 0; r < rows; r++) out.set(f32.subarray(from + r * cols, from + (r + 1) * cols), (r0 + r) * P + s0);
    }
  }
  return out;
}

/** Phrases p0 … p0 + cols - 1 of `b` as panels of dim × 4 float64 at `to` (lanes past the end: 0). */
function packPanels(b: Float32Array, p0: number, cols: number, dim: number, f64: Float64Array, to: number): void {
  for (let g = 0; 4 * g < cols; g++) {
    const panel = to + 4 * g * dim;
    for (let k = 0; k < 4; k++) {
      if (4 * g + k >= cols) {
        for (let i = 0; i < dim; i++) f64[panel + 4 * i + k] = 0;
        continue;
      }
      const row = (p0 + 4 * g + k) * dim;
      for (let i = 0; i < dim; i++) f64[panel + 4 * i + k] = b[row + i];
    }
  }
}
