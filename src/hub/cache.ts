/**
 * The `huggingface_hub` cache layout (`file_download.py`; real-weights.md §4), so a cache filled by
 * `hf download` is read here and ours is read by Python:
 *
 *   <cacheDir>/models--org--name/
 *     blobs/<etag>                       file contents, named by sha256 (LFS) or git-sha1
 *     blobs/<etag>.incomplete            a download in progress (resumed with a Range request)
 *     snapshots/<commit>/<path>          relative symlinks to ../../blobs/<etag> (a copy where links fail)
 *     refs/<revision>                    the commit a branch or tag pointed at, written atomically
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { IoError, expectedMessage } from '../errors.js';
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
      writeFileSync(`${ref}.tmp`, commit);
      renameSync(`${ref}.tmp`, ref);
    });
  }

  /** `snapshots/<commit>/<path>` → the blob, as a relative symlink (or a copy where symlinks fail). */
  link(commit: string, path: string, etag: string): void {
    const target = join(this.snapshotDir(commit), path);
    const blob = this.blobPath(etag);
    guarded(target, () => {
      mkdirSync(dirname(target), { recursive: true });
      if (isPresent(target)) rmSync(target);
      try {
        symlinkSync(relative(dirname(target), blob), target);
      } catch {
        copyFileSync(blob, target);
      }
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

/** Whether anything (a dangling link included) is at `path`. */
function isPresent(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function guarded(path: string, write: () => void): void {
  try {
    write();
  } catch (error) {
    throw new IoError(expectedMessage('a writable cache', path, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
  }
}
