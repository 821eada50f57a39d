/**
 * Where a model comes from — the one resolution every loader uses (ClipModel.load,
 * DetectorModel.load, Detector.load, classifyImages, mine): a model reference (config/options
 * `modelReference`: a folder, a name under models/, a preset's model, `hf:org/name[@rev]`, or
 * nothing: the default preset's model, the built-in one) → a folder on disk. A Hub reference
 * resolves to its snapshot in the Hub cache, pulled on first use unless HF_HUB_OFFLINE is set
 * (hub/snapshot.ts `modelSnapshot`). This is the one place a model load may touch the network.
 */
import { modelPathOrHub, modelReference, type HubOptions } from '../config/options.js';
import { isHubModel } from '../hub/repo.js';
import { modelSnapshot } from '../hub/snapshot.js';

/** How a loader finds its model: Hub settings for `hf:org/name` references (default: the HF_* environment variables). */
export interface ModelSourceOptions {
  hub?: HubOptions;
}

/** The folder of one model reference (a path, a name under models/, or `hf:…`). @throws HubError when a Hub model cannot be had. */
export async function resolveModelFolder(model: string, hub: HubOptions = {}): Promise<string> {
  const reference = modelPathOrHub(model);
  return isHubModel(reference) ? modelSnapshot(reference, hub) : reference;
}

/** The model folder for a pipeline: a model folder or name, `hf:…`, a preset naming one, or (undefined) the default preset's. */
export async function resolveModel(modelOrPreset: string | undefined, hub: HubOptions = {}): Promise<string> {
  return resolveModelFolder(modelReference(modelOrPreset), hub);
}
