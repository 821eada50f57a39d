import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, formatError } from '../../src/cli/errors.js';
import { ConfigError, EXIT_CODES, HubError, InvalidInputError, IoError, ModelLoadError, ModelRunError, QueueError, RegionClipError, UsageError } from '../../src/index.js';
import { repoRoot } from '../helpers/golden.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('regionclip binary (built dist/)', () => {
  it('is built (npm test builds before testing; run `npm run build` when calling vitest directly)', () => {
    expect(existsSync(bin)).toBe(true);
  });
  it('--help prints usage and exits 0', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('regionclip <command> [options]');
    expect(r.stdout).toContain('--verbose');
  });
  it('--version prints the package version', () => {
    const r = cli('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
  it('rejects an unknown option with a did-you-mean and the usage exit code', () => {
    const r = cli('--verbos');
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown option --verbos (did you mean --verbose?)');
  });
  it('rejects an unknown command', () => {
    const r = cli('frobnicate');
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('error reporting', () => {
  it('maps each error kind to its own exit code', () => {
    const codes = [
      new RegionClipError('x'), new UsageError('x'), new InvalidInputError('x'), new ConfigError('x'),
      new ModelLoadError('x'), new ModelRunError('x'), new IoError('x'), new HubError('x'), new QueueError('x'), new Error('x'),
    ].map(exitCodeFor);
    expect(codes).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 1]);
    expect(new Set(codes.slice(1, 9)).size).toBe(8);
  });
  it('prints one line, or the stack and every cause with --verbose', () => {
    const root = new Error('ENOENT: no such file');
    const error = new ModelLoadError('Expected a readable file for models/tiny/text.onnx but received ENOENT.', { cause: root });
    expect(error.name).toBe('ModelLoadError');
    expect(error.cause).toBe(root);
    expect(formatError(error, false)).toBe('regionclip: Expected a readable file for models/tiny/text.onnx but received ENOENT.');
    const verbose = formatError(error, true);
    expect(verbose).toContain('ModelLoadError: Expected a readable file');
    expect(verbose).toContain('Caused by: Error: ENOENT: no such file');
    expect(formatError(new TypeError('boom'), false)).toMatch(/^regionclip: internal error: boom \(run again with --verbose/);
  });
});
