/**
 * A tiny deterministic generator shared with bench/*_torch.py (same formula), so the TypeScript and
 * PyTorch benchmarks time the same inputs: a 32-bit LCG (Numerical Recipes constants).
 */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** N random XYXY boxes inside a width×height image, sides in [minSide, maxSide). */
export function randomBoxes(next: () => number, n: number, width: number, height: number, minSide: number, maxSide: number): Float32Array {
  const boxes = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const w = minSide + next() * (maxSide - minSide);
    const h = minSide + next() * (maxSide - minSide);
    const x = next() * (width - w);
    const y = next() * (height - h);
    boxes.set([x, y, x + w, y + h], 4 * i);
  }
  return boxes;
}

/** Median wall time in ms of `runs` calls after `warmup` calls. */
export function timeMs(fn: () => unknown, runs: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * N×4 random box deltas [dx, dy, dw, dh] as an RPN or box head emits them: centre shifts in
 * [-0.2, 0.2), log-scale changes in [-1, 1).
 */
export function randomDeltas(next: () => number, n: number): Float32Array {
  const deltas = new Float32Array(4 * n);
  for (let i = 0; i < 4 * n; i += 4) {
    deltas[i] = (next() - 0.5) * 0.4;
    deltas[i + 1] = (next() - 0.5) * 0.4;
    deltas[i + 2] = (next() - 0.5) * 2;
    deltas[i + 3] = (next() - 0.5) * 2;
  }
  return deltas;
}
