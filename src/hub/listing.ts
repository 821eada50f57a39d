/**
 * The files of a revision: `GET /api/{models|datasets|spaces}/{repo}/revision/{revision}` →
 * `{ sha, siblings: [{ rfilename }] }` (huggingface_hub `hf_api.py` repo_info; real-weights.md §4).
 */
import { HubError, expectedMessage } from '../errors.js';
import type { HubSettings } from './env.js';
import { hubRequest } from './http.js';
import { COMMIT_PATTERN, repoLabel, revisionApiUrl, type RepoRef } from './repo.js';

export interface RevisionListing {
  /** The commit the revision points at. */
  commit: string;
  /** Every file path at that commit. */
  files: string[];
}

export async function listRevision(repo: RepoRef, settings: HubSettings): Promise<RevisionListing> {
  const what = `the file list of ${repoLabel(repo)}@${repo.revision}`;
  const response = await hubRequest(revisionApiUrl(settings.endpoint, repo), settings, { method: 'GET', headers: { accept: 'application/json' }, redirects: 'all', what });
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new HubError(expectedMessage('a JSON answer', what, (error as Error).message), { cause: error });
  }
  const { sha, siblings } = (body ?? {}) as { sha?: unknown; siblings?: unknown };
  const files = Array.isArray(siblings) ? siblings.map((s: { rfilename?: unknown } | null) => s?.rfilename) : [];
  if (typeof sha !== 'string' || !COMMIT_PATTERN.test(sha) || !Array.isArray(siblings) || !files.every((f): f is string => typeof f === 'string')) {
    throw new HubError(expectedMessage('{ sha: a 40-hex commit, siblings: [{ rfilename }] }', what, JSON.stringify(body).slice(0, 120)));
  }
  return { commit: sha, files };
}
