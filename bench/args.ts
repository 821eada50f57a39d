/** Flag parsing shared by the benchmarks (bench/*.ts). */

/** `--name`'s value as an integer >= 1; throws naming the flag otherwise. */
export function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes an integer >= 1, got ${JSON.stringify(text)}`);
  return n;
}
