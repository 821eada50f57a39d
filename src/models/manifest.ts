/**
 * Model manifests: `models/<name>/manifest.json` describes a model's files (with sha256), each ONNX
 * graph's inputs and outputs (names, dtypes, dims), the image preprocessing, the embedding size, the
 * logit scale and the tokenizer. A manifest is validated when it is read (unknown keys are errors
 * with a suggestion), its files are checked against their hashes when the model loads, and every
 * ONNX session is compared with its graph entry (runtime/session.ts).
 *
 * A Hugging Face CLIP ONNX folder as published for transformers.js (onnx/text_model.onnx,
 * onnx/vision_model.onnx, tokenizer files, preprocessor_config.json, config.json) is read too: its
 * manifest is derived from those config files (hf-layout.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, expectedMessage } from '../errors.js';
import { graphSpecSchema as graphSpec, MODEL_DTYPES, type GraphSpec, type ModelDtype, type TensorSpec } from '../runtime/session.js';
import { REGIONCLIP_TEMPERATURE } from '../matching/scores.js';
import { knownKeysAt } from '../util/schema-keys.js';
import { closestMatch } from '../util/suggest.js';
import { hashFile, readJsonFile } from '../io/files.js';

export type { GraphSpec, TensorSpec };

const triple = z.tuple([z.number(), z.number(), z.number()]);
const preprocessSpec = z.strictObject({
  size: z.number().int().positive(),
  mean: triple,
  std: triple.refine((s) => s.every((v) => v > 0), 'std must be > 0'),
  channelOrder: z.enum(['RGB', 'BGR']).default('RGB'),
  interpolation: z.enum(['bicubic', 'bilinear']).default('bicubic'),
  crop: z.enum(['center', 'none']).default('center'),
});
export type PreprocessSpec = z.infer<typeof preprocessSpec>;

const tokenizerSpec = z.strictObject({
  vocab: z.string().min(1).optional(),
  merges: z.string().min(1).optional(),
  tokenizerJson: z.string().min(1).optional(),
  contextLength: z.number().int().positive().default(77),
  /**
   * How a batch of token rows is padded for the text tower: "context" pads every row to contextLength;
   * "longest" pads to the batch's longest row, i.e. feeds the batch cut after its last EOT. "longest" is only
   * for towers whose outputs depend on nothing after each row's EOT (causal attention, pooled at EOT or
   * mean-pooled up to it: CLIP's text transformer, the built-in model's) and takes effect only when the
   * graph's sequence axis is free (a graph with a fixed axis is fed contextLength positions).
   */
  padding: z.enum(['context', 'longest']).default('context'),
}).refine((t) => (t.vocab !== undefined && t.merges !== undefined) || t.tokenizerJson !== undefined, 'needs vocab + merges, or tokenizerJson');

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');

const commonFields = {
  name: z.string().min(1),
  description: z.string().optional(),
  license: z.string().min(1),
  source: z.string().min(1),
  embedDim: z.number().int().positive(),
  /** CLIP's learned logit scale (exp of the log-scale parameter; 100 for OpenAI's models). */
  logitScale: z.number().positive(),
  tokenizer: tokenizerSpec,
  /** The CLIP image tower's preprocessing (also used for `crop`-mode region crops). */
  preprocess: preprocessSpec,
  files: z.record(z.string(), z.strictObject({
    sha256: sha256Hex,
    /** A file made from another of the folder's files (an int8 variant from its fp32 graph): that file and its sha256 then. */
    derivedFrom: z.strictObject({ file: z.string().min(1), sha256: sha256Hex }).optional(),
  })),
};

/** Normalization of a detector input in pixel units (0–255), detectron2 style: (pixel - mean) / std. */
const pixelNormSpec = z.strictObject({
  channelOrder: z.enum(['RGB', 'BGR']),
  pixelMean: triple,
  pixelStd: triple.refine((s) => s.every((v) => v > 0), 'pixelStd must be > 0'),
});
export type PixelNormSpec = z.infer<typeof pixelNormSpec>;

