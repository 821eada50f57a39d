/**
 * Detection presets: declarative JSON in pipelines/*.json naming a model and thresholds, with
 * `extends` (another preset by name or path), mapped onto the typed `DetectSettings` in one place.
 * Unknown keys are errors with a suggestion; fractions are range-checked; `--set key=value`
 * overrides are parsed (JSON literals or plain strings), never evaluated.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, IoError, expectedMessage } from '../errors.js';
import { closestMatch } from '../util/suggest.js';

const fraction = z.number().min(0).max(1);
export const settingsSchema = z.strictObject({
  /** Model folder (relative paths resolve against the preset file) or a name under models/. */
  model: z.string().min(1).optional(),
  description: z.string().optional(),
  proposals: z.strictObject({
    preNmsTopK: z.number().int().positive().optional(),
    postNmsTopK: z.number().int().positive().optional(),
    nmsThreshold: fraction.optional(),
    minSize: z.number().nonnegative().optional(),
  }).default({}),
  text: z.strictObject({
    templates: z.enum(['single', 'ensemble']).default('ensemble'),
    ensemble: z.enum(['normalize-average-normalize', 'average-normalize']).default('normalize-average-normalize'),
  }).default({ templates: 'ensemble', ensemble: 'normalize-average-normalize' }),
  detect: z.strictObject({
    scoreThreshold: fraction.default(0.3),
    iouThreshold: fraction.default(0.5),
    maxDetections: z.number().int().nonnegative().default(100),
    fusion: z.enum(['none', 'geometric']).default('none'),
    /** crop mode: enlarge boxes by this factor before cropping (overrides the manifest). */
    contextScale: z.number().positive().optional(),
  }).default({ scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 100, fusion: 'none' }),
});
export type DetectSettings = z.infer<typeof settingsSchema>;

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

function knownKeys(path: PropertyKey[]): string[] {
  let shape: any = settingsSchema;
  const unwrap = (s: any) => { while (s?.def?.innerType) s = s.def.innerType; return s; };
  shape = unwrap(shape);
  for (const key of path) shape = unwrap(shape?.def?.shape?.[String(key)]);
  return shape?.def?.shape ? Object.keys(shape.def.shape) : [];
}

/** Validates merged settings; one ConfigError lists every problem (unknown keys with suggestions). */
export function parseSettings(value: unknown, source: string): DetectSettings {
  const result = settingsSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const suggestion = closestMatch(key, knownKeys(issue.path));
        return `${where ? `${where}.` : ''}${key}: unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
      }).join('; ');
    }
    return `${where || '(root)'}: ${issue.message}`;
  });
  throw new ConfigError(expectedMessage('valid detection settings', source, problems.join('; ')));
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
    throw new IoError(expectedMessage('an existing preset', nameOrPath, `nothing at ${path}${suggestion ? ` (did you mean "${suggestion}"?)` : available.length ? ` (presets: ${available.join(', ')})` : ''}`));
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(expectedMessage('valid JSON', path, (error as Error).message), { cause: error });
  }
  if (!isObject(raw)) throw new ConfigError(expectedMessage('a JSON object', path, Array.isArray(raw) ? 'an array' : typeof raw));
  const { extends: parent, ...own } = raw;
  if (typeof own.model === 'string' && (own.model.startsWith('.') || own.model.includes('/'))) own.model = resolve(dirname(path), own.model);
  if (parent === undefined) return own;
  if (typeof parent !== 'string') throw new ConfigError(expectedMessage('a preset name or path', `${path}: extends`, JSON.stringify(parent)));
  return mergeSettings(readPreset(parent, dirname(path), [...seen, path]), own);
}

function readdirNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
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

/** Resolves the model named by settings: a folder path, or a name under models/. */
export function resolveModelPath(model: string): string {
  if (existsSync(model)) return model;
  const named = join(MODELS_DIR, model);
  if (existsSync(named)) return named;
  return model;
}
