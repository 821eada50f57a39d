/**
 * Hugging Face CLIP ONNX folders, as published for transformers.js:
 *
 *   config.json               projection_dim, vision_config.image_size
 *   preprocessor_config.json  size / crop_size, image_mean, image_std, resample
 *   tokenizer.json and/or vocab.json + merges.txt
 *   onnx/text_model.onnx      input_ids [B, L] (int64) → text_embeds [B, D]
 *   onnx/vision_model.onnx    pixel_values [B, 3, S, S] → image_embeds [B, D]
 *
 * Each tower may come in one of transformers.js' dtype variants instead (`onnx/text_model_fp16.onnx`,
 * `_quantized`, … — `hub/select.ts` DTYPE_SUFFIXES), as `regionclip pull --dtype` fetches them: the
 * first present in the order fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4 is used (so a folder
 * holding one variant uses it, and fp32 wins when several are there).
 *
 * The text tower is fed each batch cut after its last EOT when config.json's model_type is "clip" and the
 * graph's sequence axis is free (`tokenizer.padding` "longest"), else 77 positions per row.
 *
 * The manifest is derived from those files. They carry no recorded hashes, so the files are
 * checked for presence and graph signatures, not for integrity; the cache key uses the folder path.
 * The logit scale is not in config.json (it only records the initial value), so OpenAI's trained
 * value, 100, is used.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, expectedMessage } from '../errors.js';
import { DTYPES, towerFile, type ClipTower } from '../hub/select.js';
import { readJsonFile } from '../io/files.js';
import { derivedManifest, type LoadedManifest, type Manifest } from './manifest.js';

/** A JSON object file of the folder; a file that is not a JSON object is a configuration error. */
function readJsonObject(path: string, what: string): Record<string, any> {
  const value = readJsonFile(path, what, 'config');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(expectedMessage('a JSON object', path, Array.isArray(value) ? 'an array' : typeof value));
  return value;
}

function sizeOf(value: unknown, key: string, path: string): number {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, number>;
    const n = v.shortest_edge ?? v.height ?? v.width;
    if (typeof n === 'number') return n;
  }
  throw new ConfigError(expectedMessage('a size (a number, or {shortest_edge} / {height, width})', `${path}: ${key}`, JSON.stringify(value)));
}

/** The tower's file in `dir`: the first dtype variant present (fp32 first); fp32's name when none is, so the loader reports it missing. */
export function towerFileIn(dir: string, tower: ClipTower): string {
  return DTYPES.map((dtype) => towerFile(tower, dtype)).find((file) => existsSync(join(dir, file))) ?? towerFile(tower, 'fp32');
}

/** The tower's fp16 and int8 files present in `dir`, as a manifest's `variants` (what `--dtype fp16|int8` runs). */
function towerVariantsIn(dir: string, tower: ClipTower): { fp16?: string; int8?: string } | undefined {
  const variants = Object.fromEntries((['fp16', 'int8'] as const).map((d) => [d, towerFile(tower, d)]).filter(([, file]) => existsSync(join(dir, file))));
  return Object.keys(variants).length > 0 ? variants : undefined;
}

/**
 * The towers of a derived Hugging Face manifest that do not run their fp32 file (onnx/<tower>.onnx is absent, so
 * `file` is the first variant present): `--dtype fp32` names them instead of running them.
 */
export function nonFp32Towers(loaded: LoadedManifest, uses?: readonly string[]): string[] {
  if (!loaded.derived) return [];
  return (['text_model', 'vision_model'] as const)
    .filter((tower) => uses === undefined || uses.includes(tower === 'text_model' ? 'text' : 'vision'))
    .map((tower) => loaded.manifest.graphs[tower === 'text_model' ? 'text' : 'vision']?.file)
    .filter((file): file is string => file !== undefined && !(['text_model', 'vision_model'] as const).some((t) => file === towerFile(t, 'fp32')));
}

/**
 * A Hugging Face CLIP text tower (model_type "clip": CLIPTextTransformer) is causal and pools at the EOT
 * token, so its embeddings do not depend on positions after a row's EOT: batches may be cut after their
 * last EOT (where the graph's sequence axis is free, as transformers.js exports have it). For any other
 * model_type that is not known, so rows keep contextLength positions.
 */
function textPadding(config: Record<string, any>): 'longest' | 'context' {
  return config.model_type === 'clip' ? 'longest' : 'context';
}

/** OpenAI CLIP's trained logit scale (exp of the learned log-scale, clamped at 100 in training). */
export const OPENAI_LOGIT_SCALE = 100;

export async function readHuggingFaceClip(dir: string): Promise<LoadedManifest> {
  const config = readJsonObject(join(dir, 'config.json'), 'config.json');
  const preprocessorPath = join(dir, 'preprocessor_config.json');
  const pre = readJsonObject(preprocessorPath, 'preprocessor_config.json');
  const embedDim = config.projection_dim ?? config.text_config?.projection_dim;
  if (typeof embedDim !== 'number') throw new ConfigError(expectedMessage('projection_dim', join(dir, 'config.json'), 'none'));
  const size = pre.crop_size !== undefined ? sizeOf(pre.crop_size, 'crop_size', preprocessorPath) : sizeOf(pre.size, 'size', preprocessorPath);
  const resample = pre.resample ?? 3;
  const hasVocab = existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'));
  const manifest: Manifest = {
    name: config._name_or_path ?? dir.split(/[\\/]/).filter(Boolean).pop() ?? 'clip',
    kind: 'clip',
    description: `Derived from the Hugging Face CLIP folder ${dir}`,
    license: 'see the model card',
    source: dir,
    embedDim,
    logitScale: OPENAI_LOGIT_SCALE,
    tokenizer: { ...(hasVocab ? { vocab: 'vocab.json', merges: 'merges.txt' } : { tokenizerJson: 'tokenizer.json' }), contextLength: 77, padding: textPadding(config) },
    preprocess: {
      size,
      mean: pre.image_mean ?? [0.48145466, 0.4578275, 0.40821073],
      std: pre.image_std ?? [0.26862954, 0.26130258, 0.27577711],
      channelOrder: 'RGB',
      interpolation: resample === 2 ? 'bilinear' : 'bicubic',
      crop: pre.do_center_crop === false ? 'none' : 'center',
    },
    graphs: {
      text: { file: towerFileIn(dir, 'text_model'), variants: towerVariantsIn(dir, 'text_model'), inputs: [{ name: 'input_ids', dtype: 'int64' }, { name: 'attention_mask', dtype: 'int64', optional: true }], outputs: [{ name: 'text_embeds', dtype: 'float32', dims: ['batch', embedDim] }] },
      vision: { file: towerFileIn(dir, 'vision_model'), variants: towerVariantsIn(dir, 'vision_model'), inputs: [{ name: 'pixel_values', dtype: 'float32' }], outputs: [{ name: 'image_embeds', dtype: 'float32', dims: ['batch', embedDim] }] },
    },
    files: {},
  };
  return derivedManifest(manifest, dir);
}