const fraction = z.number().min(0).max(1);
/** Input padding to a multiple of this (detectron2 `size_divisibility`; 1 = none). */
const sizeDivisibility = z.number().int().positive();
const rpnSpec = z.strictObject({
  input: pixelNormSpec,
  /** Padding of the RPN input (default `image.sizeDivisibility`): detectron2 FPN 32, C4 1 (none). */
  sizeDivisibility: sizeDivisibility.optional(),
  /**
   * Anchor bookkeeping and post-processing (geometry/anchors.ts, proposals/filter.ts): `torchvision`
   * (integer cell anchors, ratio-major; NMS by sigmoid score, `scoreThreshold`) or `detectron2` (float
   * cell anchors, size-major; NMS by logit, no score threshold), as RegionCLIP's offline RPNs.
   */
  anchorStyle: z.enum(['torchvision', 'detectron2']).default('torchvision'),
  /** Per feature level, in order: output names, anchors (sizes × aspect ratios) and, optionally, the
   * level's stride (detectron2: FPN 4, 8, 16, 32, 64; C4 16); default `padded H // h`, `W // w`. */
  levels: z.array(z.strictObject({
    objectness: z.string().min(1),
    deltas: z.string().min(1),
    anchorSizes: z.array(z.number().positive()).min(1),
    aspectRatios: z.array(z.number().positive()).min(1),
    stride: z.number().int().positive().optional(),
  })).min(1),
  boxCoderWeights: z.tuple([z.number().positive(), z.number().positive(), z.number().positive(), z.number().positive()]).default([1, 1, 1, 1]),
  preNmsTopK: z.number().int().positive().default(1000),
  postNmsTopK: z.number().int().positive().default(1000),
  nmsThreshold: fraction.default(0.7),
  minSize: z.number().nonnegative().default(1e-3),
  /** `gte`: width and height `>= minSize` (torchvision); `gt`: `> minSize` (detectron2 `nonempty`, with minSize 0). */
  minSizeRule: z.enum(['gte', 'gt']).default('gte'),
  /** torchvision style only: proposals with sigmoid(objectness) below this are dropped. */
  scoreThreshold: fraction.default(0),
}).refine((r) => r.anchorStyle !== 'detectron2' || r.scoreThreshold === 0, { path: ['scoreThreshold'], message: 'must be 0 with anchorStyle "detectron2" (it has no score threshold)' })
  // detectron2 strides are fixed per level (P6: 64); inferring them from the map size is torchvision's rule (61 on 800×1216).
  .refine((r) => r.anchorStyle !== 'detectron2' || r.levels.every((l) => l.stride !== undefined), { path: ['levels'], message: 'every level needs a "stride" with anchorStyle "detectron2"' });
export type RpnSpec = z.infer<typeof rpnSpec>;

const regionEncoderSpec = z.discriminatedUnion('mode', [
  z.strictObject({
    /** RegionCLIP: backbone → feature map → RoIAlign → head (e.g. res5 + attention pool). */
    mode: z.literal('features'),
    input: pixelNormSpec,
    /** The backbone output RoIAlign pools from. */
    featureOutput: z.string().min(1),
    spatialScale: z.number().positive(),
    outputSize: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([14, 14]),
    samplingRatio: z.number().int().default(0),
    aligned: z.boolean().default(true),
    /** Padding of the backbone input (default `image.sizeDivisibility`); RegionCLIP's CLIP ResNet: 1 (none). */
    sizeDivisibility: sizeDivisibility.optional(),
    /**
     * A finetuned RegionCLIP head's class-agnostic box regression: the head graph's output `output`
     * ([R, 4] deltas), decoded against each proposal with `weights` (RegionCLIP: 10, 10, 5, 5) and
     * clipped to the image after scoring. Not applied to given boxes (`--boxes`).
     */
    boxDeltas: z.strictObject({
      output: z.string().min(1),
      weights: z.tuple([z.number().positive(), z.number().positive(), z.number().positive(), z.number().positive()]),
    }).optional(),
  }),
  z.strictObject({
    /** Any whole-image CLIP tower: RoIAlign pixel crops of each box at the tower's input size. */
    mode: z.literal('crop'),
    /** Boxes are enlarged around their centre by this factor before cropping. */
    contextScale: z.number().positive().default(1),
    samplingRatio: z.number().int().default(0),
  }),
]);
export type RegionEncoderSpec = z.infer<typeof regionEncoderSpec>;

