/**
 * CLIP's byte-level BPE tokenizer, id-for-id with openai's `clip.tokenize` (ftfy applied).
 *
 * Glossary: B texts in a batch; L the context length (77 for CLIP); SOT / EOT the start and end
 * tokens (49406 / 49407 in CLIP's vocabulary, read from the vocabulary here).
 *
 * Pipeline (see `clean.ts` for the first step):
 *   1. clean: ftfy-style fixes, HTML unescape twice, whitespace collapsed, lowercase;
 *   2. split with CLIP's regex (special tokens, contractions, letter runs, single digits,
 *      punctuation runs);
 *   3. each piece's UTF-8 bytes mapped to printable symbols (`bytes_to_unicode`), the last symbol
 *      marked with `</w>`, then merged greedily by merge rank;
 *   4. `[SOT] + ids + [EOT]`; when that exceeds L, the first L−1 ids are kept and EOT appended
 *      (openai's `truncate=True`).
 *
 * `@huggingface/tokenizers` was evaluated and gives the golden ids on 312 of 324 cases: a
 * `tokenizer.json` has no ftfy step and no HTML unescaping, so entities, curly quotes, full-width
 * text, ligatures and mojibake come out differently. This module is small and exact instead.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { invalidInput, describe as describeValue, ModelLoadError, expectedMessage } from '../errors.js';
import { readJsonFile, readTextFile } from '../io/files.js';
import { clipClean } from './clean.js';

/** CLIP's context length: SOT, up to 75 BPE tokens, EOT. */
export const CLIP_CONTEXT_LENGTH = 77;
export const SOT_TOKEN = '<|startoftext|>';
export const EOT_TOKEN = '<|endoftext|>';
const END_OF_WORD = '</w>';

/**
 * CLIP's pre-tokenizer (IGNORECASE in the reference; the text is already lowercase). `\s` is
 * spelled out as Python `regex`'s whitespace set, which JS `\s` is not.
 */
const PRE_TOKENIZE = new RegExp(
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|" +
    '[^\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\p{L}\\p{N}]+',
  'giu',
);

/** GPT-2 / CLIP `bytes_to_unicode`: every byte to a printable character, printable ASCII and Latin-1 kept. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCodePoint(256 + n++);
  }
  return table;
}

/** How a text longer than the context is reported. */
export interface TruncationInfo {
  /** The text as given. */
  text: string;
  /** `SOT + BPE ids + EOT` before truncation. */
  nTokens: number;
  /** The context length it was cut to. */
  contextLength: number;
}

export interface ClipTokenizerOptions {
  /** Context length L (default 77). */
  contextLength?: number;
  /**
   * Called when a text is truncated. Default: `process.emitWarning` with code
   * `REGIONCLIP_TEXT_TRUNCATED` and a message naming the text. Pass `() => {}` to silence.
   */
  onTruncate?: (info: TruncationInfo) => void;
  /** Entries kept in the per-word BPE cache before it is cleared (default 100 000). */
  cacheSize?: number;
}

export interface EncodeBatchOptions {
  /** `int64` (default; a `BigInt64Array`, what CLIP ONNX text towers take) or `int32`. */
  dtype?: 'int64' | 'int32';
  /**
   * `context` (default): every row padded to the context length L; `longest`: to the batch's longest row
   * (SOT … its last EOT), for a text tower with a free sequence axis whose outputs ignore what follows EOT.
   */
  padding?: 'context' | 'longest';
}

/** A padded batch of token ids, row-major [B, L] (L: the context length, or the longest row), ready for an onnxruntime tensor. */
export interface TokenBatch<T extends BigInt64Array | Int32Array = BigInt64Array | Int32Array> {
  data: T;
  dims: [number, number];
  dtype: 'int64' | 'int32';
  /** Unpadded length of each row (SOT…EOT). Padding is 0, which is also a real id (`!`). */
  lengths: Int32Array;
  /** Index of each row's final EOT (= length − 1): the position CLIP pools its text features at. */
  eotIndices: Int32Array;
}

/**
 * The batch cut after its last EOT: [B, max(lengths)] (the batch itself when it is no wider). For text towers
 * with a free sequence axis whose outputs ignore what follows each row's EOT (EncodeBatchOptions.padding).
 */
export function cutAfterLastEot(tokens: Pick<TokenBatch, 'data' | 'dims' | 'dtype' | 'lengths'>): Pick<TokenBatch, 'data' | 'dims' | 'dtype' | 'lengths'> {
  const [B, L] = tokens.dims;
  const width = Math.min(L, tokens.lengths.reduce((m, n) => Math.max(m, n), 0));
  if (B === 0 || width === 0 || width === L) return tokens;
  const data = tokens.data instanceof BigInt64Array ? new BigInt64Array(B * width) : new Int32Array(B * width);
  for (let b = 0; b < B; b++) {
    const row = tokens.data.subarray(b * L, b * L + width);
    if (data instanceof BigInt64Array && row instanceof BigInt64Array) data.set(row, b * width);
    else if (data instanceof Int32Array && row instanceof Int32Array) data.set(row, b * width);
  }
  return { data, dims: [B, width], dtype: tokens.dtype, lengths: tokens.lengths };
}

