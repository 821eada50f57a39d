/**
 * Validation of options, whatever they come from (a preset file, `--set`, a command-line flag or a
 * library call): zod fields that carry the phrase of what they expect, and one mapping of zod's
 * issues onto a `ConfigError` in the one message format, so the same bad value gives the same
 * class and message from the CLI and from the library:
 *
 *   Expected a number in [0, 1] for detect.scoreThreshold (--conf) but received 2.
 *
 * The name is the option's path as the library spells it (prefixed by the options object it
 * belongs to: `detect.` settings, `mine.`, `classify.`), then the command-line flag that sets it.
 * Several problems at once (or an unknown key) give one message listing every problem.
 */
import { z } from 'zod';
import { ConfigError, expectedMessage } from '../errors.js';
import { knownKeysAt } from '../util/schema-keys.js';
import { closestMatch } from '../util/suggest.js';

export const FRACTION = 'a number in [0, 1]';
export const POSITIVE_INTEGER = 'a positive integer';

/** A number in [0, 1]. */
export const fraction = () => z.number({ error: FRACTION }).min(0, { error: FRACTION }).max(1, { error: FRACTION });
/** An integer ≥ 1. */
export const positiveInteger = () => z.number({ error: POSITIVE_INTEGER }).int({ error: POSITIVE_INTEGER }).min(1, { error: POSITIVE_INTEGER });
/** An integer ≥ 0. */
export const nonNegativeInteger = () => z.number({ error: 'an integer >= 0' }).int({ error: 'an integer >= 0' }).min(0, { error: 'an integer >= 0' });
/** A number > 0. */
export const positiveNumber = () => z.number({ error: 'a positive number' }).positive({ error: 'a positive number' });
/** A number ≥ 0. */
export const nonNegativeNumber = () => z.number({ error: 'a number >= 0' }).nonnegative({ error: 'a number >= 0' });
/** The distractor pools by name (open-set scoring, text/distractors.ts): the built-in one, or none. */
export const DISTRACTOR_POOLS = ['builtin', 'none'] as const;
export const DISTRACTORS = `${DISTRACTOR_POOLS.map((n) => `"${n}"`).join(', ')}, a file of concepts (one per line) or a list of concepts`;
/** Open-set scoring's distractor pool: a name of DISTRACTOR_POOLS, a file path, or a non-empty list of concepts. */
export const distractorsOption = () => z.union([
  z.string({ error: DISTRACTORS }).trim().min(1, { error: DISTRACTORS }),
  z.array(z.string({ error: DISTRACTORS }).trim().min(1, { error: DISTRACTORS }), { error: DISTRACTORS }).min(1, { error: DISTRACTORS }).readonly(),
], { error: DISTRACTORS });
/** One of a fixed list of names. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `one of ${values.join(', ')}` });

/** How options are named in messages: a prefix for the library path, and the flag (without dashes) per path. */
export interface OptionNames {
  /** e.g. "mine." for `mine()`'s options; "" for preset settings, whose paths already say "detect.". */
  prefix: string;
  /** Library path (without the prefix) → command-line flag, e.g. { 'detect.scoreThreshold': 'conf' }. */
  flags: Readonly<Record<string, string>>;
}

/** "detect.scoreThreshold (--conf)": the library path, and the flag that sets it when there is one. */
export function optionName(path: readonly PropertyKey[], names: OptionNames): string {
  const key = path.map(String).join('.');
  const flag = names.flags[key];
  return `${names.prefix}${key}${flag === undefined ? '' : ` (--${flag})`}`;
}

/**
 * A command-line value that should have been a number, kept as typed (`--conf 0.8.5`) so that the
 * error quotes it: "… but received '0.8.5'." rather than NaN. Any schema field rejects it, as it
 * rejects every value that is not a number.
 */
export class FlagText {
  constructor(readonly text: string) {}
}

/** A received value as messages show it: numbers as written (NaN too), flag text in single quotes, strings quoted, objects as JSON. */
export function receivedValue(value: unknown): string {
  if (typeof value === 'number' || value === undefined) return String(value);
  if (value instanceof FlagText) return `'${value.text}'`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) current = current !== null && typeof current === 'object' ? (current as Record<PropertyKey, unknown>)[key] : undefined;
  return current;
}

/**
 * Parses `value` with `schema`; on failure throws one ConfigError. A single bad value reads
 * "Expected <what> for <name> but received <value>."; anything else lists every problem as
 * "Expected valid <what> for <source> but received <problem>; <problem>."
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string, source: string, names: OptionNames): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  if (issues.length === 1 && issues[0].code !== 'unrecognized_keys') {
    const [issue] = issues;
    throw new ConfigError(expectedMessage(issue.message, optionName(issue.path, names), receivedValue(valueAt(value, issue.path))));
  }
  const problems = issues.map((issue) => {
    const where = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      return issue.keys.map((key) => {
        const suggestion = closestMatch(key, known);
        return `${where ? `${where}.` : ''}${key}: unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
      }).join('; ');
    }
    return `${optionName(issue.path, names)}: ${issue.message} expected, ${receivedValue(valueAt(value, issue.path))} received`;
  });
  throw new ConfigError(expectedMessage(`valid ${what}`, source, problems.join('; ')));
}
