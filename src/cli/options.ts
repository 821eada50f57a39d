/** Parsing helpers shared by CLI commands: numbers are parsed and range-checked, never evaluated. */
import { UsageError, expectedMessage } from '../errors.js';

export function positiveInteger(name: string, value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(expectedMessage('a positive integer', `--${name}`, JSON.stringify(value)));
  return n;
}

export function fraction(name: string, value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!(n >= 0 && n <= 1)) throw new UsageError(expectedMessage('a number in [0, 1]', `--${name}`, JSON.stringify(value)));
  return n;
}
