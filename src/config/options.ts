/**
 * Options of the three pipelines (detect, classify, mine), resolved in one place from a preset
 * (+ `extends`), command-line flags and library options, with every default written once, in the
 * schemas below (detect's come from the presets and `settingsSchema`). The CLI maps its flags onto
 * the library's option names and the pipelines validate; so a bad value gives the same ConfigError
 * and message from both (`validate.ts`), e.g.
 * "Expected a positive integer for classify.topK (--top-k) but received 0."
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, describe, expectedMessage } from '../errors.js';
import type { HubSettings } from '../hub/env.js';
import { DEFAULT_REVISION, isHubModel } from '../hub/repo.js';
import { DTYPES } from '../hub/select.js';
import { MODEL_DTYPES } from '../runtime/dtypes.js';

export { MODEL_DTYPES };
import {
  applyOverrides, checkModelOrPresetName, DETECT_FLAGS, ENSEMBLE_RULES, mergeSettings, MODELS_DIR, parseSettings, PIPELINES_DIR, readPreset, resolveModelPath,
  TEMPLATE_SET_NAMES, type DetectSettings,
} from './preset.js';
import { distractorsOption, FlagText, fraction, oneOf, parseOptions, positiveInteger, positiveNumber, type OptionNames } from './validate.js';
import { REGIONCLIP_TEMPERATURE } from '../matching/scores.js';
import { DEFAULT_MAX_PIXELS } from '../image/read.js';
import { readConcepts } from '../io/mined.js';
import { BUILTIN_DISTRACTORS } from '../text/distractors.js';
import { DEFAULT_ENSEMBLE_RULE, DEFAULT_TEMPLATE_SET } from '../text/prompts.js';
import { closestMatch } from '../util/suggest.js';

export { closestMatch, DEFAULT_MAX_PIXELS, DTYPES, ENSEMBLE_RULES, FlagText, TEMPLATE_SET_NAMES };

/** The preset used when none is named. */
export const DEFAULT_PRESET = 'default';

/** A distractors setting (detect.distractors, classify's and mine's `distractors`), validated. */
export type DistractorsSetting = string | readonly string[];

/**
 * The concepts of a distractors setting: the built-in pool ("builtin"), none ("none"), a file's
 * lines (one concept per line, as mine's --concepts), or the list given. Not yet filtered against
 * the labels (text/distractors' `distractorsFor` does that per query).
 * @throws IoError for a file that cannot be read; InvalidInputError for an empty one.
 */
export function distractorPool(setting: DistractorsSetting): readonly string[] {
  if (typeof setting !== 'string') return setting;
  const name = setting.trim();
  if (name === 'builtin') return BUILTIN_DISTRACTORS;
  if (name === 'none') return [];
  return readConcepts(setting, 'distractors (--distractors)');
}

type Json = Record<string, unknown>;

/**
 * Validates the keys `schema` knows; every other key of `options` must be one of `others` (paths,
 * callbacks and the like, which the pipeline checks itself): an unknown key is a ConfigError with
 * a did-you-mean, as an unknown flag is on the command line.
 */
