/**
 * The `huggingface_hub` cache layout (`file_download.py`; real-weights.md §4), so a cache filled by
 * `hf download` is read here and ours is read by Python:
 *
 *   <cacheDir>/models--org--name/
 *     blobs/<etag>                       file contents, named by sha256 (LFS) or git-sha1
 *     blobs/<etag>.incomplete            a download in progress (resumed with a Range request)
 *     snapshots/<commit>/<path>          relative symlinks to ../../blobs/<etag> (a copy where links fail)
 *     refs/<revision>                    the commit a branch or tag pointed at, written atomically
 *   <cacheDir>/.locks/models--org--name/<etag>.lock   held while one process downloads that blob
 *
 * Temporary names are unique per process and call, and every write ends in a rename, so processes
 * pulling the same repository at once never see (or clobber) each other's half-written files.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { HubError, IoError, expectedMessage } from '../errors.js';
import { COMMIT_PATTERN, repoFolderName, type RepoRef } from './repo.js';

export class RepoCache {
  /** `<cacheDir>/models--org--name`. */
  readonly dir: string;

  constructor(readonly cacheDir: string, readonly repo: RepoRef) {
    this.dir = join(cacheDir, repoFolderName(repo));
  }

  blobPath(etag: string): string {
    return join(this.dir, 'blobs', etag);
  }

  /** The lock a process holds while it downloads a blob (huggingface_hub's `.locks/<repo folder>/<etag>.lock`). */
  lockPath(etag: string): string {
    return join(this.cacheDir, '.locks', repoFolderName(this.repo), `${etag}.lock`);
  }

  hasBlob(etag: string): boolean {
    return existsSync(this.blobPath(etag));
  }

  snapshotDir(commit: string): string {
    return join(this.dir, 'snapshots', commit);
  }

  /** The commit a revision stands for here: itself when it is one, else `refs/<revision>` (undefined when absent). */
  resolveCommit(revision: string): string | undefined {
    if (COMMIT_PATTERN.test(revision)) return revision;
    const ref = join(this.dir, 'refs', revision);
    return existsSync(ref) ? readFileSync(ref, 'utf8').trim() : undefined;
  }

  /** Points `refs/<revision>` at `commit` (temp file + rename: readers never see half a hash). */
  writeRef(revision: string, commit: string): void {
    if (revision === commit) return;
    const ref = join(this.dir, 'refs', revision);
    guarded(ref, () => {
      mkdirSync(dirname(ref), { recursive: true });
      const tmp = uniqueTemp(ref);
      writeFileSync(tmp, commit);
      renameSync(tmp, ref);
    });
  }

  /** `snapshots/<commit>/<path>` → the blob, as a relative symlink (or a copy where symlinks fail). */
  link(commit: string, path: string, etag: string): void {
    const root = this.snapshotDir(commit);
    const target = join(root, path);
    const inside = relative(root, target);
    // A listed path names a file of the snapshot: one that leaves it (../, absolute) is refused.
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || isAbsolute(path)) {
      throw new HubError(expectedMessage('a file path inside the snapshot', `${repoFolderName(this.repo)}@${commit}`, JSON.stringify(path)));
    }
    const blob = this.blobPath(etag);
    guarded(target, () => {
      mkdirSync(dirname(target), { recursive: true });
      const tmp = uniqueTemp(target);
      try {
        symlinkSync(relative(dirname(target), blob), tmp);
      } catch {
        copyFileSync(blob, tmp);
      }
      renameSync(tmp, target); // replaces an older link atomically
    });
  }

  /** Every file under `snapshots/<commit>/`, as repository paths with `/`. */
  snapshotFiles(commit: string): string[] {
    const root = this.snapshotDir(commit);
    if (!existsSync(root)) return [];
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? walk(path) : existsSync(path) ? [relative(root, path).split('\\').join('/')] : [];
    });
    return walk(root).sort();
  }
}

/** A temporary name beside `path`, unique to this process and call. */
export function uniqueTemp(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

function guarded(path: string, write: () => void): void {
  try {
    write();
  } catch (error) {
    throw new IoError(expectedMessage('a writable cache', path, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
  }
}
