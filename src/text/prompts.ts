/**
 * Prompt templates and the two ways of turning per-template text embeddings into one class embedding.
 *
 * Glossary: P phrases, T templates, D embedding dim. `templateEmbeds` is a [T, D] row-major
 * Float32Array (one phrase, every template); `phraseEmbeds` is [P, D].
 */
import { invalidInput, describe as describeValue } from '../errors.js';
import { normalizeRows } from '../matching/scores.js';
import { hasOwnDeterminer, indefiniteArticle } from './articles.js';
export { ARTICLE_RULE_VERSION, hasOwnDeterminer, indefiniteArticle, type Article } from './articles.js';
// The template lists live in one JSON file that training/regionclip_train (the Python training code) reads too.
import templates from './prompt-templates.json' with { type: 'json' };

/** One template: "a photo of a {}." */
export const SINGLE_TEMPLATES: readonly string[] = Object.freeze([...templates.single]);

/**
 * OpenAI's 80 ImageNet prompt templates (CLIP repo, notebooks/Prompt_Engineering_for_ImageNet.ipynb)
 * followed by "{}.", the 81 that RegionCLIP's `get_lang_emb` uses.
 */
export const ENSEMBLE_TEMPLATES: readonly string[] = Object.freeze([...templates.ensemble]);

export const TEMPLATE_SETS = Object.freeze({ single: SINGLE_TEMPLATES, ensemble: ENSEMBLE_TEMPLATES });
export type TemplateSetName = keyof typeof TEMPLATE_SETS;
/** The template set used when none is named (classify, mine, and phrase embedding in the library). */
export const DEFAULT_TEMPLATE_SET: TemplateSetName = 'single';

export interface FillOptions {
  /**
   * Fix the article directly before `{}` to the phrase's sound (./articles.ts): "a {}" + "apple" →
   * "an apple", "a {}" + "SUV" → "an SUV", "a {}" + "university" stays "a university". Default true.
   * A phrase with its own determiner ("a man", "the dog", "two dogs") fills the template verbatim,
   * and so does an article followed by another word ("a photo of a large {}.": it agrees with that
   * word). `false` keeps every template verbatim, as RegionCLIP does ("a apple").
   */
  articles?: boolean;
}

/** One template filled with one phrase. Throws when the template has no `{}`. */
export function fillTemplate(template: string, phrase: string, options: FillOptions = {}): string {
  if (!template.includes('{}')) throw invalidInput('a template containing "{}"', 'a prompt template', describeValue(template));
  let filled = template;
  if ((options.articles ?? true) && !hasOwnDeterminer(phrase)) {
    const fixed = indefiniteArticle(phrase);
    filled = filled.replace(/\b([Aa]n?) \{\}/g, (_m, article: string) => `${article[0] === 'A' ? fixed[0].toUpperCase() + fixed.slice(1) : fixed} {}`);
  }
  return filled.split('{}').join(phrase);
}

/** A phrase in every template of a set (by name or as a list). */
export function buildPrompts(phrase: string, templates: TemplateSetName | readonly string[] = DEFAULT_TEMPLATE_SET, options: FillOptions = {}): string[] {
  const list = typeof templates === 'string' ? TEMPLATE_SETS[templates] : templates;
  if (list === undefined) throw invalidInput(`one of ${Object.keys(TEMPLATE_SETS).join(', ')}`, 'the template set', describeValue(templates));
  if (list.length === 0) throw invalidInput('at least one template', 'the template set', 'an empty list');
  return list.map((t) => fillTemplate(t, phrase, options));
}

/**
 * How T template embeddings [T, D] become one class embedding [D]:
 * - `normalize-average-normalize` (OpenAI's zero-shot notebook; default): L2-normalize each row,
 *   average, L2-normalize the mean;
 * - `average-normalize` (RegionCLIP's `get_lang_emb`): average the raw rows, then L2-normalize.
 */
export const ENSEMBLE_RULES = ['normalize-average-normalize', 'average-normalize'] as const;
export type EnsembleRule = (typeof ENSEMBLE_RULES)[number];
export const DEFAULT_ENSEMBLE_RULE: EnsembleRule = 'normalize-average-normalize';

function checkShape(templateEmbeds: Float32Array, dim: number): number {
  if (!(templateEmbeds instanceof Float32Array)) throw invalidInput('a Float32Array', 'the template embeddings', describeValue(templateEmbeds));
  if (!Number.isInteger(dim) || dim < 1) throw invalidInput('a positive integer', 'the embedding dim D', describeValue(dim));
  if (templateEmbeds.length === 0 || templateEmbeds.length % dim !== 0) {
    throw invalidInput(`a non-empty length divisible by D = ${dim}`, 'the template embeddings [T, D]', `length ${templateEmbeds.length}`);
  }
  return templateEmbeds.length / dim;
}

/** L2-normalize each row of a [N, D] array into a new array; an all-zero row stays zero. */
export function l2NormalizeRows(x: Float32Array, dim: number): Float32Array {
  checkShape(x, dim);
  return normalizeRows(x, dim);
}

/** One class embedding [D] from its T template embeddings [T, D] by the given rule. */
export function ensembleEmbeddings(templateEmbeds: Float32Array, dim: number, rule: EnsembleRule = DEFAULT_ENSEMBLE_RULE): Float32Array {
  const rows = checkShape(templateEmbeds, dim);
  if (!ENSEMBLE_RULES.includes(rule)) {
    throw invalidInput('"normalize-average-normalize" or "average-normalize"', 'the ensemble rule', describeValue(rule));
  }
  const source = rule === 'normalize-average-normalize' ? l2NormalizeRows(templateEmbeds, dim) : templateEmbeds;
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) mean[d] += source[r * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= rows;
  return l2NormalizeRows(Float32Array.from(mean), dim);
}

/** P class embeddings [P, D] from [P, T, D] template embeddings (T templates per phrase). */
export function ensembleBatch(embeds: Float32Array, numTemplates: number, dim: number, rule: EnsembleRule = DEFAULT_ENSEMBLE_RULE): Float32Array {
  if (!Number.isInteger(numTemplates) || numTemplates < 1) throw invalidInput('a positive integer', 'the template count T', describeValue(numTemplates));
  const rows = checkShape(embeds, dim);
  if (rows % numTemplates !== 0) throw invalidInput(`a row count divisible by T = ${numTemplates}`, 'the embeddings [P, T, D]', `${rows} rows`);
  const P = rows / numTemplates;
  const out = new Float32Array(P * dim);
  for (let p = 0; p < P; p++) {
    out.set(ensembleEmbeddings(embeds.subarray(p * numTemplates * dim, (p + 1) * numTemplates * dim), dim, rule), p * dim);
  }
  return out;
}
