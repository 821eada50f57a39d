/**
 * CLIP towers behind a manifest: the image tower (pixels → L2-normalized image embeddings) and the
 * text tower (token ids → L2-normalized text embeddings), loaded and checked together.
 *
 * The text tower is fed 77 positions per row (the context length), or, when the manifest says
 * `tokenizer.padding: "longest"` and the graph's sequence axis is free, each batch cut after its last EOT:
 * prompts are then sorted by token count so that short ones share batches (results stay in input order).
 * A causal tower pooled at EOT, or mean-pooled up to it, gives the same embeddings either way; prompts
 * average about 10 tokens, so the cut does a fraction of the work.
 *
 * Glossary: B batch; S image size; L positions per token row (the context length, 77, or a batch's
 * longest row); D embedding size.
 */
import type { Tensor } from '../geometry/tensor.js';
import { InvalidInputError, ModelLoadError, ModelRunError, describe as describeValue, expectedMessage, invalidInput } from '../errors.js';
import { decodeImage, type DecodedImage, type DecodeOptions, type ImageInput } from '../image/read.js';
import type { PixelImage } from '../image/resample.js';
import { clipPreprocessPixels } from '../image/preprocess.js';
import { normalizeRows } from '../matching/scores.js';
import { CheckedSession, ort } from '../runtime/session.js';
import { openModel, type LoadOptions, type OpenedModel } from './loader.js';
import { resolveModel, type ModelSourceOptions } from './model-source.js';
import { ClipTokenizer, cutAfterLastEot, type TokenBatch } from '../text/tokenizer.js';
import { idsInputOf, type LoadedManifest } from './manifest.js';

function outputOf(outputs: Record<string, ort.Tensor>, name: string, rows: number, dim: number, graph: string): Float32Array {
  const tensor = outputs[name];
  if (tensor === undefined || !(tensor.data instanceof Float32Array) || tensor.data.length !== rows * dim) {
    throw new ModelRunError(expectedMessage(`output "${name}" of ${rows}×${dim} float32`, `graph ${graph}`, tensor === undefined ? 'no such output' : `dims [${tensor.dims.join(', ')}] of ${tensor.type}`));
  }
  return tensor.data;
}

export interface ClipLoadOptions extends LoadOptions, ModelSourceOptions {
  /** Images per image-tower run (default 16). */
  imageBatchSize?: number;
  /** Prompts per text-tower run (default 64). */
  textBatchSize?: number;
}

export class ClipModel {
  /**
   * How token rows are padded for the text tower: "longest" (each batch cut after its last EOT) when the
   * manifest permits it (`tokenizer.padding`) and the graph's sequence axis is free; else "context" (77).
   */
  readonly textPadding: 'context' | 'longest';

  private constructor(
    readonly loaded: LoadedManifest,
    readonly tokenizer: ClipTokenizer,
    private readonly textSession: CheckedSession,
    private readonly visionSession: CheckedSession | undefined,
    private readonly options: ClipLoadOptions,
  ) {
    const sequence = textSession.inputDims(idsInputOf(textSession.spec).name)?.[1];
    this.textPadding = loaded.manifest.tokenizer.padding === 'longest' && typeof sequence === 'string' ? 'longest' : 'context';
  }

  get manifest() {
    return this.loaded.manifest;
  }

  get embedDim(): number {
    return this.loaded.manifest.embedDim;
  }

  get logitScale(): number {
    return this.loaded.manifest.logitScale;
  }

  /**
   * Loads a model: a folder (our `manifest.json` layout — a CLIP model, or a detector's towers — or
   * a Hugging Face CLIP ONNX folder), a name under models/, a preset naming one, `hf:org/name`, or
   * nothing: the built-in model (the default preset's). Resolved as Detector.load resolves it
   * (models/model-source.ts). Files, hashes, graph inputs/outputs and dtypes are all checked;
   * one ModelLoadError lists every problem.
   * @throws ConfigError for a name that is no preset or model (with a did-you-mean), or a reference that is not a string.
   */
  static async load(model?: string, options: ClipLoadOptions = {}): Promise<ClipModel> {
    return ClipModel.fromOpened(await openModel(await resolveModel(model, options.hub), options, ['text', 'vision']), options);
  }

  /** A CLIP model over sessions that are already open (a detector shares its towers). */
  static fromOpened(opened: OpenedModel, options: ClipLoadOptions = {}): ClipModel {
    return new ClipModel(opened.loaded, opened.tokenizer, opened.sessions.text, opened.sessions.vision, options);
  }

  private vision(): CheckedSession {
    if (this.visionSession === undefined) {
      throw new ModelLoadError(expectedMessage('an image tower (graphs.vision)', this.loaded.path, 'a model without one'));
    }
    return this.visionSession;
  }