export interface ClipTokenizerData {
  /** token → id, as in a Hugging Face `vocab.json`. */
  vocab: Record<string, number>;
  /** Merges in rank order, each `"a b"` or `["a", "b"]`. */
  merges: (string | [string, string])[];
}

function defaultOnTruncate(info: TruncationInfo): void {
  process.emitWarning(
    `Text ${describeValue(info.text)} has ${info.nTokens} tokens, more than the context length of ${info.contextLength}: ` +
      `kept the first ${info.contextLength - 1} ids and ended with EOT.`,
    { code: 'REGIONCLIP_TEXT_TRUNCATED' },
  );
}

export class ClipTokenizer {
  readonly contextLength: number;
  readonly sot: number;
  readonly eot: number;
  readonly vocabSize: number;
  private readonly encoder: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly byteSymbols: string[] = bytesToUnicode();
  private readonly cache = new Map<string, number[]>();
  private readonly cacheSize: number;
  private readonly onTruncate: (info: TruncationInfo) => void;
  private readonly utf8 = new TextEncoder();

  constructor(data: ClipTokenizerData, options: ClipTokenizerOptions = {}) {
    const contextLength = options.contextLength ?? CLIP_CONTEXT_LENGTH;
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw invalidInput('an integer ≥ 2', 'contextLength', describeValue(contextLength));
    }
    this.contextLength = contextLength;
    this.cacheSize = options.cacheSize ?? 100_000;
    this.onTruncate = options.onTruncate ?? defaultOnTruncate;
    if (data.vocab === null || typeof data.vocab !== 'object') {
      throw new ModelLoadError(expectedMessage('an object of token → id', 'the tokenizer vocabulary', describeValue(data.vocab)));
    }
    this.encoder = new Map(Object.entries(data.vocab));
    this.vocabSize = this.encoder.size;
    this.ranks = new Map();
    data.merges.forEach((merge, rank) => {
      const key = typeof merge === 'string' ? merge : `${merge[0]} ${merge[1]}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    const sot = this.encoder.get(SOT_TOKEN);
    const eot = this.encoder.get(EOT_TOKEN);
    if (sot === undefined || eot === undefined) {
      throw new ModelLoadError(
        expectedMessage(`${SOT_TOKEN} and ${EOT_TOKEN} in the vocabulary`, 'a CLIP tokenizer', `a vocabulary of ${this.vocabSize} tokens without them`),
      );
    }
    this.sot = sot;
    this.eot = eot;
  }

  /** Hugging Face layout: `vocab.json` (token → id) and `merges.txt` (`#version` line, then one merge a line). */
  static fromFiles(vocabJsonPath: string, mergesTxtPath: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    const vocab = readJsonFile(vocabJsonPath, 'tokenizer vocabulary (vocab.json)', 'model') as Record<string, number>;
    const merges = parseMerges(readTextFile(mergesTxtPath, 'tokenizer merges (merges.txt)'));
    return new ClipTokenizer({ vocab, merges }, options);
  }

  /** A Hugging Face `tokenizer.json` with a BPE model (`model.vocab`, `model.merges`). */
  static fromTokenizerJson(tokenizerJsonPath: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    const json = readJsonFile(tokenizerJsonPath, 'tokenizer (tokenizer.json)', 'model') as {
      model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
      added_tokens?: { id: number; content: string }[];
    };
    const model = json.model;
    if (!model || (model.type !== undefined && model.type !== 'BPE') || !model.vocab || !Array.isArray(model.merges)) {
      throw new ModelLoadError(
        expectedMessage('a BPE model with vocab and merges', tokenizerJsonPath, `model type ${describeValue(model?.type)}`),
      );
    }
    const vocab = { ...model.vocab };
    for (const added of json.added_tokens ?? []) vocab[added.content] = added.id;
    return new ClipTokenizer({ vocab, merges: model.merges }, options);
  }

  /** A model folder: `tokenizer.json` where present, else `vocab.json` + `merges.txt`. */
  static fromDirectory(dir: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    const tokenizerJson = join(dir, 'tokenizer.json');
    if (existsSync(tokenizerJson)) return ClipTokenizer.fromTokenizerJson(tokenizerJson, options);
    return ClipTokenizer.fromFiles(join(dir, 'vocab.json'), join(dir, 'merges.txt'), options);
  }

  /** The BPE ids of a text, without SOT/EOT and without truncation (openai's `SimpleTokenizer.encode`). */
  bpeIds(text: string): number[] {
    if (typeof text !== 'string') throw invalidInput('a string', 'the text to tokenize', describeValue(text));
    const ids: number[] = [];
    const cleaned = clipClean(text);
    for (const match of cleaned.matchAll(PRE_TOKENIZE)) {
      const piece = match[0];
      if (piece === SOT_TOKEN) ids.push(this.sot);
      else if (piece === EOT_TOKEN) ids.push(this.eot);
      else for (const id of this.wordIds(piece)) ids.push(id);
    }
    return ids;
  }

  /** `SOT … EOT`, unpadded; longer than the context → the first L−1 ids, then EOT (with a warning). */
  encode(text: string): number[] {
    const ids = [this.sot, ...this.bpeIds(text), this.eot];
    if (ids.length <= this.contextLength) return ids;
    this.onTruncate({ text, nTokens: ids.length, contextLength: this.contextLength });
    ids.length = this.contextLength;
    ids[this.contextLength - 1] = this.eot;
    return ids;
  }

  /** B texts → a zero-padded [B, L] id tensor (int64 by default; L the context length, or the longest row with `padding: 'longest'`). */
  encodeBatch(texts: readonly string[], options?: EncodeBatchOptions & { dtype?: 'int64' }): TokenBatch<BigInt64Array>;
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions & { dtype: 'int32' }): TokenBatch<Int32Array>;
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): TokenBatch {
    if (!Array.isArray(texts)) throw invalidInput('an array of strings', 'the texts to tokenize', describeValue(texts));
    return this.padBatch(texts.map((text) => this.encode(text)), options);
  }

