/**
 * The proposal generator (RegionCLIP's offline RPN): the RPN graph on the detector's normalized image
 * padded to `rpn.sizeDivisibility`, the anchor generator and `filterProposals`, both in the manifest's
 * `rpn.anchorStyle` (torchvision `AnchorGenerator` + `filter_proposals`, or detectron2
 * `DefaultAnchorGenerator` + `find_top_rpn_proposals` with the levels' fixed strides). Boxes come out
 * in the resized image's pixels; scores are objectness probabilities, logits beside them.
 *
 * Glossary: L feature levels; A anchors per location; h×w a level's feature map; Hp×Wp the padded
 * input; K proposals kept. Level outputs are `[1, A, h, w]` objectness logits and `[1, 4A, h, w]`
 * deltas (torchvision RPNHead and detectron2 StandardRPNHead share this layout).
 */
import { ModelRunError, expectedMessage } from '../errors.js';
import { generateAnchors } from '../geometry/anchors.js';
import { toDetectorTensor, type ResizedForDetection } from '../image/preprocess.js';
import { filterProposals, type Proposals, type RpnLevelOutput } from '../proposals/filter.js';
import { ort, type CheckedSession } from '../runtime/session.js';
import { floatOutput } from './graph-output.js';
import type { RpnSpec } from './manifest.js';

/** Per-call overrides of the manifest's RPN post-processing settings. */
export interface ProposalOverrides {
  preNmsTopK?: number;
  postNmsTopK?: number;
  nmsThreshold?: number;
  minSize?: number;
}

export class Rpn {
  /**
   * @param session the RPN graph (manifest `graphs.rpn`), already checked against its spec.
   * @param spec the manifest's `rpn` entry: input normalization, levels, box coder, top-k, NMS.
   * @param sizeDivisibility the RPN input's padding (manifest `rpn.sizeDivisibility`, else `image.sizeDivisibility`).
   */
  constructor(private readonly session: CheckedSession, readonly spec: RpnSpec, private readonly sizeDivisibility: number) {}

  /**
   * Proposals for an image already resized for detection: K boxes (resized pixels) in decreasing
   * objectness, their objectness probabilities and levels.
   * @throws ModelRunError when the graph fails or its outputs do not have the declared layout.
   */
  async propose(resized: ResizedForDetection, overrides: ProposalOverrides = {}): Promise<Proposals> {
    const input = toDetectorTensor(resized.image, this.spec.input, this.sizeDivisibility);
    const levels = await this.levelOutputs(input.data, input.dims);
    const { anchors } = generateAnchors({
      sizes: this.spec.levels.map((l) => l.anchorSizes),
      aspectRatios: this.spec.levels.map((l) => l.aspectRatios),
      imageSize: [input.dims[2], input.dims[3]],
      featureMapSizes: levels.map((l) => [l.height, l.width] as [number, number]),
      style: this.spec.anchorStyle,
      strides: this.spec.levels.map((l) => l.stride),
    });
    return filterProposals(levels, {
      anchors,
      imageSize: [resized.image.height, resized.image.width],
      boxCoderWeights: this.spec.boxCoderWeights,
      preNmsTopK: overrides.preNmsTopK ?? this.spec.preNmsTopK,
      postNmsTopK: overrides.postNmsTopK ?? this.spec.postNmsTopK,
      nmsThreshold: overrides.nmsThreshold ?? this.spec.nmsThreshold,
      minSize: overrides.minSize ?? this.spec.minSize,
      minSizeRule: this.spec.minSizeRule,
      scoreThreshold: this.spec.scoreThreshold,
      style: this.spec.anchorStyle,
    });
  }

  /** Runs the graph on the 1×3×Hp×Wp input and reads each level's objectness and deltas. */
  private async levelOutputs(data: Float32Array, dims: number[]): Promise<RpnLevelOutput[]> {
    const rpn = this.session;
    const outputs = await rpn.run({ [rpn.spec.inputs[0].name]: new ort.Tensor('float32', data, dims) });
    return this.spec.levels.map((level) => {
      const objectness = floatOutput(outputs, level.objectness, rpn.graphName);
      const deltas = floatOutput(outputs, level.deltas, rpn.graphName);
      const [, A, h, w] = objectness.dims;
      if (deltas.dims[1] !== 4 * A || deltas.dims[2] !== h || deltas.dims[3] !== w) {
        throw new ModelRunError(expectedMessage(`deltas of dims [1, ${4 * A}, ${h}, ${w}]`, `${rpn.graphName} output ${level.deltas}`, `[${deltas.dims.join(', ')}]`));
      }
      return { objectnessLogits: objectness.data, deltas: deltas.data, anchorsPerLocation: A, height: h, width: w };
    });
  }
}
