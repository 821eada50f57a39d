/**
 * Typed errors for regionclip.
 *
 * Every error the library throws on purpose is a `RegionClipError`; each subclass names one kind of
 * failure and carries the CLI exit code for it. Messages read the same everywhere:
 *
 *   "Expected <what was expected> for <which argument / field / file> but received <what came>."
 *
 * Build messages with `expectedMessage(what, forWhat, received)` (and `invalidInput(...)` for the
 * common InvalidInputError; `describe(value)` phrases a raw value) so the format stays uniform.
 * The original failure, when there is one, is kept as `cause`.
 */

/** Exit codes of the `regionclip` CLI, one per error kind. 0 is success. */
export const EXIT_CODES = {
  /** An unexpected failure (a bug): anything that is not a RegionClipError. */
  internal: 1,
  /** The command line itself is wrong: unknown command or option, missing argument. */
  usage: 2,
  /** An argument or input value is invalid (bad boxes, thresholds, images, text). */
  invalidInput: 3,
  /** A preset, manifest or `--set` value is invalid. */
  config: 4,
  /** A model could not be loaded or does not match its manifest. */
  modelLoad: 5,
  /** A model failed while running. */
  modelRun: 6,
  /** A file could not be read or written. */
  io: 7,
  /** A download from the Hugging Face Hub failed: network, authentication, not found, integrity, offline. */
  hub: 8,
  /** The job queue of a distributed run failed: Redis unreachable or refusing, or a run's job failed for a reason of no other kind. */
  queue: 9,
  /** Stopped by SIGINT (Ctrl-C) or SIGTERM after saving what it had: `mine` writes its checkpoint first (128 + SIGINT, the shell's convention). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export interface RegionClipErrorOptions {
  cause?: unknown;
}

/** Base class of every error regionclip throws on purpose. */
export class RegionClipError extends Error {
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: ExitCode = EXIT_CODES.internal;

  constructor(message: string, options: RegionClipErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** The command line is wrong (unknown command or option, missing or malformed argument). */
export class UsageError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.usage;
}

/** An input value is invalid: wrong array length, non-finite coordinate, threshold out of range… */
export class InvalidInputError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.invalidInput;
}

/** A configuration (preset, manifest, `--set` override) is invalid. */
export class ConfigError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.config;
}

/** A model could not be loaded, or its graph does not match its manifest. */
export class ModelLoadError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.modelLoad;
}

/** A model failed while running. */
export class ModelRunError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.modelRun;
}

/** A file could not be read or written. */
export class IoError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.io;
}

/**
 * A download from the Hugging Face Hub failed: the Hub answered an error status (`status`, and its
 * `X-Error-Code` header as `errorCode`), the network failed after the retries, a file did not
 * match its hash, or the files are not cached while offline.
 */
export class HubError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.hub;
  readonly status: number | undefined;
  readonly errorCode: string | undefined;

  constructor(message: string, options: RegionClipErrorOptions & { status?: number; errorCode?: string } = {}) {
    super(message, options);
    this.status = options.status;
    this.errorCode = options.errorCode;
  }
}

/** The job queue (Redis, through BullMQ) of a distributed `mine` failed: unreachable, refusing, or a job failed for a reason of no other kind. */
export class QueueError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.queue;
}

/** A run stopped by SIGINT / SIGTERM after it saved its progress (`mine`: a checkpoint that `--resume` continues from). */
export class InterruptedError extends RegionClipError {
  override readonly exitCode = EXIT_CODES.interrupted;
}

/** The one message format: "Expected X for Y but received Z." */
export function expectedMessage(what: string, forWhat: string, received: string): string {
  return `Expected ${what} for ${forWhat} but received ${received}.`;
}

/**
 * An `InvalidInputError` in the one message format. `received` is a phrase such as "length 7";
 * use `describe()` to phrase a raw value.
 */
export function invalidInput(what: string, forWhat: string, received: string, options?: RegionClipErrorOptions): InvalidInputError {
  return new InvalidInputError(expectedMessage(what, forWhat, received), options);
}

/**
 * A short, readable description of a received value for error messages:
 * numbers keep NaN/Infinity, strings are quoted and shortened, arrays show their type and length.
 */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (ArrayBuffer.isView(value)) {
    const length = 'length' in value && typeof value.length === 'number' ? value.length : value.byteLength;
    return `a ${value.constructor.name} of length ${length}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}
