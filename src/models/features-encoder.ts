/**
 * RegionCLIP's region encoder (`features` mode): the backbone (CLIP ResNet stem..res4) runs once
 * on the detector's normalized image, padded to `regionEncoder.sizeDivisibility` (RegionCLIP: none);
 * RoIAlign (14×14, aligned, adaptive sampling by default) pools each box from the feature map; the head (res5 + attention pool) embeds the pooled
 * regions. Matches RegionCLIP's `clip_roi_heads` zero-shot path (RoIAlign on res4, then res5 +
 * attnpool) within the parity tests' 1e-4. A finetuned head's second output, R×4 class-agnostic box
 * deltas (`regionEncoder.boxDeltas`), comes back from `encode` unchanged.
 *
 * Glossary: R regions; C feature channels; h×w the feature map; oh×ow the pooled size; D embedding size.
 */
import { ModelRunError, expectedMessage } from '../errors.js';
import type { Boxes } from '../geometry/boxes.js';
import type { BoxCoderWeights } from '../geometry/box-coder.js';
import { channelsLast, roiAlign, roisOf } from '../geometry/roi-align.js';
import type { Tensor } from '../geometry/tensor.js';
import { resizeForDetection, toDetectorTensor, type ResizedForDetection } from '../image/preprocess.js';
import type { DecodedImage } from '../image/read.js';
import { normalizeRows } from '../matching/scores.js';
import { ort, type CheckedSession } from '../runtime/session.js';
import { floatOutput } from './graph-output.js';
import type { DetectorManifest, RegionEncoderSpec } from './manifest.js';
import { embedInBatches, type RegionContext, type RegionEncoder, type RegionOutputs } from './region-encoder.js';

type FeaturesSpec = Extract<RegionEncoderSpec, { mode: 'features' }>;

export class FeatureRegionEncoder implements RegionEncoder {
  readonly mode = 'features';
  readonly boxDeltaWeights: BoxCoderWeights | undefined;

  /**
   * @param image the detector's resize (`shortEdge`, `maxSize`) and this backbone's input padding
   *   (`sizeDivisibility`: manifest `regionEncoder.sizeDivisibility`, else `image.sizeDivisibility`).
   */
  constructor(
    private readonly backbone: CheckedSession,
    private readonly head: CheckedSession,
    private readonly spec: FeaturesSpec,
    private readonly image: DetectorManifest['image'],
    private readonly embedDim: number,
    private readonly batchSize: number,
  ) {
    this.boxDeltaWeights = spec.boxDeltas?.weights;
  }

  async embed(image: DecodedImage, boxes: Boxes, context: RegionContext = {}): Promise<Float32Array> {
    return (await this.encode(image, boxes, context)).embeds;
  }

  async encode(image: DecodedImage, boxes: Boxes, context: RegionContext = {}): Promise<RegionOutputs> {
    const boxDeltas = this.spec.boxDeltas === undefined ? undefined : new Float32Array(4 * boxes.length);
    if (boxes.length === 0) return { embeds: new Float32Array(0), boxDeltas };
    const resized = context.resized ?? resizeForDetection(image, { shortEdge: this.image.shortEdge, maxSize: this.image.maxSize });
    const featureMap = await this.featureMap(resized);
    // Boxes to the resized image, where the feature map's spatialScale applies.
    const rois = roisOf(boxes.scale(resized.scaleX, resized.scaleY));
    const D = this.embedDim;
    const { outputSize, spatialScale, samplingRatio, aligned } = this.spec;
    // Converted to channels last (roiAlign's working layout) once for all batches.
    const features = channelsLast(featureMap);
    const perRegion = featureMap.dims[1] * outputSize[0] * outputSize[1];
    const out = await embedInBatches(boxes.length, D, this.batchSize, perRegion, async (start, count, input) => {
      const pooled = roiAlign(features, rois.subarray(5 * start, 5 * (start + count)), { outputSize, spatialScale, samplingRatio, aligned }, input);
      const result = await this.runHead(pooled, count);
      if (result.deltas !== undefined) boxDeltas?.set(result.deltas, 4 * start);
      return result.embeds;
    });
    return { embeds: normalizeRows(out, D), boxDeltas };
  }

  /** The head on `count` pooled regions: count×D embeddings and, when declared, count×4 box deltas. */
  private async runHead(pooled: Tensor, count: number): Promise<{ embeds: Float32Array; deltas?: Float32Array }> {
    const head = this.head;
    const D = this.embedDim;
    const outputs = await head.run({ [head.spec.inputs[0].name]: new ort.Tensor('float32', pooled.data, pooled.dims) });
    const embeds = floatOutput(outputs, head.spec.outputs[0].name, head.graphName);
    if (embeds.data.length !== count * D) throw new ModelRunError(expectedMessage(`${count}×${D} region embeddings`, head.graphName, `dims [${embeds.dims.join(', ')}]`));
    const name = this.spec.boxDeltas?.output;
    if (name === undefined) return { embeds: embeds.data };
    const deltas = floatOutput(outputs, name, head.graphName);
    if (deltas.data.length !== count * 4) throw new ModelRunError(expectedMessage(`${count}×4 box deltas`, `${head.graphName} output ${name}`, `dims [${deltas.dims.join(', ')}]`));
    return { embeds: embeds.data, deltas: deltas.data };
  }

  /** The backbone's `featureOutput` on the normalized, padded resized image: 1×C×h×w. */
  private async featureMap(resized: ResizedForDetection): Promise<Tensor> {
    const input = toDetectorTensor(resized.image, this.spec.input, this.image.sizeDivisibility);
    const backbone = this.backbone;
    const outputs = await backbone.run({ [backbone.spec.inputs[0].name]: new ort.Tensor('float32', input.data, input.dims) });
    return floatOutput(outputs, this.spec.featureOutput, backbone.graphName);
  }
}