  /** Rows of ids from `encode` (SOT … EOT, at most L each) → a zero-padded batch, as `encodeBatch` makes it. */
  padBatch(rows: readonly (readonly number[])[], options?: EncodeBatchOptions & { dtype?: 'int64' }): TokenBatch<BigInt64Array>;
  padBatch(rows: readonly (readonly number[])[], options: EncodeBatchOptions & { dtype: 'int32' }): TokenBatch<Int32Array>;
  padBatch(rows: readonly (readonly number[])[], options?: EncodeBatchOptions): TokenBatch;
  padBatch(rows: readonly (readonly number[])[], options: EncodeBatchOptions = {}): TokenBatch {
    const dtype = options.dtype ?? 'int64';
    if (dtype !== 'int64' && dtype !== 'int32') throw invalidInput('"int64" or "int32"', 'dtype', describeValue(dtype));
    const padding = options.padding ?? 'context';
    if (padding !== 'context' && padding !== 'longest') throw invalidInput('"context" or "longest"', 'padding', describeValue(padding));
    const B = rows.length;
    const longest = rows.reduce((m, ids) => Math.max(m, ids.length), 0);
    if (longest > this.contextLength) throw invalidInput(`rows of at most ${this.contextLength} ids`, 'padBatch', `a row of ${longest}`);
    const L = padding === 'longest' ? longest : this.contextLength;
    const lengths = new Int32Array(B);
    const eotIndices = new Int32Array(B);
    const data = dtype === 'int64' ? new BigInt64Array(B * L) : new Int32Array(B * L);
    rows.forEach((ids, b) => {
      lengths[b] = ids.length;
      eotIndices[b] = ids.length - 1;
      if (data instanceof BigInt64Array) for (let t = 0; t < ids.length; t++) data[b * L + t] = BigInt(ids[t]);
      else data.set(ids, b * L);
    });
    return { data, dims: [B, L], dtype, lengths, eotIndices };
  }

  /** BPE of one regex piece, through the per-word cache. */
  private wordIds(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    const bytes = this.utf8.encode(piece);
    const symbols = new Array<string>(bytes.length);
    for (let i = 0; i < bytes.length; i++) symbols[i] = this.byteSymbols[bytes[i]];
    const ids = this.bpe(symbols).map((token) => {
      const id = this.encoder.get(token);
      if (id === undefined) {
        throw new ModelLoadError(expectedMessage(`token ${describeValue(token)} in the vocabulary`, `the text piece ${describeValue(piece)}`, 'a vocabulary without it'));
      }
      return id;
    });
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  /** openai's `bpe`: merge the lowest-rank adjacent pair, all its occurrences left to right, until none applies. */
  private bpe(symbols: string[]): string[] {
    let word = symbols.slice();
    word[word.length - 1] += END_OF_WORD;
    if (word.length === 1) return word;
    for (;;) {
      let bestRank = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          first = word[i];
          second = word[i + 1];
        }
      }
      if (bestRank === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
      if (word.length === 1) break;
    }
    return word;
  }
}

/** `merges.txt`: an optional `#version` line, then `a b` per line; blank lines ignored. */
export function parseMerges(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const merges: string[] = [];
  lines.forEach((line, i) => {
    if (line.length === 0 || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2) {
      throw new ModelLoadError(expectedMessage('two space-separated symbols', `merges.txt line ${i + 1}`, describeValue(line)));
    }
    merges.push(line);
  });
  return merges;
}

