/**
 * The command line around yargs: each command's option table (for suggestions, and to tell a
 * flag's value from an input), checks yargs cannot make (a one-dash long option such as "-vocab",
 * which it reads as five letters), the usage error for unknown options (a did-you-mean, or a
 * sibling command's name for the flag), and "-" as an input (stdin), which yargs would drop.
 */
import type { ArgumentsCamelCase } from 'yargs';
import { UsageError } from '../errors.js';
import { closestMatch } from '../config/options.js';
import { STDIN_INPUT } from '../io/inputs.js';
import { classifyOptions } from './commands/classify.js';
import { detectOptions } from './commands/detect.js';
import { mineOptions } from './commands/mine.js';
import { evalOptions } from './commands/eval.js';
import { pullOptions } from './commands/pull.js';
import { workerOptions } from './commands/worker.js';
import type { OptionTable } from './options.js';

/**
 * yargs drops a lone "-" from a list of inputs; as an input it means stdin, so it travels through
 * the parser as STDIN_TOKEN (no argument can hold a NUL) and comes back as "-". A "-" right after
 * an option that takes a value is that value ("--json -": stdout), passed as "--json=-".
 */
const STDIN_TOKEN = '\0stdin';

/** Options every command accepts, and the one-letter ones (`-h`, `-V`). */
const GLOBAL_OPTIONS = ['verbose', 'help', 'version'];
/** The global options that are switches (a `--no-` form): main.ts's `verbose`. */
const GLOBAL_SWITCHES = ['verbose'];
const SHORT_OPTIONS = ['h', 'V'];

/** Each command's option table (names and types), for suggestions and for telling a flag's value from an input. */
const COMMAND_TABLES: Readonly<Record<string, OptionTable>> = {
  detect: detectOptions,
  mine: mineOptions,
  classify: classifyOptions,
  eval: evalOptions,
  pull: pullOptions,
  worker: workerOptions,
};

/** Each command's name and option names (from the tables its builder passes to yargs), for suggestions. */
export const commandOptions: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(COMMAND_TABLES).map(([command, table]) => [command, Object.keys(table)]),
);

/**
 * Flags that mean the same in sibling commands, one group per meaning: a flag unknown to this
 * command that is a sibling's name for one of its options suggests this command's name for it
 * (`classify --vocab` → --labels, `detect --labels` → --vocab).
 */
const EQUIVALENT_FLAGS: readonly Readonly<Record<string, string>>[] = [
  { detect: 'vocab', classify: 'labels', mine: 'concepts' },
  { detect: 'vocab-file', classify: 'labels', mine: 'concepts' },
  { detect: 'conf', mine: 'thresh' },
  { detect: 'max-det', classify: 'top-k' },
];

/** The command on the line (the first word that names one). */
function commandOf(argv: readonly string[]): string | undefined {
  return argv.find((a) => !a.startsWith('-') && Object.hasOwn(commandOptions, a));
}

/** Known option names (without dashes) of the command on the line (or the global ones), for suggestions. */
function knownOptions(argv: readonly string[]): string[] {
  const command = commandOf(argv);
  return [...GLOBAL_OPTIONS, ...(command === undefined ? [] : commandOptions[command])];
}

/** The known options that take no value (those that have a `--no-` form), for suggestions. */
function knownBooleanOptions(argv: readonly string[]): string[] {
  const table = COMMAND_TABLES[commandOf(argv) ?? ''] ?? {};
  return knownOptions(argv).filter((name) => GLOBAL_SWITCHES.includes(name) || (Object.hasOwn(table, name) && table[name].type === 'boolean'));
}

/** "unknown option --name (did you mean …?)": a close name, else this command's name for a sibling command's flag. */
function unknownOptionPart(name: string, argv: readonly string[]): string {
  const command = commandOf(argv);
  const group = command === undefined ? undefined : EQUIVALENT_FLAGS.find((g) => g[command] !== undefined && g[command] !== name && Object.entries(g).some(([c, flag]) => c !== command && flag === name));
  if (command !== undefined && group !== undefined) {
    const owner = Object.entries(group).find(([c, flag]) => c !== command && flag === name)![0];
    return `unknown option --${name} (did you mean --${group[command]}? --${name} is ${owner}'s)`;
  }
  const negated = name.startsWith('no-') ? closestMatch(name.slice(3), knownBooleanOptions(argv)) : undefined;
  const suggestion = negated === undefined ? closestMatch(name, knownOptions(argv)) : `no-${negated}`;
  return `unknown option --${name}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`;
}

