/**
 * The `crop` region encoder, for any whole-image CLIP tower: each box (enlarged by the context
 * scale around its centre) is cut from the original image, normalized like CLIP's input, by
 * RoIAlign (aligned, adaptive sampling) at the tower's S×S input size, and the crops go through the
 * image tower (L2-normalized embeddings).
 *
 * Glossary: R regions; H×W the original image; S the tower's input size; D embedding size.
 */
import type { Boxes } from '../geometry/boxes.js';
import { channelsLast, roiAlign, roisOf } from '../geometry/roi-align.js';
import { normalizeToChw, toRgb } from '../image/preprocess.js';
import type { DecodedImage } from '../image/read.js';
import type { ClipModel } from './clip.js';
import type { RegionEncoderSpec } from './manifest.js';
import { embedInBatches, type RegionContext, type RegionEncoder, type RegionOutputs } from './region-encoder.js';

type CropSpec = Extract<RegionEncoderSpec, { mode: 'crop' }>;

export class CropRegionEncoder implements RegionEncoder {
  readonly mode = 'crop';

  constructor(private readonly clip: ClipModel, private readonly spec: CropSpec, private readonly batchSize: number) {}

  /** Crops carry no box regression: only the embeddings. */
  async encode(image: DecodedImage, boxes: Boxes, context: RegionContext = {}): Promise<RegionOutputs> {
    return { embeds: await this.embed(image, boxes, context) };
  }

  async embed(image: DecodedImage, boxes: Boxes, context: RegionContext = {}): Promise<Float32Array> {
    if (boxes.length === 0) return new Float32Array(0);
    const { size, mean, std } = this.clip.manifest.preprocess;
    const pixels = normalizeToChw(toRgb(image), { mean, std });
    // Channels last once for all batches (roiAlign's working layout).
    const imageTensor = channelsLast({ data: pixels.data, dims: [1, 3, image.height, image.width] });
    const rois = roisOf(boxes.expand(context.contextScale ?? this.spec.contextScale));
    return embedInBatches(boxes.length, this.clip.embedDim, this.batchSize, 3 * size * size, async (start, count, input) => {
      const crops = roiAlign(imageTensor, rois.subarray(5 * start, 5 * (start + count)), { outputSize: [size, size], spatialScale: 1, samplingRatio: this.spec.samplingRatio, aligned: true }, input);
      return this.clip.embedPixels({ data: crops.data, dims: [count, 3, size, size] });
    });
  }
}