/** The text graph's token-id input: "input_ids", else its first input. */
export function idsInputOf(text: GraphSpec): TensorSpec {
  return text.inputs.find((t) => t.name === 'input_ids') ?? text.inputs[0];
}

/** tokenizer.padding "longest" with a fixed sequence size declared for the ids: the manifest contradicts itself. */
function checkTextPadding(m: { tokenizer: { padding: string }; graphs: { text: GraphSpec } }, ctx: z.RefinementCtx): void {
  const ids = idsInputOf(m.graphs.text);
  if (m.tokenizer.padding === 'longest' && typeof ids.dims?.[1] === 'number') {
    const dims = `[${ids.dims.map((d) => (typeof d === 'string' ? `"${d}"` : d)).join(', ')}]`;
    ctx.addIssue({ code: 'custom', path: ['tokenizer', 'padding'], message: `"longest" needs a free sequence axis, but graphs.text input "${ids.name}" declares dims ${dims} (name the axis, e.g. ["batch", "sequence"])` });
  }
}

const clipManifestSchema = z.strictObject({
  kind: z.literal('clip'),
  ...commonFields,
  graphs: z.strictObject({ text: graphSpec, vision: graphSpec }),
}).superRefine(checkTextPadding);

const detectorManifestSchema = z.strictObject({
  kind: z.literal('detector'),
  ...commonFields,
  /** The detector's resize (detectron2 ResizeShortestEdge, PIL bilinear) and batch padding. */
  image: z.strictObject({
    shortEdge: z.number().int().positive().default(800),
    maxSize: z.number().int().positive().default(1333),
    /** Padding of the detector inputs, unless `rpn.sizeDivisibility` / `regionEncoder.sizeDivisibility` say otherwise. */
    sizeDivisibility: sizeDivisibility.default(32),
  }),
  rpn: rpnSpec,
  regionEncoder: regionEncoderSpec,
  scoring: z.strictObject({
    /** logits = cosine / temperature (RegionCLIP: 0.01). */
    temperature: z.number().positive().default(REGIONCLIP_TEMPERATURE),
    /** Optional background embedding: a file of D little-endian float32. */
    backgroundEmbed: z.string().min(1).optional(),
    /** Optional concept pool the model knows (one name a line): `regionclip mine`'s default pool. */
    conceptPool: z.string().min(1).optional(),
  }).default({ temperature: REGIONCLIP_TEMPERATURE }),
  /**
   * ViLD's ensemble (Gu et al. 2022, "ViLD-ensemble"): a second features-mode region encoder (graphs
   * `ensembleBackbone` → RoIAlign with `regionEncoder`'s settings → `ensembleHead`, e.g. RegionCLIP's pretrained
   * (B) beside its transfer (C)) scores each detection's box against the same phrase embeddings, and the two
   * label probabilities are combined by a weighted geometric mean, p^(1−λ) · q^λ, λ = `weights.base` for the
   * labels `baseClasses` names (the classes the detector was box-trained on) and `weights.novel` for every other.
   */
  regionEnsemble: z.strictObject({
    /** The ensemble backbone output RoIAlign pools from. */
    featureOutput: z.string().min(1),
    /** The second encoder's logits = cosine / temperature (its own training's). */
    temperature: z.number().positive(),
    /** λ, the second encoder's weight in the geometric mean (ViLD: 1/3 base, 2/3 novel). */
    weights: z.strictObject({ base: fraction, novel: fraction }),
    /** The detector's base classes, one name a line (labels matched by the COCO category-name rule). */
    baseClasses: z.string().min(1),
  }).optional(),
  graphs: z.strictObject({
    text: graphSpec,
    vision: graphSpec.optional(),
    rpn: graphSpec,
    backbone: graphSpec.optional(),
    head: graphSpec.optional(),
    ensembleBackbone: graphSpec.optional(),
    ensembleHead: graphSpec.optional(),
  }),
}).superRefine((m, ctx) => {
  checkTextPadding(m, ctx);
  const ensembleGraphs = (['ensembleBackbone', 'ensembleHead'] as const).filter((g) => m.graphs[g] !== undefined);
  if (m.regionEnsemble !== undefined) {
    if (m.regionEncoder.mode !== 'features') ctx.addIssue({ code: 'custom', path: ['regionEnsemble'], message: 'needs regionEncoder.mode "features" (its RoIAlign settings pool the ensemble\'s regions)' });
    for (const g of ['ensembleBackbone', 'ensembleHead'] as const) {
      if (m.graphs[g] === undefined) ctx.addIssue({ code: 'custom', path: ['graphs', g], message: 'required with regionEnsemble' });
    }
  } else if (ensembleGraphs.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['regionEnsemble'], message: `required with graphs.${ensembleGraphs.join(' and graphs.')} (its temperature, weights and base classes)` });
  }
  if (m.regionEncoder.mode === 'features') {
    for (const g of ['backbone', 'head'] as const) {
      if (m.graphs[g] === undefined) ctx.addIssue({ code: 'custom', path: ['graphs', g], message: `required when regionEncoder.mode is "features"` });
    }
    const deltas = m.regionEncoder.boxDeltas?.output;
    const headOutputs = m.graphs.head?.outputs.map((t) => t.name) ?? [];
    if (deltas !== undefined && m.graphs.head !== undefined && (!headOutputs.includes(deltas) || headOutputs[0] === deltas)) {
      ctx.addIssue({ code: 'custom', path: ['regionEncoder', 'boxDeltas', 'output'], message: `"${deltas}" must be one of graphs.head's outputs after the first (the embeddings); it has [${headOutputs.join(', ')}]` });
    }
  } else if (m.graphs.vision === undefined) {
    ctx.addIssue({ code: 'custom', path: ['graphs', 'vision'], message: 'required when regionEncoder.mode is "crop"' });
  }
});

