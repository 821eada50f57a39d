#!/usr/bin/env node
/**
 * The `regionclip` command line. Commands register in `commands` below; each one is a yargs
 * command module whose handler throws typed errors, which `run` maps to exit codes.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UsageError } from '../errors.js';
import { closestMatch } from '../util/suggest.js';
import { classifyCommand } from './commands/classify.js';
import { detectCommand } from './commands/detect.js';
import { mineCommand } from './commands/mine.js';
import { evalCommand } from './commands/eval.js';
import { exitCodeFor, formatError } from './errors.js';

const packageJson = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };

/** The CLI's commands; later stages add theirs here. */
export const commands: CommandModule[] = [];
commands.push(detectCommand as unknown as CommandModule, mineCommand as unknown as CommandModule, classifyCommand as unknown as CommandModule, evalCommand as unknown as CommandModule);

/** Known option names (without dashes) of the parser, for suggestions. */
function knownOptions(parser: Argv): string[] {
  const options = (parser as unknown as { getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]> } }).getOptions();
  return [...Object.keys(options.key), ...Object.values(options.alias).flat()];
}

/** Turns yargs' "Unknown argument(s): …" into one error with a did-you-mean per unknown name. */
function usageErrorFrom(message: string, parser: Argv, argv: string[]): UsageError {
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown === null) return new UsageError(message);
  const names = unknown[1].split(', ');
  const options = knownOptions(parser).filter((o) => o.length > 1 && !o.includes('$'));
  const commandNames = commands.map((c) => String(c.command).split(' ')[0]);
  const parts = names.map((name) => {
    const asOption = argv.includes(`--${name}`) || argv.includes(`-${name}`) || argv.some((a) => a.startsWith(`--${name}=`)) || name.length === 1;
    if (asOption) {
      const suggestion = closestMatch(name, options);
      return `unknown option --${name}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`;
    }
    const suggestion = closestMatch(name, commandNames);
    const known = commandNames.length > 0 ? `; commands: ${commandNames.join(', ')}` : '';
    return `unknown command "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : known}`;
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
      throw usageErrorFrom(message, parser, argv);
    });
  for (const command of commands) parser.command(command);
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
      if (commands.length > 0) throw new UsageError('Expected a command but received none. Run "regionclip --help" for usage.');
      parser.showHelp('log');
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
