/**
 * `regionclip pull` and `--model hf:…` through the built CLI, against the fake Hub on 127.0.0.1
 * (HF_ENDPOINT, HF_HUB_CACHE, HF_TOKEN, $HF_HOME/token and HF_HUB_OFFLINE as a user sets them).
 * The child runs asynchronously so that this process's fake Hub can answer it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { repoRoot } from '../helpers/golden.js';
import { GATED, GATED_TOKEN, REPO, sha256, startFakeHub, type FakeHub } from './fake-hub.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-clip');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-hub-cli-'));
let hub: FakeHub;
let flaky: FakeHub;

interface Run { status: number | null; stdout: string; stderr: string }
/** The CLI with only the Hub variables given (none of the caller's HF_* leak in); killed after 60 s. */
function cli(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HF_|TRANSFORMERS_OFFLINE)/.test(k)));
  const child = spawn(process.execPath, [bin, ...args], { env: { ...base, XDG_CACHE_HOME: join(scratch, 'xdg'), HF_HOME: join(scratch, 'hf-home'), ...env }, timeout: 60_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((done) => child.on('close', (status) => done({ status, stdout, stderr })));
}

beforeAll(async () => {
  hub = await startFakeHub();
  flaky = await startFakeHub({ cut: { after: 40_000, times: 4 } });
  await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 220, g: 20, b: 20 } } }).png().toFile(join(scratch, 'red.png'));
});
afterAll(async () => {
  await Promise.all([hub.close(), flaky.close()]);
  rmSync(scratch, { recursive: true, force: true });
});