/** Padding of the RPN input: `rpn.sizeDivisibility`, else `image.sizeDivisibility`. */
export function rpnSizeDivisibility(manifest: DetectorManifest): number {
  return manifest.rpn.sizeDivisibility ?? manifest.image.sizeDivisibility;
}

/** Padding of the features-mode backbone input: `regionEncoder.sizeDivisibility`, else `image.sizeDivisibility`. */
export function encoderSizeDivisibility(manifest: DetectorManifest): number {
  const encoder = manifest.regionEncoder;
  return (encoder.mode === 'features' ? encoder.sizeDivisibility : undefined) ?? manifest.image.sizeDivisibility;
}

export const manifestSchema = z.discriminatedUnion('kind', [clipManifestSchema, detectorManifestSchema]);
export type ClipManifest = z.infer<typeof clipManifestSchema>;
export type DetectorManifest = z.infer<typeof detectorManifestSchema>;
export type Manifest = ClipManifest | DetectorManifest;

/** The model a result came from, as detect and classify results name it. */
export interface ModelInfo {
  /** The manifest's `name`. */
  name: string;
  /**
   * `LoadedManifest.modelHash`: sha256 over the sha256s the manifest records for the model's files (the precision
   * variants not run left out), so it changes with the weights and the precision; a Hugging Face folder records
   * none, and its digest names the folder's path and the towers chosen instead.
   */
  hash: string;
  /**
   * The precision of the graph files that ran: fp32, fp16 or int8 (a graph without that variant runs fp32, e.g. a
   * detector's text tower under int8); two joined with "+" when a Hugging Face folder's towers were fetched in two.
   */
  dtype: string;
}

