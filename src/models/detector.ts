/**
 * The detector's models behind one manifest (kind "detector"): the RPN graph, the region encoder
 * (RegionCLIP `features`: backbone → RoIAlign → head; or `crop`: RoIAlign pixel crops → CLIP image
 * tower) and the CLIP text tower. Each stage is a method; orchestration lives in pipelines/detect.ts.
 *
 * Glossary: H×W original image; h×w resized (detector) image; Hp×Wp padded; R regions; C feature
 * channels; D embedding size; S the image tower's input size.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ModelLoadError, ModelRunError, expectedMessage } from '../errors.js';
import { generateAnchors } from '../geometry/anchors.js';
import { roiAlign } from '../geometry/roi-align.js';
import type { Tensor } from '../geometry/tensor.js';
import type { DecodedImage } from '../image/read.js';
import { normalizeToChw, resizeForDetection, toDetectorTensor, toRgb, type ResizedForDetection } from '../image/preprocess.js';
import { filterProposals, type Proposals, type RpnLevelOutput } from '../proposals/filter.js';
import { CheckedSession, ort, type SessionOptions } from '../runtime/session.js';
import { l2NormalizeRows } from '../text/prompts.js';
import { ClipModel } from './clip.js';
import { openModel } from './loader.js';
import type { DetectorManifest, LoadedManifest } from './manifest.js';

export interface ProposalOverrides {
  preNmsTopK?: number;
  postNmsTopK?: number;
  nmsThreshold?: number;
  minSize?: number;
}

export interface DetectorLoadOptions extends SessionOptions {
  /** Regions per region-encoder run (default 64). */
  regionBatchSize?: number;
}

function tensorOf(outputs: Record<string, ort.Tensor>, name: string, graph: string): ort.Tensor & { data: Float32Array } {
  const t = outputs[name];
  if (t === undefined || !(t.data instanceof Float32Array)) {
    throw new ModelRunError(expectedMessage(`a float32 output "${name}"`, `graph ${graph}`, t === undefined ? `outputs [${Object.keys(outputs).join(', ')}]` : t.type));
  }
  return t as ort.Tensor & { data: Float32Array };
}

export class DetectorModel {
  private constructor(
    readonly loaded: LoadedManifest & { manifest: DetectorManifest },
    readonly clip: ClipModel,
    private readonly sessions: Record<string, CheckedSession>,
    readonly backgroundEmbed: Float32Array | undefined,
    private readonly options: DetectorLoadOptions,
  ) {}

  get manifest(): DetectorManifest {
    return this.loaded.manifest;
  }

  static async load(pathOrDir: string, options: DetectorLoadOptions = {}): Promise<DetectorModel> {
    const opened = await openModel(pathOrDir, options);
    const manifest = opened.loaded.manifest;
    if (manifest.kind !== 'detector') {
      await Promise.all(Object.values(opened.sessions).map((s) => s.release()));
      throw new ModelLoadError(expectedMessage('a detector model (manifest kind "detector")', opened.loaded.path, `kind "${manifest.kind}" (a CLIP model: use it with classify)`));
    }
    let background: Float32Array | undefined;
    if (manifest.scoring.backgroundEmbed !== undefined) {
      const bytes = readFileSync(resolve(opened.loaded.dir, manifest.scoring.backgroundEmbed));
      if (bytes.length !== 4 * manifest.embedDim) {
        throw new ModelLoadError(expectedMessage(`${manifest.embedDim} float32 values (${4 * manifest.embedDim} bytes)`, manifest.scoring.backgroundEmbed, `${bytes.length} bytes`));
      }
      background = new Float32Array(manifest.embedDim);
      for (let i = 0; i < manifest.embedDim; i++) background[i] = bytes.readFloatLE(4 * i);
    }
    return new DetectorModel(opened.loaded as LoadedManifest & { manifest: DetectorManifest }, ClipModel.fromOpened(opened), opened.sessions, background, options);
  }

  /** Stage 1: the detector's resize, the RPN graph and its post-processing. */
  async propose(image: DecodedImage, overrides: ProposalOverrides = {}): Promise<{ proposals: Proposals; resized: ResizedForDetection }> {
    const m = this.manifest;
    const resized = resizeForDetection(image, { shortEdge: m.image.shortEdge, maxSize: m.image.maxSize });
    const input = toDetectorTensor(resized.image, m.rpn.input, m.image.sizeDivisibility);
    const rpn = this.sessions.rpn;
    const outputs = await rpn.run({ [rpn.spec.inputs[0].name]: new ort.Tensor('float32', input.data, input.dims) });
    const levels: RpnLevelOutput[] = m.rpn.levels.map((level) => {
      const objectness = tensorOf(outputs, level.objectness, rpn.graphName);
      const deltas = tensorOf(outputs, level.deltas, rpn.graphName);
      const [, A, h, w] = objectness.dims as number[];
      if (deltas.dims[1] !== 4 * A || deltas.dims[2] !== h || deltas.dims[3] !== w) {
        throw new ModelRunError(expectedMessage(`deltas of dims [1, ${4 * A}, ${h}, ${w}]`, `${rpn.graphName} output ${level.deltas}`, `[${deltas.dims.join(', ')}]`));
      }
      return { objectnessLogits: objectness.data, deltas: deltas.data, anchorsPerLocation: A, height: h, width: w };
    });
    const { anchors } = generateAnchors({
      sizes: m.rpn.levels.map((l) => l.anchorSizes),
      aspectRatios: m.rpn.levels.map((l) => l.aspectRatios),
      imageSize: [input.dims[2], input.dims[3]],
      featureMapSizes: levels.map((l) => [l.height, l.width] as [number, number]),
    });
    const proposals = filterProposals(levels, {
      anchors,
      imageSize: [resized.image.height, resized.image.width],
      boxCoderWeights: m.rpn.boxCoderWeights,
      preNmsTopK: overrides.preNmsTopK ?? m.rpn.preNmsTopK,
      postNmsTopK: overrides.postNmsTopK ?? m.rpn.postNmsTopK,
      nmsThreshold: overrides.nmsThreshold ?? m.rpn.nmsThreshold,
      minSize: overrides.minSize ?? m.rpn.minSize,
      scoreThreshold: m.rpn.scoreThreshold,
    });
    return { proposals, resized };
  }

