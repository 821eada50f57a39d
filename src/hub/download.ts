/**
 * One blob into the cache, as `huggingface_hub`'s `http_get` does it (real-weights.md §4): GET
 * into `blobs/<etag>.incomplete`; when a partial file is there, `Range: bytes=<have>-` resumes it
 * (a 200 instead of a 206 means the server ignored the range: start again from byte 0); a stream
 * cut mid-file is resumed at once, up to `settings.retries` times, and otherwise the partial file
 * stays for the next pull. The content is then verified against the etag — sha256 for a 64-hex
 * etag (LFS), the git blob sha1 `sha1("blob <size>\0" + data)` for a 40-hex one — and only then
 * renamed (atomically) to `blobs/<etag>`. A mismatch deletes the partial file.
 *
 * One process at a time downloads a blob: it holds `.locks/<repo folder>/<etag>.lock` (created
 * exclusively, refreshed every 30 s; a lock untouched for 2 minutes is taken as abandoned). A
 * process that finds the lock taken waits, and uses the blob the other one finished.
 */
import { closeSync, existsSync, openSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HubError, IoError, expectedMessage } from '../errors.js';
import type { HubSettings } from './env.js';
import { hubRequest } from './http.js';
import { hashFile } from '../io/files.js';

export { hashFile };

export interface BlobDownload {
  /** The resolve URL, or the CDN location from the HEAD. */
  url: string;
  etag: string;
  size: number;
  /** `blobs/<etag>` in the cache. */
  blobPath: string;
  /** The file, for messages: `onnx/text_model.onnx of org/name@main`. */
  what: string;
  /** `.locks/<repo folder>/<etag>.lock`, held while downloading. */
  lockPath: string;
  /** Bytes of this blob on disk so far (called as chunks arrive). */
  onBytes?: (have: number) => void;
}

const LOCK_REFRESH_MS = 30_000;
const LOCK_STALE_MS = 120_000;

/** Takes the blob's lock, waiting while another process holds a fresh one; returns its release. */
async function acquireLock(lockPath: string): Promise<() => void> {
  await mkdir(dirname(lockPath), { recursive: true });
  for (;;) {
    try {
      closeSync(openSync(lockPath, 'wx'));
      const refresh = setInterval(() => {
        const now = new Date();
        try { utimesSync(lockPath, now, now); } catch { /* released */ }
      }, LOCK_REFRESH_MS);
      refresh.unref();
      return () => {
        clearInterval(refresh);
        rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new IoError(expectedMessage('a writable cache', lockPath, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
    }
    const stat = statSync(lockPath, { throwIfNoEntry: false });
    const age = stat === undefined ? 0 : Date.now() - stat.mtimeMs;
    if (age > LOCK_STALE_MS) rmSync(lockPath, { force: true });
    else await new Promise((done) => setTimeout(done, 100));
  }
}

/** The hash an etag is: sha256 (64 hex), git blob sha1 (40 hex), or none we can check. */
export function etagKind(etag: string): 'sha256' | 'git-sha1' | undefined {
  return /^[0-9a-f]{64}$/.test(etag) ? 'sha256' : /^[0-9a-f]{40}$/.test(etag) ? 'git-sha1' : undefined;
}


const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);

/** Downloads (or finishes) one blob under its lock; returns the bytes fetched over the network. */
export async function downloadBlob(blob: BlobDownload, settings: HubSettings): Promise<number> {
  const release = await acquireLock(blob.lockPath);
  try {
    // Another process may have finished it while this one waited for the lock.
    return existsSync(blob.blobPath) ? 0 : await downloadLocked(blob, settings);
  } finally {
    release();
  }
}

async function downloadLocked(blob: BlobDownload, settings: HubSettings): Promise<number> {
  const partial = `${blob.blobPath}.incomplete`;
  await mkdir(dirname(partial), { recursive: true });
  if (!existsSync(partial) || sizeOf(partial) > blob.size) await writeFile(partial, '');
  let fetched = 0;
  for (let attempt = 0; sizeOf(partial) < blob.size; attempt++) {
    try {
      fetched += await fetchInto(partial, blob, settings);
      if (sizeOf(partial) < blob.size) throw new Error(`the answer ended at byte ${sizeOf(partial)}`);
    } catch (error) {
      if (error instanceof HubError || attempt >= settings.retries) {
        if (error instanceof HubError) throw error;
        throw new HubError(expectedMessage(`${blob.size} bytes`, blob.what, `${sizeOf(partial)} before the download broke off (${(error as Error).message}); run the pull again to resume from ${partial}`), { cause: error });
      }
    }
  }
  await verify(partial, blob);
  await rename(partial, blob.blobPath).catch((error: NodeJS.ErrnoException) => {
    throw new IoError(expectedMessage('a writable cache', blob.blobPath, error.code ?? String(error)), { cause: error });
  });
  return fetched;
}

/** One GET, appended to the partial file (or written from byte 0 when the server ignores the range). */
async function fetchInto(partial: string, blob: BlobDownload, settings: HubSettings): Promise<number> {
  let have = sizeOf(partial);
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;
  const response = await hubRequest(blob.url, settings, { method: 'GET', headers, redirects: 'all', what: blob.what });
  if (have > 0 && response.status !== 206) have = 0; // the range was ignored: start again
  const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
  if (response.status === 206 && Number(start) !== have) {
    await response.body?.cancel();
    throw new HubError(expectedMessage(`content from byte ${have}`, blob.what, `Content-Range ${response.headers.get('content-range')}`));
  }
  // Written synchronously, chunk by chunk: a read is always pending when the connection drops, so
  // every byte received is on disk (an errored web stream discards the chunks still queued).
  const fd = openSync(partial, have > 0 ? 'a' : 'w');
  let fetched = 0;
  try {
    blob.onBytes?.(have);
    for await (const chunk of response.body ?? []) {
      writeSync(fd, chunk);
      fetched += chunk.byteLength;
      blob.onBytes?.(have + fetched);
    }
  } finally {
    closeSync(fd);
  }
  return fetched;
}

async function verify(partial: string, blob: BlobDownload): Promise<void> {
  const size = sizeOf(partial);
  const kind = etagKind(blob.etag);
  const got = size !== blob.size ? `${size} bytes` : kind === undefined ? blob.etag : await hashFile(partial, kind);
  if (got !== blob.etag) {
    await rm(partial, { force: true });
    const what = size !== blob.size ? `${blob.size} bytes` : `${kind} ${blob.etag}`;
    throw new HubError(expectedMessage(what, blob.what, `${got}; the download was deleted`));
  }
}
