/**
 * Phrase embeddings: each phrase in every template of a set, through the CLIP text tower, ensembled
 * into one L2-normalized embedding per phrase, cached on disk (embedding-cache.ts). The disk cache
 * is optional: when it cannot be written, the encoder warns once (`onWarning`, code
 * `REGIONCLIP_CACHE_UNWRITABLE`) and goes on without it.
 *
 * Glossary: P phrases, T templates, D embedding size; the result is P×D row-major.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError, IoError, expectedMessage } from '../errors.js';
import { processWarning, type WarningHandler } from '../util/warnings.js';
import { ARTICLE_RULE_VERSION, buildPrompts, DEFAULT_ENSEMBLE_RULE, DEFAULT_TEMPLATE_SET, ensembleEmbeddings, TEMPLATE_SETS, type EnsembleRule, type FillOptions, type TemplateSetName } from '../text/prompts.js';
import type { ClipModel } from './clip.js';
import { defaultCacheDir, TextEmbeddingCache } from './embedding-cache.js';

export interface PhraseEmbeddingOptions {
  /** A named template set or a list of templates with `{}` (default "single"). */
  templates?: TemplateSetName | readonly string[];
  /** How per-template embeddings become one (default: normalize, average, renormalize). */
  ensemble?: EnsembleRule;
  /** Article handling when filling templates. */
  fill?: FillOptions;
  /** Called as phrases are embedded (done, total), for progress bars. */
  onProgress?: (done: number, total: number) => void;
}

export interface TextEncoderOptions {
  /** Cache folder; `false` disables the cache. Default: $XDG_CACHE_HOME/regionclip. */
  cacheDir?: string | false;
  /** Phrases whose prompts go through the tower together (default 32). */
  phraseBatchSize?: number;
  /** Embeddings kept in memory across calls (default 50,000; cleared when full — the disk cache keeps them). */
  memoryEntries?: number;
  /**
   * Called with a warning the run carries on after (an unwritable cache folder: once, then the disk
   * cache is off for this encoder). Default: `process.emitWarning` with the code.
   */
  onWarning?: WarningHandler;
}

/** The article setting as part of a cache key: the fix-up's rule version when on (its prompts change with it), false when verbatim. */
const articlesKey = (fill: FillOptions): string | false => ((fill.articles ?? true) ? `articles-v${ARTICLE_RULE_VERSION}` : false);

export class ClipTextEncoder {
  /** In-memory layer in front of the disk cache, keyed by template set, rule and phrase. */
  private readonly memory = new Map<string, Float32Array>();
  /** Set when the disk cache could not be written: it is not used again (and the warning is not repeated). */
  private diskCacheOff = false;

  constructor(readonly model: ClipModel, private readonly options: TextEncoderOptions = {}) {}

  private cacheFor(templates: readonly string[], templateName: string, rule: EnsembleRule, fill: FillOptions): TextEmbeddingCache | undefined {
    const dir = this.options.cacheDir ?? defaultCacheDir();
    if (dir === false || this.diskCacheOff) return undefined;
    const templateId = `${templateName}:${createHash('sha256').update(JSON.stringify([templates, articlesKey(fill)])).digest('hex').slice(0, 16)}`;
    return new TextEmbeddingCache(dir, { modelHash: this.model.loaded.textHash, templates: templateId, ensemble: rule, dim: this.model.embedDim });
  }

  /**
   * The phrases' P×D and the distractors' Q×D embeddings (undefined when Q = 0), through one
   * `embedPhrases` call, so `onProgress` counts P + Q once (open-set scoring: matching/scores).
   */
  async embedWithDistractors(phrases: readonly string[], distractors: readonly string[], options: PhraseEmbeddingOptions = {}): Promise<{ phraseEmbeds: Float32Array; distractorEmbeds?: Float32Array }> {
    const all = await this.embedPhrases([...phrases, ...distractors], options);
    const split = phrases.length * this.model.embedDim;
    return { phraseEmbeds: all.subarray(0, split), distractorEmbeds: distractors.length === 0 ? undefined : all.subarray(split) };
  }

  /** P×D L2-normalized phrase embeddings, in the order given. */
  async embedPhrases(phrases: readonly string[], options: PhraseEmbeddingOptions = {}): Promise<Float32Array> {
    const templateOption = options.templates ?? DEFAULT_TEMPLATE_SET;
    const templates = typeof templateOption === 'string' ? TEMPLATE_SETS[templateOption] : templateOption;
    if (templates === undefined) {
      throw new InvalidInputError(expectedMessage(`one of ${Object.keys(TEMPLATE_SETS).join(', ')}`, 'templates', JSON.stringify(templateOption)));
    }
    const rule = options.ensemble ?? DEFAULT_ENSEMBLE_RULE;
    const fill = options.fill ?? {};
    const D = this.model.embedDim;
    const T = templates.length;
    const cache = this.cacheFor(templates, typeof templateOption === 'string' ? templateOption : 'custom', rule, fill);
    const namespace = `${JSON.stringify([templates, rule, articlesKey(fill)])}\n`;
    const limit = this.options.memoryEntries ?? 50_000;
    const out = new Float32Array(phrases.length * D);
    // Each distinct phrase is looked up (memory, then disk) or embedded once, however often it repeats.
    const positions = new Map<string, number[]>();
    phrases.forEach((phrase, i) => positions.set(phrase, [...(positions.get(phrase) ?? []), i]));
    const place = (phrase: string, embedding: Float32Array) => {
      for (const i of positions.get(phrase)!) out.set(embedding, i * D);
    };
    const missing: string[] = [];
    for (const phrase of positions.keys()) {
      const hit = this.memory.get(namespace + phrase) ?? cache?.get(phrase);
      if (hit) {
        place(phrase, hit);
        this.remember(namespace + phrase, hit, limit);
      } else {
        missing.push(phrase);
      }
    }
    let done = positions.size - missing.length;
    options.onProgress?.(done, positions.size);
    const batch = Math.max(1, this.options.phraseBatchSize ?? 32);
    for (let start = 0; start < missing.length; start += batch) {
      const chunk = missing.slice(start, start + batch);
      const prompts = chunk.flatMap((phrase) => buildPrompts(phrase, templates, fill));
      // Raw embeddings: the ensembling rule decides where normalization happens.
      const raw = await this.model.embedTexts(prompts, { normalize: false });
      chunk.forEach((phrase, k) => {
        const embedding = ensembleEmbeddings(raw.subarray(k * T * D, (k + 1) * T * D), D, rule);
        place(phrase, embedding);
        if (cache !== undefined && !this.diskCacheOff) this.store(cache, phrase, embedding);
        this.remember(namespace + phrase, embedding, limit);
      });
      done += chunk.length;
      options.onProgress?.(done, positions.size);
    }
    return out;
  }

  /** Writes to the disk cache; a folder that cannot be written turns the cache off with one warning. */
  private store(cache: TextEmbeddingCache, phrase: string, embedding: Float32Array): void {
    try {
      cache.set(phrase, embedding);
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      this.diskCacheOff = true;
      (this.options.onWarning ?? processWarning)(`${error.message.replace(/\.$/, '')}; text embeddings are not cached on disk in this run.`, 'REGIONCLIP_CACHE_UNWRITABLE');
    }
  }

  private remember(key: string, embedding: Float32Array, limit: number): void {
    if (this.memory.size >= limit) this.memory.clear(); // bounded memory; the disk cache keeps them
    this.memory.set(key, embedding);
  }
}
