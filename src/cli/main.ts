#!/usr/bin/env node
/**
 * The `regionclip` command line. Commands register in `buildParser` (and their option tables in
 * argv.ts, which checks and suggests around yargs); each one is a yargs command module whose
 * handler throws typed errors, which `run` maps to exit codes. Commands talk to pipelines/, io/
 * and config/ only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UsageError } from '../errors.js';
import { checkSingleDashOptions, protectStdin, restoreStdin, usageErrorFrom } from './argv.js';
import { classifyCommand } from './commands/classify.js';
import { detectCommand } from './commands/detect.js';
import { mineCommand } from './commands/mine.js';
import { evalCommand } from './commands/eval.js';
import { pullCommand } from './commands/pull.js';
import { workerCommand } from './commands/worker.js';
import { exitCodeFor, formatError } from './errors.js';
import { BUILTIN_MODEL_NOTE } from './output.js';

const packageJson = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };

export function buildParser(argv: string[]): Argv {
  const parser = yargs(argv)
    .scriptName('regionclip')
    .usage('$0 <command> [options]\n\nOpen-vocabulary object detection (RegionCLIP) for Node.js.')
    .epilogue(`Without --model, detect, classify and mine use ${BUILTIN_MODEL_NOTE}.`)
    .option('verbose', { type: 'boolean', default: false, describe: 'Print stack traces and causes of errors' })
    .strict()
    .recommendCommands()
    .version(packageJson.version)
    .alias('help', 'h')
    .alias('version', 'V')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .middleware(restoreStdin, true)
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
    checkSingleDashOptions(argv);
    const parser = buildParser(protectStdin(argv));
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
