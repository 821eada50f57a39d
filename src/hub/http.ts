/**
 * HTTP for the Hub client (Node's fetch), with `huggingface_hub`'s rules (real-weights.md §4):
 * - `Authorization: Bearer <token>` goes to the endpoint's origin only, never to a redirect target
 *   on another origin (the CDN's presigned URLs must not see the token);
 * - redirects are followed by hand: a HEAD follows only relative ones (an absolute `Location` is the
 *   CDN URL, kept as metadata), a GET follows all, at most MAX_REDIRECTS;
 * - 408, 429 and 5xx answers and network failures are retried `settings.retries` times with
 *   doubling delays (a `Retry-After` of up to 10 s is honoured);
 * - other error statuses become a `HubError` read from the status and the `X-Error-Code` header.
 */
import { HubError, expectedMessage } from '../errors.js';
import type { HubSettings } from './env.js';

export const MAX_REDIRECTS = 5;
const RETRY_AFTER_CAP_MS = 10_000;

export interface RequestOptions {
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** HEAD: 'relative' (the CDN location is metadata); GET: 'all'. */
  redirects: 'relative' | 'all';
  /** What is being fetched, for messages: `onnx/text_model.onnx of org/name@main`. */
  what: string;
}

export const isRetryable = (status: number) => status === 408 || status === 429 || status >= 500;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function retryDelay(response: Response | undefined, attempt: number, settings: HubSettings): number {
  const after = Number(response?.headers.get('retry-after'));
  if (Number.isFinite(after) && after > 0) return Math.min(after * 1000, RETRY_AFTER_CAP_MS);
  return settings.retryDelayMs * 2 ** attempt;
}

function headersFor(url: string, settings: HubSettings, extra: Record<string, string> = {}): Record<string, string> {
  const sameOrigin = new URL(url).origin === new URL(settings.endpoint).origin;
  return settings.token !== undefined && sameOrigin ? { ...extra, authorization: `Bearer ${settings.token}` } : { ...extra };
}

/** One request, retried on 408/429/5xx and network failures; the last answer or failure is returned/thrown. */
async function fetchRetrying(url: string, options: RequestOptions, settings: HubSettings): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let response: Response | undefined;
    try {
      response = await fetch(url, { method: options.method, headers: headersFor(url, settings, options.headers), redirect: 'manual' });
      if (!isRetryable(response.status) || attempt >= settings.retries) return response;
      await response.body?.cancel();
    } catch (error) {
      if (attempt >= settings.retries) {
        throw new HubError(expectedMessage(`a connection to ${new URL(url).origin}`, options.what, `${causeChain(error)} after ${attempt + 1} attempt(s)`), { cause: error });
      }
    }
    await sleep(retryDelay(response, attempt, settings));
  }
}

/** A request with the redirect rules above; error statuses throw (see `statusError`). */
export async function hubRequest(url: string, settings: HubSettings, options: RequestOptions): Promise<Response> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await fetchRetrying(current, options, settings);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) {
      if (!response.ok) throw await statusError(response, options.what);
      return response;
    }
    const relative = !/^[a-z][a-z0-9+.-]*:|^\/\//i.test(location);
    if (options.redirects === 'relative' && !relative) return response;
    await response.body?.cancel();
    current = new URL(location, current).href;
  }
  throw new HubError(expectedMessage(`at most ${MAX_REDIRECTS} redirects`, options.what, `more, the last to ${current}`));
}

/** What an error code means, as the Hub names it in `X-Error-Code`. */
const EXPECTED_BY_CODE: Record<string, string> = {
  RepoNotFound: 'an existing repository you can access (for a private one, set HF_TOKEN or $HF_HOME/token)',
  RevisionNotFound: 'an existing branch, tag or commit',
  EntryNotFound: 'a file that exists at this revision',
  GatedRepo: 'access to a gated repository (accept its terms on the Hub, and set HF_TOKEN or $HF_HOME/token)',
};

/** A HubError for an error answer: status, `X-Error-Code` and the Hub's own message. */
export async function statusError(response: Response, what: string): Promise<HubError> {
  const errorCode = response.headers.get('x-error-code') ?? undefined;
  const serverMessage = response.headers.get('x-error-message') ?? bodyMessage(await response.text().catch(() => ''));
  const expected = (errorCode !== undefined ? EXPECTED_BY_CODE[errorCode] : undefined)
    ?? (response.status === 401 || response.status === 403 ? 'access (set HF_TOKEN or $HF_HOME/token)' : response.status === 404 ? 'something that exists' : 'a successful answer from the Hub');
  const received = [`HTTP ${response.status}`, errorCode, serverMessage].filter((s) => s !== undefined && s !== '').join(': ');
  return new HubError(expectedMessage(expected, what, received), { status: response.status, errorCode });
}

/** The Hub's error body is `{"error": "…"}`; anything else is shown shortened. */
function bodyMessage(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && 'error' in parsed && typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: shown as it is
  }
  return text.slice(0, 200).trim();
}

/** "fetch failed (getaddrinfo ENOTFOUND huggingface.co)": Node's fetch hides the network reason in `cause`. */
function causeChain(error: unknown): string {
  const message = (error as Error).message;
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  const reason = cause?.message ?? cause?.code;
  return reason === undefined || reason === message ? message : `${message} (${reason})`;
}