describe('regionclip pull', () => {
  const cache = () => join(scratch, 'cache');
  const env = () => ({ HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache() });

  it('pulls into the cache (HF_ENDPOINT honoured), prints the snapshot; a second pull makes no file GET', async () => {
    const first = await cli(env(), 'pull', REPO);
    expect(first.stderr).toMatch(/regionclip: 8 file\(s\) of tiny-org\/tiny-clip@main \(commit [0-9a-f]{12}, \d+\.\d kB\): \d+\.\d kB downloaded, 0 already cached/);
    expect(first.status).toBe(0);
    const snapshot = join(cache(), 'models--tiny-org--tiny-clip', 'snapshots', hub.commit);
    expect(first.stdout).toBe(`${snapshot}\n`);
    expect(hub.count('GET', `/${REPO}/resolve/`) + hub.count('GET', '/cdn/')).toBe(8);
    expect(hub.requests.every((r) => r.authorization === undefined)).toBe(true);
    const files = hub.requests.length;
    const second = await cli(env(), 'pull', REPO);
    expect(second.status).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toContain('0 B downloaded, 8 already cached');
    expect(hub.requests.slice(files).filter((r) => r.method === 'GET').map((r) => r.path)).toEqual([`/api/models/${REPO}/revision/main`]);
  });

  it('HF_HUB_OFFLINE=1: the same snapshot with no request; a clear error when not cached', async () => {
    const before = hub.requests.length;
    const offline = await cli({ ...env(), HF_HUB_OFFLINE: '1' }, 'pull', REPO);
    expect(offline.status).toBe(0);
    expect(offline.stdout).toBe(`${join(cache(), 'models--tiny-org--tiny-clip', 'snapshots', hub.commit)}\n`);
    expect(hub.requests.length).toBe(before);
    const missing = await cli({ ...env(), HF_HUB_CACHE: join(scratch, 'empty'), HF_HUB_OFFLINE: '1' }, 'classify', join(scratch, 'red.png'), '--labels', 'cat', '--model', `hf:${REPO}`);
    expect(missing.status).toBe(EXIT_CODES.hub);
    expect(missing.stderr).toContain(`regionclip: Expected tiny-org/tiny-clip@main in the Hub cache ${join(scratch, 'empty')} (HF_HUB_OFFLINE is set) for an offline run but received nothing cached; run "regionclip pull tiny-org/tiny-clip" without HF_HUB_OFFLINE to fetch it.`);
    expect(hub.requests.length).toBe(before);
  });

  it('--dtype fp16 picks the _fp16 towers; --include takes patterns; a bad dtype is a config error', async () => {
    const cacheDir = join(scratch, 'cache-fp16');
    const r = await cli({ HF_ENDPOINT: hub.endpoint }, 'pull', REPO, '--dtype', 'fp16', '--cache-dir', cacheDir);
    expect(r.status).toBe(0);
    const snapshot = r.stdout.trim();
    expect(existsSync(join(snapshot, 'onnx', 'text_model_fp16.onnx')) && existsSync(join(snapshot, 'onnx', 'vision_model_fp16.onnx'))).toBe(true);
    expect(existsSync(join(snapshot, 'onnx', 'text_model.onnx'))).toBe(false);
    const include = await cli({ HF_ENDPOINT: hub.endpoint }, 'pull', REPO, '--include', 'README.md', '*.txt', '--cache-dir', join(scratch, 'cache-include'));
    expect(include.status).toBe(0);
    expect(readFileSync(join(include.stdout.trim(), 'merges.txt')).equals(readFileSync(join(tiny, 'merges.txt')))).toBe(true);
    const bad = await cli({ HF_ENDPOINT: hub.endpoint }, 'pull', REPO, '--dtype', 'fp8');
    expect(bad.status).toBe(EXIT_CODES.config);
    expect(bad.stderr).toContain('Expected one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4 for pull.dtype (--dtype) but received "fp8".');
  });

  it('404 and 401 give the Hub exit code and say why; HF_TOKEN and $HF_HOME/token reach the hub, not the CDN', async () => {
    const notFound = await cli(env(), 'pull', 'tiny-org/nope');
    expect(notFound.status).toBe(EXIT_CODES.hub);
    expect(notFound.stderr).toContain('received HTTP 404: RepoNotFound');
    const gated = await cli(env(), 'pull', GATED);
    expect(gated.status).toBe(EXIT_CODES.hub);
    expect(gated.stderr).toContain('regionclip: Expected access to a gated repository (accept its terms on the Hub, and set HF_TOKEN or $HF_HOME/token) for the file list of tiny-org/gated@main but received HTTP 401: GatedRepo');
    const before = hub.requests.length;
    const withToken = await cli({ ...env(), HF_HUB_CACHE: join(scratch, 'cache-token'), HF_TOKEN: GATED_TOKEN }, 'pull', GATED);
    expect(withToken.status).toBe(0);
    const seen = hub.requests.slice(before);
    expect(seen.filter((r) => r.server === 'hub').every((r) => r.authorization === `Bearer ${GATED_TOKEN}`)).toBe(true);
    expect(seen.filter((r) => r.server === 'cdn').map((r) => r.authorization)).toEqual([undefined, undefined]);
    const home = join(scratch, 'home-with-token');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'token'), `${GATED_TOKEN}\n`);
    const fromFile = await cli({ ...env(), HF_HOME: home, HF_HUB_CACHE: join(scratch, 'cache-token-file') }, 'pull', GATED);
    expect(fromFile.status).toBe(0);
  });

  it('a pull cut off mid-file exits with the Hub code, keeps the partial file, and the next pull resumes it', async () => {
    const cacheDir = join(scratch, 'cache-resume');
    const partial = join(cacheDir, 'models--tiny-org--tiny-clip', 'blobs', `${sha256(flaky.files.get('onnx/text_model.onnx')!)}.incomplete`);
    const cut = await cli({ HF_ENDPOINT: flaky.endpoint, HF_HUB_CACHE: cacheDir }, 'pull', REPO);
    expect(cut.status).toBe(EXIT_CODES.hub);
    expect(cut.stderr).toContain('run the pull again to resume');
    expect(statSync(partial).size).toBe(160_000);
    const resumed = await cli({ HF_ENDPOINT: flaky.endpoint, HF_HUB_CACHE: cacheDir }, 'pull', REPO);
    expect(resumed.status).toBe(0);
    expect(flaky.requests.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual([undefined, 'bytes=40000-', 'bytes=80000-', 'bytes=120000-', 'bytes=160000-', undefined]);
    expect(existsSync(partial)).toBe(false);
  });
});

describe('--model hf:org/name', () => {
  it('classify pulls on first use and ranks exactly like the fixture folder; then works offline', async () => {
    const env = { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(scratch, 'cache-model') };
    const image = join(scratch, 'red.png');
    const args = ['--labels', 'cat,dog,red car', '--json', '-', '--no-cache'];
    const reference = await cli(env, 'classify', image, ...args, '--model', tiny);
    const first = await cli(env, 'classify', image, ...args, '--model', `hf:${REPO}`);
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)[0].labels).toHaveLength(3);
    expect(JSON.parse(first.stdout)[0].labels).toEqual(JSON.parse(reference.stdout)[0].labels);
    const before = hub.requests.length;
    const offline = await cli({ ...env, HF_HUB_OFFLINE: '1' }, 'classify', image, ...args, '--model', `hf:${REPO}@main`);
    expect(offline.status).toBe(0);
    expect(offline.stdout).toBe(first.stdout);
    expect(hub.requests.length).toBe(before);
  });
});