  /** Image tower on a preprocessed NCHW (or one CHW) batch → B×D L2-normalized embeddings. */
  async embedPixels(pixels: Tensor): Promise<Float32Array> {
    const { size } = this.manifest.preprocess;
    const dims = pixels.dims.length === 3 ? [1, ...pixels.dims] : pixels.dims;
    if (dims.length !== 4 || dims[1] !== 3 || dims[2] !== size || dims[3] !== size || pixels.data.length !== dims[0] * 3 * size * size) {
      throw new InvalidInputError(expectedMessage(`pixels of dims [B, 3, ${size}, ${size}]`, 'embedPixels', `dims [${pixels.dims.join(', ')}] with ${pixels.data.length} values`));
    }
    const vision = this.vision();
    const spec = vision.spec;
    const batchSize = this.options.imageBatchSize ?? 16;
    const per = 3 * size * size;
    const D = this.embedDim;
    const out = new Float32Array(dims[0] * D);
    for (let start = 0; start < dims[0]; start += batchSize) {
      const count = Math.min(batchSize, dims[0] - start);
      const feeds = { [spec.inputs[0].name]: new ort.Tensor('float32', pixels.data.subarray(start * per, (start + count) * per), [count, 3, size, size]) };
      const outputs = await vision.run(feeds);
      out.set(outputOf(outputs, spec.outputs[0].name, count, D, vision.graphName), start * D);
    }
    return normalizeRows(out, D);
  }

  /** CLIP preprocessing of a decoded image with the manifest's settings → CHW in the tower's channel order. */
  preprocess(image: DecodedImage | PixelImage): Tensor {
    const { size, mean, std, channelOrder, interpolation, crop } = this.manifest.preprocess;
    const tensor = clipPreprocessPixels(image, { size, mean, std, interpolation, crop });
    if (channelOrder === 'RGB') return tensor;
    const plane = size * size;
    const bgr = new Float32Array(3 * plane);
    bgr.set(tensor.data.subarray(2 * plane, 3 * plane), 0);
    bgr.set(tensor.data.subarray(plane, 2 * plane), plane);
    bgr.set(tensor.data.subarray(0, plane), 2 * plane);
    return { data: bgr, dims: tensor.dims };
  }

  /** Decodes and preprocesses images with the manifest's settings, then embeds them → B×D. */
  async embedImages(images: readonly ImageInput[], decode: DecodeOptions = {}): Promise<Float32Array> {
    const { size } = this.manifest.preprocess;
    const per = 3 * size * size;
    const batch = new Float32Array(images.length * per);
    for (let i = 0; i < images.length; i++) batch.set(this.preprocess(await decodeImage(images[i], decode)).data, i * per);
    return this.embedPixels({ data: batch, dims: [images.length, 3, size, size] });
  }

  /**
   * Text tower on raw texts (no templates) → T×D embeddings, in batches; L2-normalized unless
   * `normalize: false` (RegionCLIP's ensembling averages raw embeddings).
   */
  async embedTexts(texts: readonly string[], { normalize = true }: { normalize?: boolean } = {}): Promise<Float32Array> {
    if (!Array.isArray(texts)) throw invalidInput('an array of strings', 'the texts to tokenize', describeValue(texts));
    const D = this.embedDim;
    const batchSize = this.options.textBatchSize ?? 64;
    const dtype = idsInputOf(this.textSession.spec).dtype === 'int32' ? 'int32' : 'int64';
    const rows = texts.map((text) => this.tokenizer.encode(text));
    // Cut batches: rows in order of length (a stable sort), so prompts of like length share a batch.
    const order = rows.map((_, i) => i);
    if (this.textPadding === 'longest') order.sort((a, b) => rows[a].length - rows[b].length);
    const out = new Float32Array(texts.length * D);
    for (let start = 0; start < order.length; start += batchSize) {
      const picked = order.slice(start, start + batchSize);
      const embeds = await this.embedTokens(this.tokenizer.padBatch(picked.map((i) => rows[i]), { dtype, padding: this.textPadding }), { normalize });
      picked.forEach((i, k) => out.set(embeds.subarray(k * D, (k + 1) * D), i * D));
    }
    return out;
  }

  /**
   * Text tower on one padded batch of token ids → B×D embeddings (L2-normalized unless `normalize: false`).
   * With `textPadding` "longest", a wider batch is cut after its last EOT first.
   */
  async embedTokens(batch: Pick<TokenBatch, 'data' | 'dims' | 'dtype' | 'lengths'>, { normalize = true }: { normalize?: boolean } = {}): Promise<Float32Array> {
    const spec = this.textSession.spec;
    const idsInput = idsInputOf(spec);
    const tokens = this.textPadding === 'longest' ? cutAfterLastEot(batch) : batch;
    // An optional attention_mask (Hugging Face exports) is fed only to graphs that take it.
    const maskInput = spec.inputs.find((t) => t.name === 'attention_mask' && this.textSession.hasInput(t.name));
    const [rows, length] = tokens.dims;
    const feeds: Record<string, ort.Tensor> = { [idsInput.name]: new ort.Tensor(tokens.dtype, tokens.data, tokens.dims) };
    if (maskInput !== undefined) {
      // 1 over SOT…EOT, 0 over the padding.
      const ones = new Int32Array(rows * length);
      for (let r = 0; r < rows; r++) ones.fill(1, r * length, r * length + tokens.lengths[r]);
      feeds[maskInput.name] = maskInput.dtype === 'int32'
        ? new ort.Tensor('int32', ones, tokens.dims)
        : new ort.Tensor('int64', BigInt64Array.from(ones, (v) => BigInt(v)), tokens.dims);
    }
    const outputs = await this.textSession.run(feeds);
    const raw = new Float32Array(outputOf(outputs, spec.outputs[0].name, rows, this.embedDim, this.textSession.graphName));
    return normalize ? normalizeRows(raw, this.embedDim) : raw;
  }

  async release(): Promise<void> {
    await Promise.all([this.textSession.release(), this.visionSession?.release()]);
  }
}
