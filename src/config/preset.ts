/**
 * Detection presets: declarative JSON in pipelines/*.json naming a model and thresholds, with
 * `extends` (another preset by name or path), mapped onto the typed `DetectSettings` in one place.
 * Unknown keys are errors with a suggestion; fractions are range-checked; `--set key=value`
 * overrides are parsed (JSON literals or plain strings), never evaluated.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, IoError, expectedMessage } from '../errors.js';
import { isHubModel } from '../hub/repo.js';
import { closestMatch } from '../util/suggest.js';
import { readJsonFile } from '../io/files.js';
import { OBJECTNESS_FUSIONS } from '../matching/scores.js';
import { DEFAULT_ENSEMBLE_RULE, ENSEMBLE_RULES, TEMPLATE_SETS, type TemplateSetName } from '../text/prompts.js';
import { DISTRACTOR_POOLS, distractorsOption, fraction, nonNegativeInteger, nonNegativeNumber, oneOf, parseOptions, positiveInteger, positiveNumber } from './validate.js';

/** Prompt template sets (`text/prompts`), and the ways their embeddings are combined. */
export const TEMPLATE_SET_NAMES = Object.keys(TEMPLATE_SETS) as [TemplateSetName, ...TemplateSetName[]];
export { ENSEMBLE_RULES };

export const settingsSchema = z.strictObject({
  /** Model folder (relative paths resolve against the preset file), a name under models/, or `hf:org/name[@rev]`. */
  model: z.string({ error: 'a model folder or name' }).min(1, { error: 'a model folder or name' }).optional(),
  description: z.string().optional(),
  proposals: z.strictObject({
    preNmsTopK: positiveInteger().optional(),
    postNmsTopK: positiveInteger().optional(),
    nmsThreshold: fraction().optional(),
    minSize: nonNegativeNumber().optional(),
  }).prefault({}),
  text: z.strictObject({
    templates: oneOf(TEMPLATE_SET_NAMES).default('ensemble'),
    ensemble: oneOf(ENSEMBLE_RULES).default(DEFAULT_ENSEMBLE_RULE),
    /** Fix "a"/"an" before `{}` to the phrase's sound (true); false fills templates verbatim, as RegionCLIP does. */
    articles: z.boolean({ error: 'true or false' }).default(true),
  }).prefault({}),
  detect: z.strictObject({
    scoreThreshold: fraction().default(0.3),
    iouThreshold: fraction().default(0.5),
    maxDetections: nonNegativeInteger().default(100),
    fusion: oneOf(OBJECTNESS_FUSIONS).default('none'),
    /**
     * Open-set scoring: concepts that compete with the labels in the softmax and are never reported —
     * "builtin" (text/distractors.json; a model with a trained background uses its background instead),
     * "none", a file (one concept per line; relative to the preset file) or a list.
     */
    distractors: distractorsOption().default('builtin'),
    /** Class-agnostic NMS: one box per object whatever its label (default: per-class, as RegionCLIP). */
    agnosticNms: z.boolean({ error: 'true or false' }).default(false),
    /**
     * ViLD's ensemble, when the model declares one (manifest `regionEnsemble`: a second region encoder whose label
     * probability joins the detector's by a weighted geometric mean before thresholding and NMS); false scores with
     * the detector alone. Models without one are unaffected.
     */
    regionEnsemble: z.boolean({ error: 'true or false' }).default(true),
    /** crop mode: enlarge boxes by this factor before cropping (overrides the manifest). */
    contextScale: positiveNumber().optional(),
  }).prefault({}),
});
/** The command-line flags of `regionclip detect` that set a preset key (the rest go through `--set`). */
export const DETECT_FLAGS = {
  model: 'model',
  'detect.scoreThreshold': 'conf',
  'detect.iouThreshold': 'iou',
  'detect.maxDetections': 'max-det',
  'detect.distractors': 'distractors',
  'detect.agnosticNms': 'agnostic-nms',
  'detect.regionEnsemble': 'region-ensemble',
  'proposals.postNmsTopK': 'proposals',
  'text.templates': 'templates',
} as const;
export type DetectSettings = z.infer<typeof settingsSchema>;
/** Settings as given (a preset file, a library call): any key may be left out for its default. */
export type DetectSettingsInput = z.input<typeof settingsSchema>;

export const PIPELINES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'pipelines');
export const MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, everything else is replaced by the override. */
export function mergeSettings(base: Json, override: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = isObject(v) && isObject(out[k]) ? mergeSettings(out[k] as Json, v) : v;
  return out;
}

/** Validates merged settings; one ConfigError names the bad value, or lists every problem (unknown keys with suggestions). */
export function parseSettings(value: unknown, source: string): DetectSettings {
  return parseOptions(settingsSchema, value, 'detection settings', source, { prefix: '', flags: DETECT_FLAGS });
}

