/**
 * Which files of a repository revision a pull fetches.
 *
 * - With include patterns: the files matching any of them, with Python's `fnmatch` rules as
 *   `huggingface_hub`'s `allow_patterns` uses them (`*` matches any text, `/` included; `?` one
 *   character; `[abc]` / `[!abc]` a class; a pattern ending in `/` means everything below it).
 * - Else, a transformers.js CLIP repository (onnx/text_model*.onnx, onnx/vision_model*.onnx): the
 *   config files, the tokenizer files and the two towers for one dtype, named by transformers.js'
 *   `DEFAULT_DTYPE_SUFFIX_MAPPING` (TJS `src/utils/dtypes.js`; real-weights.md §3) below.
 * - Else a regionclip model folder (manifest.json at the root): every file.
 */
import { InvalidInputError, expectedMessage } from '../errors.js';

/** transformers.js dtype → ONNX file suffix (`onnx/text_model{suffix}.onnx`). */
export const DTYPE_SUFFIXES = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;
export type Dtype = keyof typeof DTYPE_SUFFIXES;
export const DTYPES = Object.keys(DTYPE_SUFFIXES) as [Dtype, ...Dtype[]];
export const DEFAULT_DTYPE: Dtype = 'fp32';

/** The two towers of a transformers.js CLIP export (`modeling_clip.js` model_file_name). */
export const CLIP_TOWERS = ['text_model', 'vision_model'] as const;
/** Root files a CLIP folder needs besides the towers (those present in the repository are taken). */
export const CLIP_CONFIG_FILES = [
  'config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt',
] as const;

export type ClipTower = (typeof CLIP_TOWERS)[number];
export const towerFile = (tower: ClipTower, dtype: Dtype) => `onnx/${tower}${DTYPE_SUFFIXES[dtype]}.onnx`;

export interface Selection {
  /** fnmatch patterns; when given, they alone choose the files. */
  include?: readonly string[];
  /** The towers' dtype for a CLIP repository (default fp32). */
  dtype?: Dtype;
}

/** Python's fnmatch.translate, anchored: `*` → any text (slashes too), `?` → one character, `[..]` classes. */
export function fnmatchToRegExp(pattern: string): RegExp {
  const glob = pattern.endsWith('/') ? `${pattern}*` : pattern;
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    const close = c === '[' ? glob.indexOf(']', i + 2) : -1;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (close > 0) {
      const body = glob.slice(i + 1, close);
      out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

export const isClipRepo = (files: readonly string[]) => files.some((f) => /^onnx\/(text|vision)_model(_\w+)?\.onnx$/.test(f));

/** The files of `files` (a revision's listing) a pull takes; `what` names the revision in errors. */
export function selectFiles(files: readonly string[], selection: Selection, what: string): string[] {
  if (selection.include !== undefined && selection.include.length > 0) {
    const patterns = selection.include.map(fnmatchToRegExp);
    const chosen = files.filter((f) => patterns.some((p) => p.test(f)));
    if (chosen.length === 0) throw new InvalidInputError(expectedMessage(`files matching ${selection.include.join(', ')}`, what, `none among ${files.length} file(s)`));
    return chosen;
  }
  if (isClipRepo(files)) return clipFiles(files, selection.dtype ?? DEFAULT_DTYPE, what);
  if (files.includes('manifest.json')) return [...files];
  throw new InvalidInputError(expectedMessage('a transformers.js CLIP repository (onnx/text_model.onnx, onnx/vision_model.onnx) or a regionclip model (manifest.json); otherwise name the files with --include', what, `${files.length} file(s): ${files.slice(0, 8).join(', ')}${files.length > 8 ? ', …' : ''}`));
}

function clipFiles(files: readonly string[], dtype: Dtype, what: string): string[] {
  const towers = CLIP_TOWERS.map((tower) => towerFile(tower, dtype));
  const missing = towers.filter((f) => !files.includes(f));
  if (missing.length > 0) {
    const available = DTYPES.filter((d) => CLIP_TOWERS.every((tower) => files.includes(towerFile(tower, d))));
    throw new InvalidInputError(expectedMessage(`${missing.join(' and ')} (dtype ${dtype})`, what, `none; dtypes with both towers: ${available.join(', ') || 'none'}`));
  }
  return [...CLIP_CONFIG_FILES.filter((f) => files.includes(f)), ...towers];
}
