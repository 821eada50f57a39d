/**
 * A fake Hugging Face Hub on 127.0.0.1 for the Hub client's tests: a hub server (resolve URLs,
 * the revision API) and a CDN server on another port (another origin) serving "LFS" files, the way
 * huggingface.co answers (real-weights.md §4):
 *
 *   HEAD|GET /{org}/{name}/resolve/{rev}/{path}   regular file: 200, ETag "<git blob sha1>", X-Repo-Commit
 *                                                  .onnx (LFS): 302 → {cdn}/cdn/<sha256>, X-Linked-Etag, X-Linked-Size
 *   GET /api/models/{org}/{name}/revision/{rev}    { sha, siblings: [{ rfilename }] }
 *   GET {cdn}/cdn/<sha256>                         Range: bytes=N- → 206
 *   errors                                         401 GatedRepo (tiny-org/gated without its token),
 *                                                  404 RepoNotFound / RevisionNotFound / EntryNotFound
 *
 * Behaviours for the failure cases: `cut` (the CDN sends `after` bytes then drops the connection,
 * for its first `times` answers), `ignoreRange` (200 with the whole file), `corrupt` (one byte of a
 * file flipped in transit), `fail` (the API answers an error status `times` times first). It is
 * bounded: after `maxRequests` requests it answers 503, and it closes itself after `lifetimeMs`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../helpers/golden.js';

export interface FakeHubOptions {
  cut?: { after: number; times: number };
  ignoreRange?: boolean;
  /** The CDN waits this long before answering (so concurrent pulls overlap). */
  cdnDelayMs?: number;
  /** Regular files answer with this ETag instead of their git sha1. */
  rawEtag?: string;
  /** An old name of the repository: its URLs answer 307 with a relative Location under the current name. */
  renamedFrom?: string;
  /** A repository whose URLs redirect to themselves, forever. */
  loopingRepo?: string;
  corrupt?: string;
  fail?: { status: number; times: number };
  maxRequests?: number;
  lifetimeMs?: number;
}

export interface RecordedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  authorization?: string;
  range?: string;
}

export const REPO = 'tiny-org/tiny-clip';
export const GATED = 'tiny-org/gated';
export const GATED_TOKEN = 'hf_fake_gated_token';
const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-clip');