  /** Boxes in the detector's resized image → original-image pixels (divided by the resize factors). */
  static toOriginal(boxes: Float32Array, resized: Pick<ResizedForDetection, 'scaleX' | 'scaleY'>): Float32Array {
    const out = new Float32Array(boxes.length);
    for (let i = 0; i < boxes.length; i += 4) {
      out[i] = boxes[i] / resized.scaleX;
      out[i + 1] = boxes[i + 1] / resized.scaleY;
      out[i + 2] = boxes[i + 2] / resized.scaleX;
      out[i + 3] = boxes[i + 3] / resized.scaleY;
    }
    return out;
  }

  /**
   * Stage 2: R×D L2-normalized region embeddings. `boxes` are in original-image pixels; `resized`
   * (from `propose`, or computed here) maps them to the detector's image in features mode.
   */
  async embedRegions(image: DecodedImage, boxes: Float32Array, options: { resized?: ResizedForDetection; contextScale?: number } = {}): Promise<Float32Array> {
    const R = boxes.length / 4;
    const D = this.manifest.embedDim;
    if (R === 0) return new Float32Array(0);
    const batch = Math.max(1, this.options.regionBatchSize ?? 64);
    const encoder = this.manifest.regionEncoder;
    const out = new Float32Array(R * D);
    if (encoder.mode === 'features') {
      const m = this.manifest;
      const resized = options.resized ?? resizeForDetection(image, { shortEdge: m.image.shortEdge, maxSize: m.image.maxSize });
      const input = toDetectorTensor(resized.image, encoder.input, m.image.sizeDivisibility);
      const backbone = this.sessions.backbone;
      const features = tensorOf(await backbone.run({ [backbone.spec.inputs[0].name]: new ort.Tensor('float32', input.data, input.dims) }), encoder.featureOutput, backbone.graphName);
      const featureMap: Tensor = { data: features.data, dims: features.dims as number[] };
      const head = this.sessions.head;
      for (let start = 0; start < R; start += batch) {
        const count = Math.min(batch, R - start);
        const rois = new Float32Array(5 * count);
        for (let i = 0; i < count; i++) {
          const b = 4 * (start + i);
          rois.set([0, boxes[b] * resized.scaleX, boxes[b + 1] * resized.scaleY, boxes[b + 2] * resized.scaleX, boxes[b + 3] * resized.scaleY], 5 * i);
        }
        const pooled = roiAlign(featureMap, rois, { outputSize: encoder.outputSize, spatialScale: encoder.spatialScale, samplingRatio: encoder.samplingRatio, aligned: encoder.aligned });
        const result = tensorOf(await head.run({ [head.spec.inputs[0].name]: new ort.Tensor('float32', pooled.data, pooled.dims) }), head.spec.outputs[0].name, head.graphName);
        if (result.data.length !== count * D) throw new ModelRunError(expectedMessage(`${count}×${D} region embeddings`, head.graphName, `dims [${result.dims.join(', ')}]`));
        out.set(result.data, start * D);
      }
      return l2NormalizeRows(out, D);
    }
    // crop mode: RoIAlign crops of the original image (normalized like CLIP's input), S×S each.
    const { size, mean, std } = this.manifest.preprocess;
    const pixels = normalizeToChw(toRgb(image), { mean, std });
    const imageTensor: Tensor = { data: pixels.data, dims: [1, 3, image.height, image.width] };
    const context = options.contextScale ?? encoder.contextScale;
    for (let start = 0; start < R; start += batch) {
      const count = Math.min(batch, R - start);
      const rois = new Float32Array(5 * count);
      for (let i = 0; i < count; i++) {
        const b = 4 * (start + i);
        const cx = (boxes[b] + boxes[b + 2]) / 2, cy = (boxes[b + 1] + boxes[b + 3]) / 2;
        const hw = ((boxes[b + 2] - boxes[b]) * context) / 2, hh = ((boxes[b + 3] - boxes[b + 1]) * context) / 2;
        rois.set([0, cx - hw, cy - hh, cx + hw, cy + hh], 5 * i);
      }
      const crops = roiAlign(imageTensor, rois, { outputSize: [size, size], spatialScale: 1, samplingRatio: encoder.samplingRatio, aligned: true });
      const embeds = await this.clip.embedPixels({ data: crops.data, dims: [count, 3, size, size] });
      out.set(embeds, start * D);
    }
    return out;
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
