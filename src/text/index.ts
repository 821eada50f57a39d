/** Text side: CLIP tokenizer, noun phrases, prompt templates and ensembling. */
export {
  ClipTokenizer,
  CLIP_CONTEXT_LENGTH,
  SOT_TOKEN,
  EOT_TOKEN,
  bytesToUnicode,
  parseMerges,
  type ClipTokenizerOptions,
  type ClipTokenizerData,
  type EncodeBatchOptions,
  type TokenBatch,
  type TruncationInfo,
} from './tokenizer.js';
export { clipClean, fixText, htmlUnescape } from './clean.js';
export { extractPhrases, parseVocab, singularize, COMPOUND_CONCEPTS, type ExtractedPhrase } from './phrases.js';
export { BUILTIN_DISTRACTORS, distractorsFor } from './distractors.js';
export { captionPhrases, ConceptIndex } from './caption-concepts.js';
export {
  SINGLE_TEMPLATES,
  ENSEMBLE_TEMPLATES,
  TEMPLATE_SETS,
  DEFAULT_ENSEMBLE_RULE,
  buildPrompts,
  fillTemplate,
  indefiniteArticle,
  hasOwnDeterminer,
  ARTICLE_RULE_VERSION,
  ensembleEmbeddings,
  ensembleBatch,
  l2NormalizeRows,
  type TemplateSetName,
  type EnsembleRule,
  type FillOptions,
} from './prompts.js';