function parseKnown<S extends z.ZodObject>(schema: S, options: object, what: string, names: OptionNames, others: readonly string[]): z.output<S> {
  const keys = Object.keys(schema.shape);
  const known = [...keys, ...others];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const problems = unknown.map((key) => {
      const suggestion = closestMatch(key, known);
      return `${names.prefix}${key}: unknown option${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
    });
    throw new ConfigError(expectedMessage(`known ${what}`, 'the given options', problems.join('; ')));
  }
  const given = Object.fromEntries(Object.entries(options).filter(([k, v]) => keys.includes(k) && v !== undefined));
  return parseOptions(schema, given, what, 'the given options', names);
}

// ── Run-time options shared by every pipeline ───────────────────────────────────────────────────

const runtimeShape = {
  /** onnxruntime intra-op threads. */
  intraOpThreads: positiveInteger().optional(),
  /** Refuse images with more pixels (false: no limit). */
  maxPixels: z.union([positiveInteger(), z.literal(false)], { error: 'a positive integer' }).optional(),
  /** Regions per region-encoder run, images per image-tower run, prompts per text-tower run, phrases per text batch. */
  regionBatchSize: positiveInteger().optional(),
  imageBatchSize: positiveInteger().optional(),
  textBatchSize: positiveInteger().optional(),
  phraseBatchSize: positiveInteger().optional(),
  /** Phrase embeddings kept in memory. */
  memoryEntries: positiveInteger().optional(),
  /** Weight precision of the graphs (default fp32): each graph's `variants.<dtype>` file where the manifest has one. */
  dtype: oneOf(MODEL_DTYPES).optional(),
};
const RUNTIME_FLAGS = { intraOpThreads: 'threads', maxPixels: 'max-pixels', dtype: 'dtype' } as const;
const runtimeSchema = z.object(runtimeShape);
export type RuntimeOptions = z.output<typeof runtimeSchema>;

/**
 * Checks the run-time options (threads, pixel limit, batch sizes) where a library call or a flag
 * gave them; `others` are the caller's other option names.
 */
export function parseRuntimeOptions(options: object, others: readonly string[] = []): RuntimeOptions {
  return parseKnown(runtimeSchema, options, 'options', { prefix: '', flags: RUNTIME_FLAGS }, others);
}

// ── detect ──────────────────────────────────────────────────────────────────────────────────────

/** `regionclip detect`'s setting flags by their library names (see DETECT_FLAGS); a number flag that did not parse is its text. */
export interface DetectFlags {
  model?: string;
  conf?: number | FlagText;
  iou?: number | FlagText;
  maxDet?: number | FlagText;
  proposals?: number | FlagText;
  templates?: string;
  distractors?: string;
  agnosticNms?: boolean;
  regionEnsemble?: boolean;
}

const camel = (flag: string) => flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** Flags → a partial settings object (`--conf 0.5` → `{ detect: { scoreThreshold: 0.5 } }`); validated with the rest. */
export function settingsFromFlags(flags: DetectFlags): Json {
  let settings: Json = {};
  for (const [path, flag] of Object.entries(DETECT_FLAGS)) {
    let value = (flags as Record<string, unknown>)[camel(flag)];
    if (value === undefined) continue;
    if (path === 'model' && !isHubModel(String(value))) value = resolve(String(value));
    settings = mergeSettings(settings, path.split('.').reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Json);
  }
  return settings;
}

/** Whether a name is a preset (a .json other than a manifest, or a name under pipelines/) rather than a model. */
export function isPreset(modelOrPreset: string): boolean {
  return modelOrPreset.endsWith('.json')
    ? basename(modelOrPreset) !== 'manifest.json'
    : !existsSync(modelOrPreset) && existsSync(join(PIPELINES_DIR, `${modelOrPreset}.json`));
}

export interface DetectSettingsSources {
  /** Settings over the preset's (e.g. `{ detect: { scoreThreshold: 0.5 } }`, or `settingsFromFlags(argv)`). */
  settings?: Json;
  /** `--set key=value` style overrides, applied last. */
  set?: readonly string[];
}

/**
 * Detection settings from a preset (or a model folder, with the default preset's settings, or
 * settings already resolved), then `settings`, then `set`; validated, with a model named.
 */
export function resolveDetectSettings(modelOrPreset: string | DetectSettings = DEFAULT_PRESET, sources: DetectSettingsSources = {}): DetectSettings {
  if (typeof modelOrPreset !== 'string' && (modelOrPreset === null || typeof modelOrPreset !== 'object' || Array.isArray(modelOrPreset))) {
    throw new ConfigError(expectedMessage('a model folder, a model or preset name, hf:org/name or resolved settings', 'Detector.load', describe(modelOrPreset)));
  }
  const named = typeof modelOrPreset === 'string';
  if (named) checkModelOrPresetName(modelOrPreset);
  const preset = named && isPreset(modelOrPreset);
  let raw: Json = !named ? modelOrPreset : preset ? readPreset(modelOrPreset) : mergeSettings(readPreset(DEFAULT_PRESET), { model: modelOrPreset });
  if (sources.settings) raw = mergeSettings(raw, sources.settings);
  if (sources.set) raw = applyOverrides(raw, sources.set);
  const settings = parseSettings(raw, preset ? modelOrPreset : 'detector settings');
  if (settings.model === undefined) {
    throw new ConfigError(expectedMessage('a model (--model, or the preset\'s "model")', named ? modelOrPreset : 'the settings', 'none'));
  }
  return settings;
}

/** Hub settings for `hf:` models (cache folder, endpoint…; default: the HF_* environment variables, hub/env.ts). */
export type HubOptions = Partial<HubSettings>;

/** A model reference as a pipeline takes it: `hf:org/name[@rev]` kept as written, else a model folder path. */
export function modelPathOrHub(model: string): string {
  return isHubModel(model) ? model : resolveModelPath(model);
}

/**
 * The model a pipeline uses, as a reference: a model folder or a name under models/ (→ its path),
 * `hf:org/name[@rev]` (kept; models/model-source.ts fetches it), a preset naming one, or
 * (undefined) the default preset's model. Reads presets only: no network.
 */
export function modelReference(modelOrPreset: string | undefined): string {
  if (modelOrPreset !== undefined && typeof modelOrPreset !== 'string') {
    throw new ConfigError(expectedMessage('a model folder, a model or preset name, or hf:org/name', 'the model', describe(modelOrPreset)));
  }
  if (modelOrPreset !== undefined) checkModelOrPresetName(modelOrPreset);
  if (modelOrPreset !== undefined && !isPreset(modelOrPreset)) return modelPathOrHub(modelOrPreset);
  const preset = modelOrPreset ?? DEFAULT_PRESET;
  const model = readPreset(preset).model;
  if (typeof model !== 'string') throw new ConfigError(expectedMessage('a model (--model, or the preset\'s "model")', preset, 'none'));
  return modelPathOrHub(model);
}

/** The model that ships in models/: small, and trained only on the synthetic world (README "Built-in model"). */
export const BUILTIN_MODEL = 'world-rn-small';

/**
 * Whether a model reference (a name under models/, a folder or its manifest.json, `hf:…`) is the
 * built-in model's folder, compared by real path. A reference to nothing is not (loading it fails
 * with its own error).
 */
export function isBuiltinModel(model: string): boolean {
  if (isHubModel(model)) return false;
  const builtin = join(MODELS_DIR, BUILTIN_MODEL);
  let path = resolveModelPath(model);
  if (!existsSync(path) || !existsSync(builtin)) return false;
  if (!statSync(path).isDirectory()) path = dirname(path);
  return realpathSync(path) === realpathSync(builtin);
}

// ── classify ────────────────────────────────────────────────────────────────────────────────────

const classifySchema = z.strictObject({
  /** Prompt templates: "a photo of a {}.", the 81-template ensemble, or a list of templates with `{}`. */
  templates: z.union([oneOf(TEMPLATE_SET_NAMES), z.array(z.string()).readonly()], { error: `one of ${TEMPLATE_SET_NAMES.join(', ')} (or a list of templates)` }).default(DEFAULT_TEMPLATE_SET),
  /** How template embeddings are combined (OpenAI, or RegionCLIP). */
  ensemble: oneOf(ENSEMBLE_RULES).default(DEFAULT_ENSEMBLE_RULE),
  /** Labels returned per image. */
  topK: positiveInteger().default(5),
  /** Open-set scoring: concepts competing with the labels, never reported ("builtin", "none", a file or a list). */
  distractors: distractorsOption().default('builtin'),
  ...runtimeShape,
});
export type ClassifySettings = z.output<typeof classifySchema>;
const CLASSIFY_NAMES: OptionNames = { prefix: 'classify.', flags: { topK: 'top-k', templates: 'templates', ensemble: 'ensemble', distractors: 'distractors', ...RUNTIME_FLAGS } };

/** classify's tunable options with their defaults, validated; `others` are the caller's other option names. */
export function resolveClassifyOptions(options: object, others: readonly string[] = []): ClassifySettings {
  return parseKnown(classifySchema, options, 'classify options', CLASSIFY_NAMES, others);
}
export const CLASSIFY_DEFAULTS: Readonly<ClassifySettings> = resolveClassifyOptions({});

// ── mine ────────────────────────────────────────────────────────────────────────────────────────

const SHARD = 'i/N with 0 <= i < N (e.g. 0/4; i may name an environment variable holding it, e.g. JOB_COMPLETION_INDEX/4)';
/**
 * `i/N` (as on the command line) or `{ index, count }`: this process takes the lines with index % count === index.
 * `i` may name an environment variable that holds the index (Kubernetes Indexed Jobs set JOB_COMPLETION_INDEX,
 * AWS Batch array jobs AWS_BATCH_JOB_ARRAY_INDEX), so one command line serves every index.
 */
const shard = z.union([
  z.string().regex(/^\s*(\d+|[A-Za-z_][A-Za-z0-9_]*)\/\d+\s*$/, { error: SHARD }),
  z.strictObject({ index: z.number().int().nonnegative(), count: z.number().int().positive() }),
], { error: SHARD }).transform((value, ctx) => {
  if (typeof value !== 'string') return value;
  const [given, count] = value.trim().split('/');
  if (/^\d+$/.test(given)) return { index: Number(given), count: Number(count) };
  const held = process.env[given];
  if (held === undefined || !/^\s*\d+\s*$/.test(held) || Number(held) >= Number(count)) {
    ctx.addIssue({ code: 'custom', message: `an environment variable ${given} holding an index 0 <= i < ${count} (it is ${held === undefined ? 'unset' : JSON.stringify(held)})` });
    return z.NEVER;
  }
  return { index: Number(held), count: Number(count) };
}).refine((s) => s.index < s.count, { error: SHARD });

const LINES = 'first:last, 1-based line numbers with first <= last (e.g. 1001:2000; 1001: to the end)';
/** `first:last` (as on the command line) or a LineRange: only these input lines are mined. */
const lines = z.union([
  z.string().regex(/^\s*\d+:\d*\s*$/).transform((text) => {
    const [first, last] = text.trim().split(':');
    return { first: Number(first), ...(last === '' ? {} : { last: Number(last) }) };
  }),
  z.strictObject({
    first: z.number().int(),
    last: z.number().int().optional(),
    /** Byte offset where line `first` starts (a producer's hint). */
    startByte: z.number().int().nonnegative().optional(),
    /** sha256 of the range's bytes when it was split. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  }),
], { error: LINES }).refine((r) => r.first >= 1 && (r.last === undefined || r.last >= r.first), { error: LINES });

/** `caption`: the caption's phrases take the boxes that best show them (the default); `regionclip`: RegionCLIP's region→concept rule over the pool. */
export const MINE_RULES = ['caption', 'regionclip'] as const;

const mineSchema = z.strictObject({
  /** Which labels: the caption's phrases (`caption`) or the concept pool's, region by region (`regionclip`). */
  rule: oneOf(MINE_RULES).default('caption'),
  /** logits = cosine / temperature (RegionCLIP: 0.01, whatever the model's own). */
  temperature: positiveNumber().default(REGIONCLIP_TEMPERATURE),
  /** regionclip rule: a region's best concept is kept when its probability is above this (RegionCLIP's CONCEPT_THRES: 0.1). */
  threshold: fraction().default(0.1),
  /** regionclip rule: also each concept's best region above this (phrase→region; off unless given; not RegionCLIP's). */
  floor: fraction().optional(),
  /** caption rule: w in probability^(1−w) · objectness^w (0: the probability alone, as RegionCLIP). */
  objectnessWeight: fraction().default(0.9),
  /** caption rule: labels per phrase (a count in the caption, "two dogs", raises it). */
  topK: positiveInteger().default(1),
  /** caption rule: a box overlapping a kept box (any phrase) by more than this IoU is not kept. */
  nms: fraction().default(0.3),
  /** caption rule: proposals overlapping a kept box by more than this IoU vote on its coordinates (1: no voting). */
  vote: fraction().default(0.2),
  /** caption rule: labels scoring under this are dropped. */
  minScore: fraction().default(0.05),
  /** RPN proposals kept per image after NMS (RegionCLIP pretraining: 300). */
  proposals: positiveInteger().default(300),
  /** RPN NMS threshold for mining (RegionCLIP pretraining: 0.5). */
  rpnNms: fraction().default(0.5),
  templates: oneOf(TEMPLATE_SET_NAMES).default(DEFAULT_TEMPLATE_SET),
  shard: shard.optional(),
  /** Only these input lines (1-based, inclusive). */
  lines: lines.optional(),
  /** Images decoded ahead of the model. */
  queueSize: positiveInteger().default(4),
  /**
   * Concepts competing with the phrases, never mined. Default "none": RegionCLIP's mining rule is a
   * softmax over the image's phrases (or the concept pool), and its 0.1 threshold is set for that.
   */
  distractors: distractorsOption().default('none'),
  /** A checkpoint (fsync, then the checkpoint file) after this many lines… */
  checkpointLines: positiveInteger().default(1000),
  /** …or this many seconds, whichever comes first. */
  checkpointSeconds: positiveNumber().default(10),
  ...runtimeShape,
});
export type MineSettings = z.output<typeof mineSchema>;
const MINE_NAMES: OptionNames = {
  prefix: 'mine.',
  flags: {
    rule: 'rule', temperature: 'temperature', threshold: 'thresh', floor: 'floor', objectnessWeight: 'objectness', topK: 'top-k', nms: 'nms', vote: 'vote',
    minScore: 'min-score', proposals: 'proposals', rpnNms: 'rpn-nms', templates: 'templates', shard: 'shard', lines: 'lines', queueSize: 'queue',
    checkpointLines: 'checkpoint-lines', checkpointSeconds: 'checkpoint-seconds', distractors: 'distractors', ...RUNTIME_FLAGS,
  },
};

/** mine's tunable options with their defaults, validated; `others` are the caller's other option names. */
export function resolveMineOptions(options: object, others: readonly string[] = []): MineSettings {
  return parseKnown(mineSchema, options, 'mine options', MINE_NAMES, others);
}
export const MINE_DEFAULTS: Readonly<MineSettings> = resolveMineOptions({});

// ── mine on many machines (BullMQ + Redis) ──────────────────────────────────────────────────────

const queueSchema = z.strictObject({
  /** Input lines per job: the unit a worker takes, resumes and commits (size it at minutes of work). */
  rangeLines: positiveInteger().default(1000),
  /** Ranges one worker process mines at once. */
  concurrency: positiveInteger().default(1),
  /** A worker's lock on its range, renewed every half of it: a worker silent this long is presumed dead and its range is taken over. */
  lockSeconds: positiveNumber().default(30),
});
export type QueueSettings = z.output<typeof queueSchema>;
const QUEUE_NAMES: OptionNames = { prefix: 'queue.', flags: { rangeLines: 'range-lines', concurrency: 'concurrency', lockSeconds: 'lock-seconds' } };

/** The queue's options (`mine --redis`, `regionclip worker`) with their defaults, validated; `others` are the caller's other option names. */
export function resolveQueueOptions(options: object, others: readonly string[] = []): QueueSettings {
  return parseKnown(queueSchema, options, 'queue options', QUEUE_NAMES, others);
}
export const QUEUE_DEFAULTS: Readonly<QueueSettings> = resolveQueueOptions({});

/** Where Redis is, from `redis://[user:password@]host[:port][/db]` (`rediss://` for TLS). */
export interface RedisAddress {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

/** Parses a Redis URL (no connection is made). @throws ConfigError for anything else. */
export function parseRedisUrl(url: string, forWhat = '--redis'): RedisAddress {
  const what = 'a Redis URL redis://host[:port][/db] (or rediss:// for TLS)';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(expectedMessage(what, forWhat, JSON.stringify(url)));
  }
  const db = parsed.pathname === '' || parsed.pathname === '/' ? 0 : Number(parsed.pathname.slice(1));
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '' || !Number.isInteger(db) || db < 0 || parsed.search !== '') {
    throw new ConfigError(expectedMessage(what, forWhat, JSON.stringify(url)));
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    db,
    tls: parsed.protocol === 'rediss:',
  };
}

// ── pull ────────────────────────────────────────────────────────────────────────────────────────

const pullSchema = z.strictObject({
  /** Branch, tag or commit. */
  revision: z.string({ error: 'a branch, tag or commit' }).min(1, { error: 'a branch, tag or commit' }).default(DEFAULT_REVISION),
  /** fnmatch patterns choosing the files (instead of the default selection). */
  include: z.array(z.string().min(1), { error: 'a list of file patterns' }).readonly().optional(),
  /** transformers.js dtype of a CLIP repository's towers (default fp32). */
  dtype: oneOf(DTYPES).optional(),
  /** The Hub cache root (default $HF_HUB_CACHE, or $HF_HOME/hub). */
  cacheDir: z.string().min(1).optional(),
}).refine((o) => o.include === undefined || o.include.length === 0 || o.dtype === undefined, { error: 'either include or dtype (the patterns alone choose the files)', path: ['include'] });
export type PullSettings = z.output<typeof pullSchema>;
const PULL_NAMES: OptionNames = { prefix: 'pull.', flags: { revision: 'revision', include: 'include', dtype: 'dtype', cacheDir: 'cache-dir' } };

/** pull's options with their defaults, validated; `others` are the caller's other option names. */
export function resolvePullOptions(options: object, others: readonly string[] = []): PullSettings {
  return parseKnown(pullSchema, options, 'pull options', PULL_NAMES, others);
}
