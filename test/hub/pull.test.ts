/**
 * `pull()` (pipelines/pull.ts → hub/) against the fake Hub on 127.0.0.1: the cache layout, no
 * downloads when cached, resume after a cut stream, a server that ignores Range, a corrupt byte,
 * retries, the token kept from the CDN, offline resolution, and the pulled folder loading as a model.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HubError, UsageError } from '../../src/errors.js';
import { RepoCache } from '../../src/hub/cache.js';
import { parseRepo } from '../../src/hub/repo.js';
import { ClipModel } from '../../src/models/clip.js';
import { pull, type PullOptions } from '../../src/pipelines/pull.js';
import { repoRoot } from '../helpers/golden.js';
import { REPO, sha256, startFakeHub, type FakeHub, type FakeHubOptions } from './fake-hub.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-hub-pull-'));
const hubs: FakeHub[] = [];
afterAll(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  rmSync(scratch, { recursive: true, force: true });
});

let caches = 0;
async function setUp(options: FakeHubOptions = {}) {
  const hub = await startFakeHub(options);
  hubs.push(hub);
  const cacheDir = join(scratch, `cache-${caches++}`);
  const hubOptions = (more: PullOptions['hub'] = {}): PullOptions => ({ cacheDir, hub: { endpoint: hub.endpoint, offline: false, token: 'hf_test', retryDelayMs: 1, ...more } });
  const repoDir = join(cacheDir, 'models--tiny-org--tiny-clip');
  return { hub, cacheDir, repoDir, hubOptions };
}
const SELECTED = ['config.json', 'preprocessor_config.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'onnx/text_model.onnx', 'onnx/vision_model.onnx'];

describe('pull against the fake Hub', () => {
  it('creates blobs, relative snapshot links and refs/main; a second pull downloads nothing', async () => {
    const { hub, repoDir, hubOptions } = await setUp();
    const result = await pull(REPO, hubOptions());
    expect(result.dir).toBe(join(repoDir, 'snapshots', hub.commit));
    expect(result.files.map((f) => f.path)).toEqual(SELECTED);
    expect(readFileSync(join(repoDir, 'refs', 'main'), 'utf8')).toBe(hub.commit);
    expect(readlinkSync(join(result.dir, 'config.json'))).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/);
    expect(readlinkSync(join(result.dir, 'onnx', 'text_model.onnx'))).toBe(`../../../blobs/${sha256(hub.files.get('onnx/text_model.onnx')!)}`);
    for (const path of SELECTED) expect(readFileSync(join(result.dir, path)).equals(hub.files.get(path)!)).toBe(true);
    expect(existsSync(join(result.dir, 'onnx', 'model.onnx'))).toBe(false);
    expect(result.downloadedBytes).toBe(SELECTED.reduce((n, p) => n + hub.files.get(p)!.length, 0));
    // The token goes to the hub, never to the CDN (another origin).
    expect(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_test')).toBe(true);
    expect(hub.requests.filter((r) => r.server === 'cdn').map((r) => r.authorization)).toEqual([undefined, undefined]);

    const before = hub.requests.length;
    const again = await pull(REPO, hubOptions());
    const second = hub.requests.slice(before);
    expect(second.filter((r) => r.method === 'GET').map((r) => r.path)).toEqual([`/api/models/${REPO}/revision/main`]);
    expect(second.filter((r) => r.method === 'HEAD')).toHaveLength(SELECTED.length);
    expect(again.downloadedBytes).toBe(0);
    expect(again.files.every((f) => f.cached)).toBe(true);
  });

  it('resumes a cut download with a Range request (a partial .incomplete is left for the next pull)', async () => {
    const { hub, repoDir, hubOptions } = await setUp({ cut: { after: 50_000, times: 2 } });
    const blob = join(repoDir, 'blobs', sha256(hub.files.get('onnx/text_model.onnx')!));
    await expect(pull(REPO, hubOptions({ retries: 1 }))).rejects.toThrow(/Expected 192198 bytes for onnx\/text_model.onnx of tiny-org\/tiny-clip@main but received 100000 before the download broke off .*; run the pull again to resume/);
    expect(statSync(`${blob}.incomplete`).size).toBe(100_000);
    expect(hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual([undefined, 'bytes=50000-']);
    const result = await pull(REPO, hubOptions({ retries: 1 }));
    expect(hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual([undefined, 'bytes=50000-', 'bytes=100000-', undefined]);
    expect(existsSync(`${blob}.incomplete`)).toBe(false);
    expect(readFileSync(join(result.dir, 'onnx', 'text_model.onnx')).equals(hub.files.get('onnx/text_model.onnx')!)).toBe(true);
  });

  it('starts again from byte 0 when the server ignores Range (200 instead of 206)', async () => {
    const { hub, repoDir, hubOptions } = await setUp({ ignoreRange: true });
    const blob = join(repoDir, 'blobs', sha256(hub.files.get('onnx/vision_model.onnx')!));
    mkdirSync(join(repoDir, 'blobs'), { recursive: true });
    writeFileSync(`${blob}.incomplete`, Buffer.alloc(1000, 7)); // not a prefix of the file: appending would fail the hash
    const result = await pull(REPO, hubOptions());
    expect(hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual([undefined, 'bytes=1000-']);
    expect(readFileSync(join(result.dir, 'onnx', 'vision_model.onnx')).equals(hub.files.get('onnx/vision_model.onnx')!)).toBe(true);
  });

  it('refuses a corrupt byte (sha256 mismatch): no blob and no partial file stay', async () => {
    const { hub, repoDir, hubOptions } = await setUp({ corrupt: 'onnx/vision_model.onnx' });
    const hash = sha256(hub.files.get('onnx/vision_model.onnx')!);
    const error = await pull(REPO, hubOptions()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).message).toMatch(new RegExp(`^Expected sha256 ${hash} for onnx/vision_model.onnx of tiny-org/tiny-clip@main but received [0-9a-f]{64}; the download was deleted\\.$`));
    expect(existsSync(join(repoDir, 'blobs', hash))).toBe(false);
    expect(existsSync(join(repoDir, 'blobs', `${hash}.incomplete`))).toBe(false);
  });

  it('retries a 429 and a 503, then gives up with the status and X-Error-Code', async () => {
    const { hub, hubOptions } = await setUp({ fail: { status: 429, times: 2 } });
    await pull(REPO, hubOptions({ retries: 2 }));
    expect(hub.count('GET', '/api/')).toBe(3);
    const failing = await setUp({ fail: { status: 503, times: 5 } });
    await expect(pull(REPO, failing.hubOptions({ retries: 1 }))).rejects.toThrow('Expected a successful answer from the Hub for the file list of tiny-org/tiny-clip@main but received HTTP 503: try again.');
    expect(failing.hub.count('GET', '/api/')).toBe(2);
  });

  it('offline: resolves refs/main with no request, and says which pull fetches what is missing', async () => {
    const { hub, cacheDir, hubOptions } = await setUp();
    const online = await pull(REPO, hubOptions());
    const before = hub.requests.length;
    const offline = await pull(REPO, hubOptions({ offline: true, endpoint: 'http://127.0.0.1:9' }));
    expect(offline.dir).toBe(online.dir);
    expect(hub.requests.length).toBe(before);
    await expect(pull(REPO, { ...hubOptions({ offline: true }), dtype: 'fp16' })).rejects.toThrow(
      `Expected tiny-org/tiny-clip@main in the Hub cache ${cacheDir} (HF_HUB_OFFLINE is set) for an offline run but received Expected onnx/text_model_fp16.onnx and onnx/vision_model_fp16.onnx (dtype fp16) for the cached tiny-org/tiny-clip@main but received none; dtypes with both towers: fp32; run "regionclip pull tiny-org/tiny-clip --dtype fp16" without HF_HUB_OFFLINE to fetch it.`);
    await expect(pull(REPO, { ...hubOptions({ offline: true }), revision: 'v2' })).rejects.toThrow(/received no .*refs\/v2; run "regionclip pull tiny-org\/tiny-clip --revision v2" without HF_HUB_OFFLINE/);
  });

  it('the pulled fp16 snapshot loads with ClipModel.load and embeds like the fixture folder', async () => {
    const { hubOptions } = await setUp();
    const result = await pull(REPO, { ...hubOptions(), dtype: 'fp16' });
    expect(result.files.map((f) => f.path).filter((p) => p.startsWith('onnx/'))).toEqual(['onnx/text_model_fp16.onnx', 'onnx/vision_model_fp16.onnx']);
    expect(lstatSync(join(result.dir, 'onnx', 'text_model_fp16.onnx')).isSymbolicLink()).toBe(true);
    const pulled = await ClipModel.load(result.dir);
    const fixture = await ClipModel.load(join(repoRoot, 'fixtures', 'models', 'tiny-clip'));
    const texts = ['a photo of a cat.', 'traffic light'];
    const [a, b] = [await pulled.embedTexts(texts), await fixture.embedTexts(texts)];
    expect(a.length).toBe(32);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-6);
    const pixels = { data: Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i)), dims: [1, 3, 32, 32] };
    const [ia, ib] = [await pulled.embedPixels(pixels), await fixture.embedPixels(pixels)];
    expect(ia.length).toBe(16);
    expect(Math.max(...ia.map((v, i) => Math.abs(v - ib[i])))).toBeLessThan(1e-6);
    await Promise.all([pulled.release(), fixture.release()]);
  });

  it('names the 404 and 401 answers', async () => {
    const { hubOptions } = await setUp();
    await expect(pull('tiny-org/nope', hubOptions())).rejects.toThrow('Expected an existing repository you can access (for a private one, set HF_TOKEN or $HF_HOME/token) for the file list of tiny-org/nope@main but received HTTP 404: RepoNotFound: Repository not found.');
    await expect(pull('tiny-org/gated', hubOptions())).rejects.toThrow('Expected access to a gated repository (accept its terms on the Hub, and set HF_TOKEN or $HF_HOME/token) for the file list of tiny-org/gated@main but received HTTP 401: GatedRepo: Access to this model is restricted.');
    await expect(pull(REPO, { ...hubOptions(), revision: 'v9' })).rejects.toThrow('Expected an existing branch, tag or commit for the file list of tiny-org/tiny-clip@v9 but received HTTP 404: RevisionNotFound: Invalid rev id: v9.');
  });

  it('lets concurrent pulls of one repository share the cache: each blob is downloaded once, all succeed', async () => {
    const { hub, hubOptions } = await setUp({ cdnDelayMs: 150 });
    const results = await Promise.all([pull(REPO, hubOptions()), pull(REPO, hubOptions()), pull(REPO, hubOptions())]);
    expect(results).toHaveLength(3);
    expect(new Set(results.map((r) => r.dir)).size).toBe(1);
    for (const path of SELECTED) expect(readFileSync(join(results[0].dir, path)).equals(hub.files.get(path)!)).toBe(true);
    expect(hub.count('GET', '/cdn/', 'cdn')).toBe(2); // text and vision towers, once each
    expect(results.reduce((n, r) => n + r.downloadedBytes, 0)).toBe(SELECTED.reduce((n, p) => n + hub.files.get(p)!.length, 0));
  });

  it('refuses an etag it cannot verify the file by, and revisions or paths that leave the cache', async () => {
    const { hubOptions } = await setUp({ rawEtag: 'not-a-hash' });
    await expect(pull(REPO, hubOptions())).rejects.toThrow('Expected an etag that is a sha256 (LFS) or a git blob sha1, to verify the file by for config.json of tiny-org/tiny-clip@main but received "not-a-hash".');
    expect(() => parseRepo(REPO, '../../etc')).toThrow(UsageError);
    expect(() => parseRepo(REPO, 'refs/pr/1')).not.toThrow();
    const cache = new RepoCache(join(scratch, 'contained'), parseRepo(REPO));
    expect(() => cache.link('0'.repeat(40), '../../../escape.txt', 'a'.repeat(64))).toThrow(HubError);
  });

  it('follows a renamed repository\'s relative redirects with the token, and stops a redirect loop', async () => {
    const { hub, hubOptions } = await setUp({ renamedFrom: 'old-org/tiny-clip', loopingRepo: 'loop-org/loop' });
    const result = await pull('old-org/tiny-clip', hubOptions());
    expect(result.files.map((f) => f.path)).toEqual(SELECTED);
    for (const path of SELECTED) expect(readFileSync(join(result.dir, path)).equals(hub.files.get(path)!)).toBe(true);
    const hubRequests = hub.requests.filter((r) => r.server === 'hub');
    expect(hubRequests.some((r) => r.path.includes('old-org'))).toBe(true);
    expect(hubRequests.every((r) => r.authorization === 'Bearer hf_test')).toBe(true);
    await expect(pull('loop-org/loop', hubOptions())).rejects.toThrow(/at most \d+ redirects/);
  });
});
