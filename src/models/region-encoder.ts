/**
 * The region encoder stage: boxes of one image → R×D L2-normalized region embeddings. Two
 * implementations behind one interface, chosen by the manifest's `regionEncoder.mode`:
 * - `features` (RegionCLIP): backbone → feature map → RoIAlign → head (features-encoder.ts);
 * - `crop`: RoIAlign pixel crops of each box at the image tower's input size → CLIP image tower
 *   (crop-encoder.ts).
 *
 * A finetuned RegionCLIP head also regresses one class-agnostic box per region (`encode`'s
 * `boxDeltas`); the detect pipeline decodes them against the proposals.
 *
 * Glossary: R regions; D embedding size; boxes are in original-image pixels.
 */
import type { Boxes } from '../geometry/boxes.js';
import type { BoxCoderWeights } from '../geometry/box-coder.js';
import type { DecodedImage } from '../image/read.js';
import type { ResizedForDetection } from '../image/preprocess.js';

export interface RegionContext {
  /** The detector's resize of this image (from the RPN stage); features mode computes it when absent. */
  resized?: ResizedForDetection;
  /** crop mode: enlarge each box by this factor around its centre (default: the manifest's). */
  contextScale?: number;
}

/** What the encoder computes for R boxes. */
export interface RegionOutputs {
  /** R×D L2-normalized region embeddings, row-major. */
  embeds: Float32Array;
  /** R×4 class-agnostic box deltas [dx, dy, dw, dh] of a finetuned head (manifest
   * `regionEncoder.boxDeltas`), to decode against the boxes with `boxDeltaWeights`; absent otherwise. */
  boxDeltas?: Float32Array;
}

export interface RegionEncoder {
  readonly mode: 'features' | 'crop';
  /** The weights the head's box deltas are decoded with (RegionCLIP: 10, 10, 5, 5); undefined when it has none. */
  readonly boxDeltaWeights?: BoxCoderWeights;
  /**
   * R×D L2-normalized region embeddings of `boxes` (original-image pixels), row-major.
   * @throws ModelRunError when a graph fails or returns the wrong shape.
   */
  embed(image: DecodedImage, boxes: Boxes, context?: RegionContext): Promise<Float32Array>;
  /** The embeddings and, when the head has them, the box deltas. @throws ModelRunError as `embed`. */
  encode(image: DecodedImage, boxes: Boxes, context?: RegionContext): Promise<RegionOutputs>;
}

/**
 * Runs `embedBatch(start, count, input)` over R regions in batches of `batchSize` and gathers the R×D
 * results in order. Each batch must return count×D values. `input` is count × `inputPerRegion` floats
 * of one buffer this call allocates once and hands to every batch in turn (the pooled features or
 * crops the batch fills and the graph reads): batches run one after another, so a batch's graph run
 * has ended before the next batch writes, and each call has its own buffer, so concurrent calls stay
 * apart. A fresh array per batch cost as much as the pooling itself.
 */
export async function embedInBatches(
  R: number, D: number, batchSize: number, inputPerRegion: number,
  embedBatch: (start: number, count: number, input: Float32Array) => Promise<Float32Array>,
): Promise<Float32Array> {
  const out = new Float32Array(R * D);
  const batch = Math.max(1, batchSize);
  const buffer = new Float32Array(Math.min(R, batch) * inputPerRegion);
  for (let start = 0; start < R; start += batch) {
    const count = Math.min(batch, R - start);
    out.set(await embedBatch(start, count, buffer.subarray(0, count * inputPerRegion)), start * D);
  }
  return out;
}
