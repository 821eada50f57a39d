/**
 * Where a pipeline's model comes from: a model reference (config/options `modelReference`: a
 * folder, a name under models/, a preset's model, or `hf:org/name[@rev]`) → a folder on disk. A Hub
 * reference resolves to its snapshot in the Hub cache, pulled on first use unless HF_HUB_OFFLINE is
 * set (hub/snapshot.ts `modelSnapshot`). This is the one place a model load may touch the network.
 */
import { modelPathOrHub, modelReference, type HubOptions } from '../config/options.js';
import { isHubModel } from '../hub/repo.js';
import { modelSnapshot } from '../hub/snapshot.js';

/** The folder of one model reference (a path, a name under models/, or `hf:…`). @throws HubError when a Hub model cannot be had. */
export async function resolveModelFolder(model: string, hub: HubOptions = {}): Promise<string> {
  const reference = modelPathOrHub(model);
  return isHubModel(reference) ? modelSnapshot(reference, hub) : reference;
}

/** The model folder for a pipeline: a model folder or name, `hf:…`, a preset naming one, or (undefined) the default preset's. */
export async function resolveModel(modelOrPreset: string | undefined, hub: HubOptions = {}): Promise<string> {
  return resolveModelFolder(modelReference(modelOrPreset), hub);
}
