#!/usr/bin/env node
/**
 * The `regionclip` command line. Commands register in `buildParser` (and their option tables in
 * `commandOptions`, for suggestions); each one is a yargs command module whose handler throws typed
 * errors, which `run` maps to exit codes. Commands talk to pipelines/, io/ and config/ only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UsageError } from '../errors.js';
import { closestMatch } from '../config/options.js';
import { classifyCommand, classifyOptions } from './commands/classify.js';
import { detectCommand, detectOptions } from './commands/detect.js';
import { mineCommand, mineOptions } from './commands/mine.js';
import { evalCommand, evalOptions } from './commands/eval.js';
import { pullCommand, pullOptions } from './commands/pull.js';
import { workerCommand, workerOptions } from './commands/worker.js';
import { exitCodeFor, formatError } from './errors.js';

const packageJson = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };

/** Options every command accepts. */
const GLOBAL_OPTIONS = ['verbose', 'help', 'version'];

/** Each command's name and option names (from the tables its builder passes to yargs), for suggestions. */
export const commandOptions: Readonly<Record<string, readonly string[]>> = {
  detect: Object.keys(detectOptions),
  mine: Object.keys(mineOptions),
  classify: Object.keys(classifyOptions),
  eval: Object.keys(evalOptions),
  pull: Object.keys(pullOptions),
  worker: Object.keys(workerOptions),
};

/** Known option names (without dashes) of the command on the line (or the global ones), for suggestions. */
function knownOptions(argv: string[]): string[] {
  const command = argv.find((a) => !a.startsWith('-') && Object.hasOwn(commandOptions, a));
  return [...GLOBAL_OPTIONS, ...(command === undefined ? [] : commandOptions[command])];
}

/** Turns yargs' "Unknown argument(s): …" into one error with a did-you-mean per unknown name. */
function usageErrorFrom(message: string, argv: string[]): UsageError {
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown === null) return new UsageError(message);
  // yargs names an unknown --max-dte twice (max-dte, maxDte): keep the spelling that was typed.
  const listed = unknown[1].split(', ');
  const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const names = listed.filter((name) => kebab(name) === name || !listed.includes(kebab(name)));
  const options = knownOptions(argv);
  const commandNames = Object.keys(commandOptions);
  const parts = names.map((name) => {
    const asOption = argv.includes(`--${name}`) || argv.includes(`-${name}`) || argv.some((a) => a.startsWith(`--${name}=`)) || name.length === 1;
    if (asOption) {
      const suggestion = closestMatch(name, options);
      return `unknown option --${name}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`;
    }
    const suggestion = closestMatch(name, commandNames);
    return `unknown command "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : `; commands: ${commandNames.join(', ')}`}`;
  });
  return new UsageError(`Expected a known command or option but received: ${parts.join('; ')}. Run "regionclip --help" for usage.`);
}

export function buildParser(argv: string[]): Argv {
  const parser = yargs(argv)
    .scriptName('regionclip')
    .usage('$0 <command> [options]\n\nOpen-vocabulary object detection (RegionCLIP) for Node.js.')
    .option('verbose', { type: 'boolean', default: false, describe: 'Print stack traces and causes of errors' })
    .strict()
    .recommendCommands()
    .version(packageJson.version)
    .alias('help', 'h')
    .alias('version', 'V')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      throw usageErrorFrom(message, argv);
    })
    .command(detectCommand)
    .command(mineCommand)
    .command(classifyCommand)
    .command(evalCommand)
    .command(pullCommand)
    .command(workerCommand);
  // No demandCommand: it would fire before strict mode could name an unknown option; `run` checks instead.
  return parser;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    const parser = buildParser(argv);
    await parser.parseAsync();
    if (argv.filter((a) => !a.startsWith('-')).length === 0 && !argv.some((a) => /^(-h|--help|-V|--version)$/.test(a))) {
      throw new UsageError('Expected a command but received none. Run "regionclip --help" for usage.');
    }
    return 0;
  } catch (error) {
    console.error(formatError(error, verbose));
    return exitCodeFor(error);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1])) {
  process.exitCode = await run(hideBin(process.argv));
}
