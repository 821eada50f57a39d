/**
 * `regionclip pull`: a Hub repository's files into the `huggingface_hub` cache (hub/snapshot.ts),
 * with the options validated in config/options (`resolvePullOptions`) and the Hub settings from
 * the HF_* environment variables (hub/env.ts). Orchestration only.
 *
 *   pull('Xenova/clip-vit-base-patch32', { dtype: 'fp16' })  → { dir: '…/snapshots/<commit>', files, … }
 */
import { resolvePullOptions, type HubOptions, type PullSettings } from '../config/options.js';
import { hubSettings } from '../hub/env.js';
import { parseRepo } from '../hub/repo.js';
import { downloadSnapshot, type SnapshotEvents, type SnapshotResult } from '../hub/snapshot.js';

export type { SnapshotFile, SnapshotResult } from '../hub/snapshot.js';

export interface PullOptions extends Partial<PullSettings>, SnapshotEvents {
  /** Other Hub settings (endpoint, token, offline, retries); default: the environment. */
  hub?: HubOptions;
}

/** Every PullOptions key (checked complete by the compiler); the Hub settings and callbacks are not schema options. */
const OPTION_KEYS = { revision: true, include: true, dtype: true, cacheDir: true, hub: true, onPlan: true, onBytes: true } satisfies Record<keyof PullOptions, true>;
const OTHER_OPTIONS = Object.keys(OPTION_KEYS);

/**
 * Pulls the selected files of `repo` (`org/name`, `datasets/org/name`, `spaces/org/name`) and
 * returns the snapshot folder and what was fetched. With HF_HUB_OFFLINE set it makes no request and
 * resolves the same files from the cache, or throws a HubError saying they are not there.
 */
export async function pull(repo: string, options: PullOptions = {}): Promise<SnapshotResult> {
  const { revision, include, dtype, cacheDir } = resolvePullOptions(options, OTHER_OPTIONS);
  const settings = hubSettings({ ...options.hub, cacheDir: cacheDir ?? options.hub?.cacheDir });
  return downloadSnapshot(parseRepo(repo, revision), { include, dtype }, settings, options);
}