/** `{ name, hash, dtype }` of a loaded model; `dtype` from the files chosen, not only the precision asked. */
export function modelInfo(loaded: Pick<LoadedManifest, 'manifest' | 'modelHash' | 'graphFiles'>): ModelInfo {
  const ran = new Set<string>();
  for (const [role, spec] of graphsOf(loaded.manifest)) {
    const file = loaded.graphFiles[role] ?? spec.file;
    const variant = Object.entries(spec.variants ?? {}).find(([, f]) => f === file);
    if (variant !== undefined) ran.add(variant[0]);
  }
  return { name: loaded.manifest.name, hash: loaded.modelHash, dtype: ran.size === 0 ? 'fp32' : [...ran].sort().join('+') };
}

export interface LoadedManifest {
  manifest: Manifest;
  /** Folder the manifest's paths are relative to. */
  dir: string;
  /** Path of the manifest file (or of the folder, for a derived manifest). */
  path: string;
  /**
   * A digest identifying the model's weights as they run (sha256 over the file hashes, and the precision
   * and files chosen when not fp32), for checkpoints and cache keys.
   */
  modelHash: string;
  /** The digest text-embedding caches are keyed by: `modelHash` of the fp32 files unless the text graph itself runs a variant. */
  textHash: string;
  /** The weight precision chosen (`selectPrecision`; fp32 unless asked). */
  dtype: ModelDtype;
  /** The file each graph runs from: `graphs.<role>.file`, or its `variants.<dtype>` when one was chosen. */
  graphFiles: Record<string, string>;
  /** Derived from a Hugging Face folder: files carry no recorded hashes. */
  derived: boolean;
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/** Validates a parsed manifest object; one ConfigError lists every problem. */
export function parseManifest(value: unknown, source: string): Manifest {
  const kind = (value as { kind?: unknown } | null)?.kind;
  const root = kind === 'detector' ? detectorManifestSchema : clipManifestSchema;
  const result = manifestSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = formatPath(issue.path) || '(root)';
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(root, issue.path);
      return issue.keys.map((key) => {
        const suggestion = closestMatch(key, known);
        return `${where === '(root)' ? '' : `${where}.`}${key}: unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
      }).join('; ');
    }
    return `${where}: ${issue.message}`;
  });
  throw new ConfigError(expectedMessage('a valid model manifest', source, `${problems.length} problem(s): ${problems.join('; ')}`));
}

/** The graphs a manifest names, by role (text, vision, rpn, backbone, head). */
export function graphsOf(manifest: Manifest): [string, GraphSpec][] {
  return Object.entries(manifest.graphs as Record<string, GraphSpec | undefined>).filter((e): e is [string, GraphSpec] => e[1] !== undefined);
}

/**
 * Every file the manifest names that a run with these graph files reads (the graphs, tokenizer, background,
 * concept pool and the ensemble's base classes), relative to its folder. Variants not chosen are not read, so not checked.
 */
export function referencedFiles(manifest: Manifest, graphFiles: Record<string, string> = fp32Files(manifest)): string[] {
  const graphs = Object.values(graphFiles);
  const extra = manifest.kind === 'detector' ? [manifest.scoring.backgroundEmbed, manifest.scoring.conceptPool, manifest.regionEnsemble?.baseClasses] : [];
  const files = [...graphs, manifest.tokenizer.vocab, manifest.tokenizer.merges, manifest.tokenizer.tokenizerJson, ...extra];
  return [...new Set(files.filter((f): f is string => f !== undefined))];
}

/**
 * Checks that every referenced file exists inside the model folder and matches its recorded sha256.
 * Returns the problems (empty when all is well); the caller reports them together.
 */
export async function checkFiles(loaded: Pick<LoadedManifest, 'manifest' | 'dir' | 'derived' | 'graphFiles'>): Promise<string[]> {
  const problems: string[] = [];
  const { manifest, dir } = loaded;
  for (const file of referencedFiles(manifest, loaded.graphFiles)) {
    const path = resolve(dir, file);
    if (isAbsolute(file) || relative(dir, path).startsWith('..')) {
      problems.push(`${file}: path leaves the model folder`);
      continue;
    }
    if (!existsSync(path)) {
      problems.push(`${file}: file is missing`);
      continue;
    }
    if (loaded.derived) continue;
    const recorded = manifest.files[file]?.sha256;
    if (recorded === undefined) {
      problems.push(`${file}: no sha256 recorded in "files"`);
      continue;
    }
    const actual = await hashFile(path, 'sha256');
    if (actual !== recorded) problems.push(`${file}: sha256 is ${actual}, manifest records ${recorded}`);
    // A variant made from an fp32 graph that has since changed runs the old weights: stale, whatever its own hash.
    const source = manifest.files[file]?.derivedFrom;
    const now = source === undefined ? undefined : manifest.files[source.file]?.sha256;
    if (source !== undefined && now !== source.sha256) {
      problems.push(`${file}: made from ${source.file} with sha256 ${source.sha256}, but the manifest records ${now === undefined ? `no ${source.file}` : `${source.file} as ${now}`} (an int8 file is made again from the graph now recorded: probe, calibrate, apply, docs/models.md "int8")`);
    }
  }
  return problems;
}

/** sha256 over the recorded hashes of the files a run reads: every file but the precision variants not chosen. */
function modelHashOf(manifest: Manifest, fallback: string, graphFiles: Record<string, string> = fp32Files(manifest)): string {
  const chosen = new Set(Object.values(graphFiles));
  const unused = new Set(graphsOf(manifest).flatMap(([, spec]) => Object.values(spec.variants ?? {})).filter((f) => !chosen.has(f)));
  const entries = Object.entries(manifest.files).filter(([file]) => !unused.has(file)).sort(([a], [b]) => a.localeCompare(b));
  const hash = createHash('sha256');
  if (entries.length === 0) {
    // No recorded hashes (a Hugging Face folder): the folder, and the files chosen when they are not the default ones.
    hash.update(`unverified:${fallback}`);
    const defaults = fp32Files(manifest);
    if (Object.entries(graphFiles).some(([role, file]) => defaults[role] !== file)) hash.update(`\n${JSON.stringify(graphFiles)}`);
  }
  for (const [file, { sha256 }] of entries) hash.update(`${file}:${sha256}\n`);
  return hash.digest('hex');
}

function fp32Files(manifest: Manifest): Record<string, string> {
  return Object.fromEntries(graphsOf(manifest).map(([role, spec]) => [role, spec.file]));
}

function loadedAs(manifest: Manifest, dir: string, path: string, hashFallback: string, derived: boolean): LoadedManifest {
  const modelHash = modelHashOf(manifest, hashFallback);
  return { manifest, dir, path, modelHash, textHash: modelHash, dtype: 'fp32', graphFiles: fp32Files(manifest), derived };
}

/** Reads and validates `manifest.json` (a path to the file or its folder). Files are not hashed here. */
export async function readManifest(pathOrDir: string): Promise<LoadedManifest> {
  const path = pathOrDir.endsWith('.json') ? pathOrDir : join(pathOrDir, 'manifest.json');
  const manifest = parseManifest(readJsonFile(path, 'manifest', 'config'), path);
  return loadedAs(manifest, dirname(path), path, path, false);
}

/** A manifest built in code (e.g. derived from a Hugging Face folder). */
export function derivedManifest(manifest: Manifest, dir: string): LoadedManifest {
  return loadedAs(parseManifest(manifest, dir), dir, dir, resolve(dir), true);
}

/**
 * The model run in weight precision `dtype`: every graph with a `variants.<dtype>` file runs that file, the
 * others their fp32 `file` (int8 variants cover the region graphs; the text tower usually stays fp32). The
 * hashes change with the files chosen, so checkpoints and caches never mix precisions; the text cache is
 * shared with fp32 while the text graph is the same file. `uses`: the roles the caller runs (default all); at
 * least one of them must have the variant, so a CLIP-only run of a detector with int8 region graphs is refused.
 * @throws ConfigError when `dtype` is not fp32 and no graph used has that variant (the message says how to make one).
 */
export function selectPrecision(loaded: LoadedManifest, dtype: ModelDtype = 'fp32', uses?: readonly string[]): LoadedManifest {
  if (!(MODEL_DTYPES as readonly string[]).includes(dtype)) {
    throw new ConfigError(expectedMessage(`one of ${MODEL_DTYPES.join(', ')}`, 'dtype (--dtype)', JSON.stringify(dtype)));
  }
  if (dtype === loaded.dtype) return loaded;
  const base = readManifestHashes(loaded);
  if (dtype === 'fp32') return { ...loaded, ...base, dtype, graphFiles: fp32Files(loaded.manifest) };
  const graphs = graphsOf(loaded.manifest);
  const variantOf = (spec: GraphSpec, d: Exclude<ModelDtype, 'fp32'>) => (spec.variants !== undefined && Object.hasOwn(spec.variants, d) ? spec.variants[d] : undefined);
  const chosen = graphs.filter(([, spec]) => variantOf(spec, dtype) !== undefined).map(([role]) => role);
  const used = uses === undefined ? graphs : graphs.filter(([role]) => uses.includes(role));
  if (!used.some(([role]) => chosen.includes(role))) {
    const has = (['fp16', 'int8'] as const).map((d) => [d, graphs.filter(([, spec]) => variantOf(spec, d) !== undefined).map(([role]) => role)] as const)
      .filter(([, roles]) => roles.length > 0).map(([d, roles]) => `${d} files for ${roles.join(', ')}`);
    const scope = uses === undefined ? 'its graphs' : `the graphs this command runs (${used.map(([role]) => role).join(', ')})`;
    const how = loaded.derived
      ? 'a Hugging Face folder\'s towers come in the precisions fetched: regionclip pull --dtype'
      : dtype === 'int8' && loaded.manifest.kind === 'detector' && loaded.manifest.regionEncoder.mode === 'features' && !used.some(([role]) => role === 'text' || role === 'vision')
        ? 'training/convert/quantize.py makes int8 region graphs (docs/models.md "int8")'
        : dtype === 'int8'
          ? 'training/convert/quantize.py makes int8 files for the region graphs of features-mode detectors only (docs/models.md "int8")'
          : 'no tool here writes fp16 variants; the converters write whole fp16 models with --dtype fp16';
    throw new ConfigError(expectedMessage(`a model with ${dtype} graphs (graphs.<role>.variants.${dtype} in its manifest)`,
      `--dtype ${dtype} (${loaded.path})`, `no ${dtype} file for ${scope}${has.length > 0 ? `; it has ${has.join('; ')}` : '; it has fp32 files only'}; ${how}`));
  }
  const graphFiles = Object.fromEntries(graphs.map(([role, spec]) => [role, variantOf(spec, dtype) ?? spec.file]));
  const modelHash = modelHashOf(loaded.manifest, hashFallback(loaded), graphFiles);
  const textHash = chosen.includes('text') ? modelHash : base.modelHash;
  return { ...loaded, dtype, graphFiles, modelHash, textHash };
}

function hashFallback(loaded: LoadedManifest): string {
  return loaded.derived ? resolve(loaded.dir) : loaded.path;
}

function readManifestHashes(loaded: LoadedManifest): { modelHash: string; textHash: string } {
  const modelHash = modelHashOf(loaded.manifest, hashFallback(loaded));
  return { modelHash, textHash: modelHash };
}
