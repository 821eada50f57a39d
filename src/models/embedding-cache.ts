/**
 * On-disk cache of text embeddings. Embedding a phrase through a text tower is expensive and pure,
 * so results are kept per (model weights hash, template set, ensembling rule, phrase):
 *
 *   <cacheDir>/text-embeddings/<namespace sha256>/<phrase sha256>.f32   (D float32, little-endian)
 *
 * Writes are atomic (a temporary file in the same folder, then rename), so two processes sharing
 * the cache never see a partial file; a file of the wrong size is treated as a miss and rewritten.
 * The default folder is $XDG_CACHE_HOME/regionclip (or ~/.cache/regionclip).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { IoError, expectedMessage } from '../errors.js';

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME && process.env.XDG_CACHE_HOME.length > 0 ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'regionclip');
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export interface EmbeddingNamespace {
  modelHash: string;
  /** Identifies the template set (its name and a hash of its templates). */
  templates: string;
  /** The ensembling rule. */
  ensemble: string;
  /** Embedding size D. */
  dim: number;
}

export class TextEmbeddingCache {
  private readonly dir: string;
  private created = false;

  constructor(cacheDir: string, private readonly ns: EmbeddingNamespace) {
    const key = sha256(JSON.stringify([ns.modelHash, ns.templates, ns.ensemble, ns.dim]));
    this.dir = join(cacheDir, 'text-embeddings', key);
  }

  private fileOf(phrase: string): string {
    return join(this.dir, `${sha256(phrase)}.f32`);
  }

  /** The cached embedding of `phrase`, or undefined. */
  get(phrase: string): Float32Array | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.fileOf(phrase));
    } catch {
      return undefined;
    }
    if (bytes.length !== 4 * this.ns.dim) return undefined;
    const out = new Float32Array(this.ns.dim);
    for (let i = 0; i < this.ns.dim; i++) out[i] = bytes.readFloatLE(4 * i);
    return out;
  }

  /** Stores `embedding` for `phrase` atomically. @throws IoError naming the folder when it cannot be written. */
  set(phrase: string, embedding: Float32Array): void {
    const file = this.fileOf(phrase);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      if (!this.created) {
        mkdirSync(this.dir, { recursive: true });
        this.created = true;
      }
      const bytes = Buffer.alloc(4 * embedding.length);
      for (let i = 0; i < embedding.length; i++) bytes.writeFloatLE(embedding[i], 4 * i);
      writeFileSync(tmp, bytes);
      renameSync(tmp, file);
    } catch (error) {
      // Best effort: when the folder itself is the problem (a file in its place), removing the
      // temporary file fails too, and that must not hide the error that says why.
      try {
        rmSync(tmp, { force: true });
      } catch {
        // nothing was written
      }
      throw new IoError(expectedMessage('a writable cache folder', this.dir, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
    }
  }
}
