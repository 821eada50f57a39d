/**
 * Debian's /usr/bin/python3 with torch, for the tests of the offline tooling in training/ (converters, references):
 * whether it is there (tests skip, saying so, when it is not), and running a script with training/ as the working
 * folder.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const python = '/usr/bin/python3';
export const trainingDir = join(import.meta.dirname, '..', '..', 'training');

const torchCheck = existsSync(python) ? spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }) : undefined;
/** Whether python can import torch and torchvision. */
export const hasTorch = torchCheck?.status === 0;
export const NO_TORCH = `${python} cannot import torch/torchvision (apt-get install -y python3-torch python3-torchvision)`;

/** Runs `python args…` in training/ (2 minutes at most). */
export function py(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(python, args, { encoding: 'utf8', cwd: trainingDir, timeout: 120_000 });
}

/** Runs `python args…` in training/ and returns its stdout; throws with the end of stderr when it fails. */
export function ok(args: string[]): string {
  const run = py(args);
  if (run.status !== 0) throw new Error(`${args.join(' ')} exited with ${run.status}:\n${run.stderr.slice(-3000)}`);
  return run.stdout;
}
