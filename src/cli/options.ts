/**
 * Option tables shared by the commands. Pipeline options carry no `default:` here: the defaults
 * live in config/options (the schemas), the help text quotes them, and values are validated there,
 * so a flag and a library call fail alike. Numbers are parsed by yargs, never evaluated.
 */
import type { Options } from 'yargs';
import { DEFAULT_MAX_PIXELS } from '../config/options.js';

/** The options of a command, as one table: yargs infers the argument types from it, and main.ts suggests from its keys. */
export type OptionTable = Record<string, Options>;

/** Text-embedding cache and run-time limits (detect, classify, mine). */
export const runtimeOptions = {
  'cache-dir': { type: 'string', describe: 'Text-embedding cache folder (default $XDG_CACHE_HOME/regionclip, else ~/.cache/regionclip)' },
  cache: { type: 'boolean', describe: 'Cache text embeddings on disk (the default; --no-cache to disable)' },
  'max-pixels': { type: 'number', describe: `Refuse images with more pixels (default ${DEFAULT_MAX_PIXELS})` },
  threads: { type: 'number', describe: 'onnxruntime intra-op threads' },
  quiet: { type: 'boolean', describe: 'Nothing on stderr but errors: no built-in-model notice, progress bar or summary line' },
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