/** The `--name` options on the line that the command does not know (`--no-x` is known when `x` is). */
function unknownFlagsOn(argv: readonly string[]): string[] {
  if (commandOf(argv) === undefined) return [];
  const known = knownOptions(argv);
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).filter((a) => a.startsWith('--') && a.length > 2).map((a) => a.slice(2).split('=')[0])
    .filter((name) => !known.includes(name) && !(name.startsWith('no-') && known.includes(name.slice(3))));
}

const usageError = (parts: readonly string[]) => new UsageError(`Expected a known command or option but received: ${parts.join('; ')}. Run "regionclip --help" for usage.`);

/**
 * Turns yargs' "Unknown argument(s): …" into one error with a did-you-mean per unknown name; a
 * missing required option next to an unknown one ("classify --vocab") names the unknown one.
 */
export function usageErrorFrom(message: string, argv: string[]): UsageError {
  const text = message.replaceAll(STDIN_TOKEN, '-');
  const unknown = /^Unknown arguments?: (.*)$/.exec(text);
  if (unknown === null) {
    const flags = /^Missing required argument/.test(text) ? unknownFlagsOn(argv) : [];
    return flags.length === 0 ? new UsageError(text) : usageError(flags.map((name) => unknownOptionPart(name, argv)));
  }
  // yargs names an unknown --max-dte twice (max-dte, maxDte): keep the spelling that was typed.
  const listed = unknown[1].split(', ');
  const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const names = listed.filter((name) => kebab(name) === name || !listed.includes(kebab(name)));
  const commandNames = Object.keys(commandOptions);
  return usageError(names.map((name) => {
    if (name === STDIN_INPUT) return `"-" (stdin) where it takes no input (detect and classify read an image from it)`;
    const typed = (flag: string) => argv.includes(flag) || argv.some((a) => a.startsWith(`${flag}=`));
    const asOption = typed(`--${name}`) || argv.includes(`-${name}`) || name.length === 1;
    if (asOption) return unknownOptionPart(name, argv);
    // yargs names a misspelt `--no-regin-ensemble` by what follows "no-": name the flag as typed, and its negation.
    if (typed(`--no-${name}`)) return unknownOptionPart(`no-${name}`, argv);
    const suggestion = closestMatch(name, commandNames);
    return `unknown command "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : `; commands: ${commandNames.join(', ')}`}`;
  }));
}

/** Whether `token` is one of the command's options that takes a value (`--json`, not `--resume` or `--json=x`). */
function takesValue(argv: readonly string[], token: string | undefined): boolean {
  const table = COMMAND_TABLES[commandOf(argv) ?? ''] ?? {};
  const name = token !== undefined && /^--[^=]+$/.test(token) ? token.slice(2) : undefined;
  return name !== undefined && Object.hasOwn(table, name) && table[name].type !== 'boolean';
}

/**
 * A multi-letter option written with one dash ("-vocab"), which yargs would read as -v -o -c -a -b:
 * a usage error suggesting the two-dash option. Groups of the short options (-hV) and negative
 * numbers ("--iou -0.5") are left alone; nothing after "--" is an option.
 */
export function checkSingleDashOptions(argv: readonly string[]): void {
  const end = argv.indexOf('--');
  const parts = (end < 0 ? argv : argv.slice(0, end)).flatMap((token, i) => {
    const match = /^-([A-Za-z][\w-]*)(=.*)?$/.exec(token);
    if (match === null || [...match[1]].every((c) => SHORT_OPTIONS.includes(c))) return [];
    if (takesValue(argv, argv[i - 1])) return [`unknown option ${token} (a value that starts with "-" is written ${argv[i - 1]}=${token})`];
    const known = knownOptions(argv);
    const suggestion = known.includes(match[1]) ? match[1] : closestMatch(match[1], known);
    return [`unknown option -${match[1]} (${suggestion ? `one dash: did you mean --${suggestion}?` : 'long options take two dashes'})`];
  });
  if (parts.length > 0) throw usageError(parts);
}

export function protectStdin(argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((token, i) => {
    if (token !== '-') out.push(token);
    else if (takesValue(argv, argv[i - 1])) out[out.length - 1] = `${argv[i - 1]}=-`;
    else out.push(STDIN_TOKEN);
  });
  return out;
}

/** Puts "-" back where STDIN_TOKEN travelled (the parsed inputs). */
export function restoreStdin(argv: ArgumentsCamelCase): void {
  for (const [key, value] of Object.entries(argv)) {
    if (value === STDIN_TOKEN) argv[key] = STDIN_INPUT;
    else if (Array.isArray(value) && value.includes(STDIN_TOKEN)) argv[key] = value.map((v) => (v === STDIN_TOKEN ? STDIN_INPUT : v));
  }
}
