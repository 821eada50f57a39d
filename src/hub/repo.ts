/**
 * Repository names and URLs of the Hugging Face Hub, as `huggingface_hub` spells them
 * (`hf_hub_url`, `repo_folder_name`; real-weights.md §4):
 *
 *   file      {endpoint}/{prefix}{org/name}/resolve/{quote(revision)}/{quote(path)}
 *   listing   {endpoint}/api/{models|datasets|spaces}/{org/name}/revision/{quote(revision)}
 *   cache     {models|datasets|spaces}--{org}--{name}
 *
 * `prefix` is '' for models, 'datasets/' or 'spaces/' otherwise. A model reference on the command
 * line is `hf:org/name[@revision]` (`--model hf:Xenova/clip-vit-base-patch32@main`).
 */
import { UsageError, expectedMessage } from '../errors.js';

export type RepoType = 'model' | 'dataset' | 'space';

export interface RepoRef {
  type: RepoType;
  /** `org/name` (or a bare `name`). */
  id: string;
  /** Branch, tag or 40-hex commit. */
  revision: string;
}

export const DEFAULT_REVISION = 'main';
/** A full commit hash: what snapshots are named by. */
export const COMMIT_PATTERN = /^[0-9a-f]{40}$/;
const PREFIXES: Record<RepoType, string> = { model: '', dataset: 'datasets/', space: 'spaces/' };
const NAME = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/** `org/name`, `datasets/org/name` or `spaces/org/name` (as `regionclip pull` takes it). */
export function parseRepo(text: string, revision: string = DEFAULT_REVISION): RepoRef {
  let type: RepoType = 'model';
  let id = text.trim();
  for (const [kind, prefix] of Object.entries(PREFIXES) as [RepoType, string][]) {
    if (prefix !== '' && id.startsWith(prefix)) {
      type = kind;
      id = id.slice(prefix.length);
    }
  }
  if (!NAME.test(id) || id.includes('--') || id.includes('..')) {
    throw new UsageError(expectedMessage('a Hub repository such as org/name (or datasets/org/name, spaces/org/name)', 'the repository', JSON.stringify(text)));
  }
  if (revision.trim() === '') throw new UsageError(expectedMessage('a branch, tag or commit', `the revision of ${text}`, 'an empty string'));
  // It names a file under refs/: no empty, '.' or '..' segment, no absolute path, no backslash or control character.
  if (revision.split('/').some((s) => s === '' || s === '.' || s === '..') || /[\\\x00-\x1f]/.test(revision)) {
    throw new UsageError(expectedMessage('a branch, tag or commit name', `the revision of ${text}`, JSON.stringify(revision)));
  }
  return { type, id, revision };
}

/** Whether a model reference names a Hub repository (`hf:org/name[@rev]`). */
export function isHubModel(model: string): boolean {
  return model.startsWith('hf:');
}

/** `hf:org/name[@rev]` → the repository and revision (default main). */
export function parseHubModel(model: string): RepoRef {
  const body = model.slice('hf:'.length);
  const at = body.lastIndexOf('@');
  return at < 0 ? parseRepo(body) : parseRepo(body.slice(0, at), body.slice(at + 1));
}

/** How a repository is written in messages and commands: `org/name`, `datasets/org/name`. */
export function repoLabel(repo: RepoRef): string {
  return `${PREFIXES[repo.type]}${repo.id}`;
}

/** The cache folder name: `models--org--name`. */
export function repoFolderName(repo: RepoRef): string {
  return [`${repo.type}s`, ...repo.id.split('/')].join('--');
}

const quotePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export function resolveUrl(endpoint: string, repo: RepoRef, revision: string, path: string): string {
  return `${endpoint}/${PREFIXES[repo.type]}${repo.id}/resolve/${encodeURIComponent(revision)}/${quotePath(path)}`;
}

export function revisionApiUrl(endpoint: string, repo: RepoRef): string {
  return `${endpoint}/api/${repo.type}s/${repo.id}/revision/${encodeURIComponent(repo.revision)}`;
}
