/**
 * A revision's files into the cache (`snapshot_download` with allow patterns): list the revision,
 * select the files (select.ts), HEAD each at the listed commit (so every file comes from the same
 * commit), download the blobs not yet cached, link `snapshots/<commit>/<path>`, then point
 * `refs/<revision>` at the commit. Offline (`HF_HUB_OFFLINE`), the same selection is resolved from
 * `refs/<revision>` → `snapshots/<commit>/` with no request at all.
 *
 * `hf:org/name[@rev]` model references use `modelSnapshot`: the cached snapshot when it holds a
 * model (manifest.json, or config.json + onnx/), else a pull of the default selection (fp32 CLIP
 * towers, or every file of a regionclip model), refused with the command to run when offline.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HubError, expectedMessage } from '../errors.js';
import { RepoCache } from './cache.js';
import { downloadBlob } from './download.js';
import { hubSettings, type HubSettings } from './env.js';
import { listRevision } from './listing.js';
import { fileMetadata } from './metadata.js';
import { DEFAULT_REVISION, parseHubModel, repoLabel, resolveUrl, type RepoRef } from './repo.js';
import { selectFiles, type Selection } from './select.js';

export interface SnapshotFile {
  path: string;
  size: number;
  etag: string;
  /** The blob was in the cache before this pull. */
  cached: boolean;
}

export interface SnapshotResult {
  repo: RepoRef;
  commit: string;
  /** `snapshots/<commit>/`: a folder with the selected files. */
  dir: string;
  files: SnapshotFile[];
  /** Bytes fetched over the network by this pull (0 when everything was cached, or offline). */
  downloadedBytes: number;
}

export interface SnapshotEvents {
  /** The files of the pull, once their sizes are known (before any download). */
  onPlan?: (files: readonly SnapshotFile[]) => void;
  /** Bytes of `file` on disk so far. */
  onBytes?: (file: SnapshotFile, have: number) => void;
}

const label = (repo: RepoRef) => `${repoLabel(repo)}@${repo.revision}`;

/** Pulls the selected files of `repo` (offline: resolves them from the cache). */
export async function downloadSnapshot(repo: RepoRef, selection: Selection, settings: HubSettings, events: SnapshotEvents = {}): Promise<SnapshotResult> {
  if (settings.offline) return cachedSnapshot(repo, selection, settings);
  const cache = new RepoCache(settings.cacheDir, repo);
  const { commit, files: listed } = await listRevision(repo, settings);
  const paths = selectFiles(listed, selection, label(repo));
  const planned: (SnapshotFile & { location: string })[] = [];
  for (const path of paths) {
    const meta = await fileMetadata(resolveUrl(settings.endpoint, repo, commit, path), settings, `${path} of ${label(repo)}`);
    planned.push({ path, size: meta.size, etag: meta.etag, cached: cache.hasBlob(meta.etag), location: meta.location });
  }
  const files = planned.map(({ location, ...file }) => file);
  events.onPlan?.(files);
  let downloadedBytes = 0;
  for (const [i, file] of files.entries()) {
    if (!file.cached && !cache.hasBlob(file.etag)) {
      downloadedBytes += await downloadBlob({
        url: planned[i].location, etag: file.etag, size: file.size, blobPath: cache.blobPath(file.etag), lockPath: cache.lockPath(file.etag),
        what: `${file.path} of ${label(repo)}`, onBytes: (have) => events.onBytes?.(file, have),
      }, settings);
    }
    events.onBytes?.(file, file.size);
    cache.link(commit, file.path, file.etag);
  }
  cache.writeRef(repo.revision, commit);
  return { repo, commit, dir: cache.snapshotDir(commit), files, downloadedBytes };
}

/** The command that fetches a repository's selected files, for messages. */
export function pullCommand(repo: RepoRef, selection: Selection = {}): string {
  const revision = repo.revision === DEFAULT_REVISION ? '' : ` --revision ${repo.revision}`;
  const include = selection.include?.length ? ` --include ${selection.include.map((p) => `'${p}'`).join(' ')}` : '';
  const dtype = selection.dtype === undefined ? '' : ` --dtype ${selection.dtype}`;
  return `regionclip pull ${repoLabel(repo)}${revision}${include}${dtype}`;
}

function notCached(repo: RepoRef, settings: HubSettings, why: string, selection: Selection = {}): HubError {
  return new HubError(expectedMessage(`${label(repo)} in the Hub cache ${settings.cacheDir} (HF_HUB_OFFLINE is set)`, 'an offline run', `${why}; run "${pullCommand(repo, selection)}" without HF_HUB_OFFLINE to fetch it`));
}

/** The selection resolved from the cache alone: refs/<revision> → snapshots/<commit>/. */
export function cachedSnapshot(repo: RepoRef, selection: Selection, settings: HubSettings): SnapshotResult {
  const cache = new RepoCache(settings.cacheDir, repo);
  const commit = cache.resolveCommit(repo.revision);
  if (commit === undefined) throw notCached(repo, settings, `no ${join(cache.dir, 'refs', repo.revision)}`, selection);
  const present = cache.snapshotFiles(commit);
  if (present.length === 0) throw notCached(repo, settings, `no files in ${cache.snapshotDir(commit)}`, selection);
  let paths: string[];
  try {
    paths = selectFiles(present, selection, `the cached ${label(repo)}`);
  } catch (error) {
    throw notCached(repo, settings, (error as Error).message.replace(/\.$/, ''), selection);
  }
  return { repo, commit, dir: cache.snapshotDir(commit), files: paths.map((path) => ({ path, size: 0, etag: '', cached: true })), downloadedBytes: 0 };
}

/** Whether a folder holds a model the loader reads (models/loader.ts `locateManifest`). */
const holdsModel = (dir: string) => existsSync(join(dir, 'manifest.json')) || (existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'onnx')));

/**
 * The snapshot folder of `hf:org/name[@rev]`: from the cache when it holds a model (no request),
 * else pulled with the default selection, unless offline.
 */
export async function modelSnapshot(model: string, overrides: Partial<HubSettings> = {}): Promise<string> {
  const repo = parseHubModel(model);
  const settings = hubSettings(overrides);
  const commit = new RepoCache(settings.cacheDir, repo).resolveCommit(repo.revision);
  const cached = commit === undefined ? undefined : new RepoCache(settings.cacheDir, repo).snapshotDir(commit);
  if (cached !== undefined && holdsModel(cached)) return cached;
  if (settings.offline) throw notCached(repo, settings, cached === undefined ? 'nothing cached' : `no model in ${cached}`);
  return (await downloadSnapshot(repo, {}, settings)).dir;
}