/** The fixture repository: tiny-clip in transformers.js layout (fp32 and fp16 towers, the combined graph, configs). */
export function fixtureRepo(): Map<string, Buffer> {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value, null, 2));
  const text = readFileSync(join(tiny, 'text_model.onnx'));
  const vision = readFileSync(join(tiny, 'vision_model.onnx'));
  return new Map<string, Buffer>([
    ['.gitattributes', Buffer.from('*.onnx filter=lfs diff=lfs merge=lfs -text\n')],
    ['README.md', Buffer.from('# tiny-clip\nRandom-weight CLIP towers for tests.\n')],
    ['config.json', json({ _name_or_path: REPO, model_type: 'clip', projection_dim: 16, logit_scale_init_value: 2.6592, text_config: { eos_token_id: 2 }, vision_config: { image_size: 32 } })],
    ['preprocessor_config.json', json({
      crop_size: { height: 32, width: 32 }, do_center_crop: true, do_convert_rgb: true, do_normalize: true, do_rescale: true, do_resize: true,
      image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711], resample: 3,
      rescale_factor: 0.00392156862745098, size: { shortest_edge: 32 },
    })],
    ['tokenizer_config.json', json({ model_max_length: 77, bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', do_lower_case: true, tokenizer_class: 'CLIPTokenizer' })],
    ['special_tokens_map.json', json({ bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', unk_token: '<|endoftext|>' })],
    ['vocab.json', readFileSync(join(tiny, 'vocab.json'))],
    ['merges.txt', readFileSync(join(tiny, 'merges.txt'))],
    ['onnx/text_model.onnx', text],
    ['onnx/vision_model.onnx', vision],
    ['onnx/text_model_fp16.onnx', text],
    ['onnx/vision_model_fp16.onnx', vision],
    ['onnx/model.onnx', Buffer.concat([text, vision])],
  ]);
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
export const gitSha1 = (data: Buffer) => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
const isLfs = (path: string) => path.endsWith('.onnx');

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  readonly files = fixtureRepo();
  readonly commit = createHash('sha1').update([...this.files.entries()].map(([p, d]) => `${p}:${sha256(d)}`).join('\n')).digest('hex');
  endpoint = '';
  cdnOrigin = '';
  private readonly servers: Server[] = [];
  private cuts = 0;
  private failures = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly options: FakeHubOptions = {}) {
    this.timer = setTimeout(() => void this.close(), options.lifetimeMs ?? 120_000);
    this.timer.unref();
  }

  async start(): Promise<this> {
    this.endpoint = await this.listen('hub', (req, res) => this.hub(req, res));
    this.cdnOrigin = await this.listen('cdn', (req, res) => this.cdn(req, res));
    return this;
  }

  /** Requests of one server, method and path prefix (e.g. file GETs: `count('GET', '/tiny-org/tiny-clip/resolve/')`). */
  count(method: string, pathPrefix = '', server?: 'hub' | 'cdn'): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix) && (server === undefined || r.server === server)).length;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await Promise.all(this.servers.map((s) => new Promise<void>((done) => {
      s.closeAllConnections();
      s.close(() => done());
    })));
    this.servers.length = 0;
  }

  private async listen(server: 'hub' | 'cdn', handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    const http = createServer((req, res) => {
      this.requests.push({ server, method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, range: req.headers.range });
      if (this.requests.length > (this.options.maxRequests ?? 300)) return void res.writeHead(503).end('fake hub: request limit reached');
      handle(req, res);
    });
    this.servers.push(http);
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  }

  private hub(req: IncomingMessage, res: ServerResponse): void {
    const url = decodeURIComponent(req.url ?? '');
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const repo = api?.[1] ?? resolve?.[1];
    const revision = api?.[2] ?? resolve?.[2];
    if (repo !== undefined && repo === this.options.renamedFrom) {
      return void res.writeHead(307, { location: (req.url ?? '').replace(encodeURI(repo), REPO) }).end();
    }
    if (repo !== undefined && repo === this.options.loopingRepo) return void res.writeHead(307, { location: req.url ?? '/' }).end();
    if (repo !== REPO && repo !== GATED) return error(res, 404, 'RepoNotFound', 'Repository not found');
    if (repo === GATED && req.headers.authorization !== `Bearer ${GATED_TOKEN}`) return error(res, 401, 'GatedRepo', 'Access to this model is restricted');
    if (revision !== 'main' && revision !== this.commit) return error(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
    if (api !== null) {
      if (this.options.fail !== undefined && this.failures++ < this.options.fail.times) return error(res, this.options.fail.status, undefined, 'try again');
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: repo, sha: this.commit, siblings: [...this.files.keys()].map((rfilename) => ({ rfilename })) }));
    }
    const data = this.files.get(resolve![3]);
    if (data === undefined) return error(res, 404, 'EntryNotFound', 'Entry not found');
    const common = { 'x-repo-commit': this.commit };
    if (isLfs(resolve![3])) {
      return void res.writeHead(302, { ...common, location: `${this.cdnOrigin}/cdn/${sha256(data)}`, etag: `"${gitSha1(Buffer.from(sha256(data)))}"`, 'x-linked-etag': `"${sha256(data)}"`, 'x-linked-size': String(data.length), 'content-length': '0' }).end();
    }
    res.writeHead(200, { ...common, etag: `"${this.options.rawEtag ?? gitSha1(data)}"`, 'content-length': String(data.length) });
    res.end(req.method === 'HEAD' ? undefined : data);
  }

  private cdn(req: IncomingMessage, res: ServerResponse): void {
    if (this.options.cdnDelayMs !== undefined) {
      setTimeout(() => this.cdnAnswer(req, res), this.options.cdnDelayMs);
      return;
    }
    this.cdnAnswer(req, res);
  }

  private cdnAnswer(req: IncomingMessage, res: ServerResponse): void {
    const entry = [...this.files.entries()].find(([, d]) => `/cdn/${sha256(d)}` === req.url);
    if (entry === undefined || req.method !== 'GET') return error(res, 404, undefined, 'no such object');
    let data = entry[1];
    if (this.options.corrupt === entry[0]) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const ranged = req.headers.range !== undefined && !this.options.ignoreRange;
    const body = ranged ? data.subarray(start) : data;
    res.writeHead(ranged ? 206 : 200, { 'content-length': String(body.length), ...(ranged ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}) });
    const cut = this.options.cut;
    if (cut !== undefined && this.cuts < cut.times && body.length > cut.after) {
      this.cuts++;
      return void res.write(body.subarray(0, cut.after), () => res.destroy());
    }
    res.end(body);
  }
}

function error(res: ServerResponse, status: number, code: string | undefined, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', ...(code === undefined ? {} : { 'x-error-code': code, 'x-error-message': message }) });
  res.end(JSON.stringify({ error: message }));
}

export async function startFakeHub(options: FakeHubOptions = {}): Promise<FakeHub> {
  return new FakeHub(options).start();
}
