/** How the CLI reports a failure: one line, a distinct exit code per error kind, detail with --verbose. */
import { EXIT_CODES, RegionClipError } from '../errors.js';

export function exitCodeFor(error: unknown): number {
  return error instanceof RegionClipError ? error.exitCode : EXIT_CODES.internal;
}

/** The text printed for a failure: one line, or with `verbose` the stack and every `cause`. */
export function formatError(error: unknown, verbose: boolean): string {
  const known = error instanceof RegionClipError;
  const message = error instanceof Error ? error.message : String(error);
  const head = known ? `regionclip: ${message}` : `regionclip: internal error: ${message}`;
  if (!verbose) {
    const hint = known ? '' : ' (run again with --verbose for the stack trace, and please report it)';
    return head + hint;
  }
  const lines = [head];
  let current: unknown = error;
  let depth = 0;
  while (current !== undefined && current !== null && depth < 10) {
    if (current instanceof Error) {
      lines.push(depth === 0 ? (current.stack ?? String(current)) : `Caused by: ${current.stack ?? String(current)}`);
      current = (current as Error & { cause?: unknown }).cause;
    } else {
      lines.push(`Caused by: ${String(current)}`);
      current = undefined;
    }
    depth++;
  }
  return lines.join('\n');
}