function presetPath(nameOrPath: string, from?: string): string {
  if (nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes('\\')) {
    return isAbsolute(nameOrPath) ? nameOrPath : resolve(from ?? process.cwd(), nameOrPath);
  }
  return join(PIPELINES_DIR, `${nameOrPath}.json`);
}

/** Reads a preset and its `extends` chain into one raw settings object (model paths resolved). */
export function readPreset(nameOrPath: string, from?: string, seen: string[] = []): Json {
  const path = presetPath(nameOrPath, from);
  if (seen.includes(path)) throw new ConfigError(expectedMessage('presets without an extends cycle', path, [...seen, path].join(' → ')));
  if (!existsSync(path)) {
    const available = existsSync(PIPELINES_DIR) ? readdirNames(PIPELINES_DIR) : [];
    const suggestion = closestMatch(nameOrPath, available);
    // A preset name that names nothing is configuration (exit 4); a path to a file that does not exist, like every missing file, exit 7.
    const Kind = path === join(PIPELINES_DIR, `${nameOrPath}.json`) ? ConfigError : IoError;
    throw new Kind(expectedMessage('an existing preset', nameOrPath, `nothing at ${path}${suggestion ? ` (did you mean "${suggestion}"?)` : available.length ? ` (presets: ${available.join(', ')})` : ''}`));
  }
  const raw = readJsonFile(path, 'preset', 'config');
  if (!isObject(raw)) throw new ConfigError(expectedMessage('a JSON object', path, Array.isArray(raw) ? 'an array' : typeof raw));
  const { extends: parent, ...own } = raw;
  if (typeof own.model === 'string' && !isHubModel(own.model) && (own.model.startsWith('.') || own.model.includes('/'))) own.model = resolve(dirname(path), own.model);
  // A distractor file is relative to the preset that names it, like the model.
  const detect = own.detect;
  if (isObject(detect) && typeof detect.distractors === 'string' && !isDistractorPoolName(detect.distractors)) {
    own.detect = { ...detect, distractors: resolve(dirname(path), detect.distractors) };
  }
  if (parent === undefined) return own;
  if (typeof parent !== 'string') throw new ConfigError(expectedMessage('a preset name or path', `${path}: extends`, JSON.stringify(parent)));
  return mergeSettings(readPreset(parent, dirname(path), [...seen, path]), own);
}

/** "builtin" or "none", rather than a file of distractors. */
export function isDistractorPoolName(value: string): value is (typeof DISTRACTOR_POOLS)[number] {
  return (DISTRACTOR_POOLS as readonly string[]).includes(value.trim());
}

function readdirNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

/**
 * Applies `--set key=value` overrides (dotted keys, e.g. `detect.iouThreshold=0.4`). Values are
 * JSON literals (numbers, booleans, quoted strings) or else plain strings.
 */
export function applyOverrides(settings: Json, assignments: readonly string[]): Json {
  let out = settings;
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new ConfigError(expectedMessage('key=value', '--set', JSON.stringify(assignment)));
    const key = assignment.slice(0, eq).trim();
    const text = assignment.slice(eq + 1).trim();
    let value: unknown = text;
    if (/^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null|".*")$/.test(text)) value = JSON.parse(text);
    const path = key.split('.');
    const nested = path.reduceRight<unknown>((acc, k) => ({ [k]: acc }), value) as Json;
    out = mergeSettings(out, nested);
  }
  return out;
}

/**
 * Checks a bare name (no path separator, not a .json, not `hf:…`) given as a model or a preset:
 * one that is neither a path, a preset under pipelines/ nor a model under models/ is a
 * ConfigError (an unknown name, like an unknown option value) that lists the presets and models
 * and suggests the closest (a typo such as "defualt").
 */
export function checkModelOrPresetName(name: string): void {
  const bare = !name.endsWith('.json') && !name.includes('/') && !name.includes('\\') && !name.startsWith('hf:');
  if (!bare || existsSync(name) || existsSync(join(PIPELINES_DIR, `${name}.json`)) || existsSync(join(MODELS_DIR, name))) return;
  const presets = readdirNames(PIPELINES_DIR);
  const models = existsSync(MODELS_DIR) ? readdirSync(MODELS_DIR).sort() : [];
  const suggestion = closestMatch(name, [...presets, ...models]);
  const what = `a preset (${presets.join(', ')}), a model under models/ (${models.join(', ')}) or a model folder`;
  throw new ConfigError(expectedMessage(what, JSON.stringify(name), `nothing by that name${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`));
}

/** Resolves the model named by settings: a folder path, or a name under models/. */
export function resolveModelPath(model: string): string {
  if (existsSync(model)) return model;
  const named = join(MODELS_DIR, model);
  if (existsSync(named)) return named;
  return model;
}
