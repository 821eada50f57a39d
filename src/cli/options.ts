/**
 * Option tables shared by the commands. Pipeline options carry no `default:` here: the defaults
 * live in config/options (the schemas), the help text quotes them, and values are validated there,
 * so a flag and a library call fail alike. Numbers are parsed by yargs, never evaluated.
 */
import type { Options } from 'yargs';
import { DEFAULT_MAX_PIXELS, FlagText, MODEL_DTYPES } from '../config/options.js';

/** The options of a command, as one table: yargs infers the argument types from it, and main.ts suggests from its keys. */
export type OptionTable = Record<string, Options>;

/**
 * A number flag's value: the text as typed, parsed as a JavaScript number literal (what yargs'
 * `type: 'number'` does), else kept as typed (FlagText) so that validation quotes it — "received
 * '0.8.5'", not NaN. Out-of-range and non-integer values are judged by config/ like any other.
 */
export function parseNumberFlag(raw: string | readonly string[]): number | FlagText {
  const text = typeof raw === 'string' ? raw : raw.join(' ');
  const value = text.trim() === '' ? Number.NaN : Number(text);
  return Number.isNaN(value) ? new FlagText(text) : value;
}

/**
 * A number option ([number] in --help): `string: true` makes yargs hand over the text as typed
 * (its own number parsing would turn "0.8.5" into NaN), which parseNumberFlag then parses.
 */
export function numberOption<D extends string>(describe: D) {
  return { type: 'number', string: true, coerce: parseNumberFlag, describe } as const satisfies Options;
}

/** Text-embedding cache and run-time limits (detect, classify, mine). */
export const runtimeOptions = {
  'cache-dir': { type: 'string', describe: 'Text-embedding cache folder (default $XDG_CACHE_HOME/regionclip, else ~/.cache/regionclip)' },
  cache: { type: 'boolean', describe: 'Cache text embeddings on disk (the default; --no-cache to disable)' },
  'max-pixels': numberOption(`Refuse images with more pixels (default ${DEFAULT_MAX_PIXELS})`),
  threads: numberOption('onnxruntime intra-op threads'),
  dtype: { type: 'string', describe: `Weight precision: ${MODEL_DTYPES.join(' | ')} (default fp32): each graph listing a file of that precision in its manifest runs it (the built-in model has int8 RPN, backbone, head and ensemble partner: detect and mine, not classify); refused when none of the graphs the command runs has one` },
} as const satisfies OptionTable;

/** `--quiet`: no progress bars (text embedding, images, lines, bytes) and no built-in-model notice; errors, warnings and the summary line still print. */
export const quietOption = {
  quiet: { type: 'boolean', describe: 'No progress bars and no built-in-model notice on stderr (errors, warnings and the closing summary still print)' },
} as const satisfies OptionTable;


/** `--json [file]` ("-" or no value: stdout). */
export const jsonOption = {
  json: { type: 'string', describe: 'Write results as JSON to this file ("-" or no value: stdout)' },
} as const satisfies OptionTable;

/** The cache folder the flags ask for: false with --no-cache, else --cache-dir (undefined: the default). */
export function cacheDirFrom(argv: { cache?: boolean; cacheDir?: string }): string | false | undefined {
  return argv.cache === false ? false : argv.cacheDir;
}

/** `--json` alone or `--json -` (which yargs hands over as "") prints to stdout. */
export function jsonToStdout(json: string | undefined): boolean {
  return json === '-' || json === '';
}
