/**
 * A file's metadata from a HEAD on its resolve URL (`get_hf_file_metadata`, real-weights.md §4):
 * commit = `X-Repo-Commit`; etag = `X-Linked-Etag` (an LFS file: the sha256 of its content) or
 * `ETag` (a regular file: its git blob sha1), without `W/` and quotes; size = `X-Linked-Size` or
 * `Content-Length`; location = an absolute `Location` (the CDN URL of an LFS file), else the URL.
 */
import { HubError, expectedMessage } from '../errors.js';
import type { HubSettings } from './env.js';
import { hubRequest } from './http.js';

export interface FileMetadata {
  commit: string;
  etag: string;
  size: number;
  /** Where the content is fetched from (the CDN for LFS files). */
  location: string;
}

/** `W/"abc"` → `abc` (huggingface_hub `_normalize_etag`). */
export function normalizeEtag(etag: string | null): string | undefined {
  if (etag === null) return undefined;
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

export async function fileMetadata(url: string, settings: HubSettings, what: string): Promise<FileMetadata> {
  const response = await hubRequest(url, settings, { method: 'HEAD', headers: { 'accept-encoding': 'identity' }, redirects: 'relative', what });
  const headers = response.headers;
  const commit = headers.get('x-repo-commit') ?? undefined;
  const etag = normalizeEtag(headers.get('x-linked-etag')) ?? normalizeEtag(headers.get('etag'));
  const size = Number(headers.get('x-linked-size') ?? headers.get('content-length'));
  const location = headers.get('location');
  if (commit === undefined || etag === undefined || !Number.isSafeInteger(size) || size < 0) {
    const missing = [commit === undefined && 'X-Repo-Commit', etag === undefined && 'ETag', !(size >= 0) && 'a size'].filter(Boolean).join(', ');
    throw new HubError(expectedMessage('X-Repo-Commit, an ETag and a size in the answer to HEAD', what, `no ${missing} (is HF_ENDPOINT a Hugging Face Hub?)`));
  }
  // The etag names the blob file and is what the content is checked against: only a sha256 or a git sha1 will do.
  if (!/^[0-9a-f]{64}$/.test(etag) && !/^[0-9a-f]{40}$/.test(etag)) {
    throw new HubError(expectedMessage('an etag that is a sha256 (LFS) or a git blob sha1, to verify the file by', what, JSON.stringify(etag.slice(0, 80))));
  }
  return { commit, etag, size, location: location === null ? response.url || url : new URL(location, url).href };
}
