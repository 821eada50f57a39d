/**
 * Opening a model folder: read and validate its manifest (or derive one from a Hugging Face CLIP
 * folder), check every file and hash, open every ONNX graph the manifest names and compare it with
 * its entry, build the tokenizer — and report every problem together in one ModelLoadError.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, IoError, ModelLoadError, expectedMessage } from '../errors.js';
import { CheckedSession, type ModelDtype, type SessionOptions } from '../runtime/session.js';
import { ClipTokenizer } from '../text/tokenizer.js';
import { nonFp32Towers, readHuggingFaceClip } from './hf-layout.js';
import { checkFiles, graphsOf, readManifest, selectPrecision, type LoadedManifest } from './manifest.js';

export interface OpenedModel {
  loaded: LoadedManifest;
  tokenizer: ClipTokenizer;
  /** One checked session per graph the manifest names (text, vision, rpn, backbone, head). */
  sessions: Record<string, CheckedSession>;
}

/** Our manifest layout, or a Hugging Face CLIP ONNX folder. */
export async function locateManifest(pathOrDir: string): Promise<LoadedManifest> {
  const dir = resolve(pathOrDir);
  if (pathOrDir.endsWith('.json') || existsSync(join(dir, 'manifest.json'))) return readManifest(pathOrDir);
  if (existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'onnx'))) return readHuggingFaceClip(dir);
  const hubHint = /^[\w.-]+\/[\w.-]+$/.test(pathOrDir) ? ` (a Hugging Face repository? write hf:${pathOrDir})` : '';
  const what = 'a model folder with manifest.json (or a Hugging Face CLIP ONNX folder with config.json and onnx/)';
  // A path that does not exist is a file that cannot be read (exit 7), as for every file a user names.
  if (!existsSync(dir)) throw new IoError(expectedMessage(what, dir, `a path that does not exist${hubHint}`));
  throw new ModelLoadError(expectedMessage(what, dir, 'a folder with neither'));
}

export interface LoadOptions extends SessionOptions {
  /**
   * Weight precision (default fp32): graphs with a `variants.<dtype>` file in the manifest run it, the others
   * their fp32 file (manifest.ts `selectPrecision`). @throws ConfigError when no graph has that variant.
   */
  dtype?: ModelDtype;
}

/** `uses`: the graph roles the caller runs (default all), for `LoadOptions.dtype` (manifest.ts `selectPrecision`). */
export async function openModel(pathOrDir: string, options: LoadOptions = {}, uses?: readonly string[]): Promise<OpenedModel> {
  const located = await locateManifest(pathOrDir);
  const notFp32 = options.dtype === 'fp32' ? nonFp32Towers(located, uses) : [];
  if (notFp32.length > 0) {
    throw new ConfigError(expectedMessage('fp32 towers (onnx/text_model.onnx, onnx/vision_model.onnx)', `--dtype fp32 (${located.dir})`,
      `${notFp32.join(', ')} instead; leave --dtype out to run them, pass their precision, or fetch the fp32 files with regionclip pull`));
  }
  const loaded = selectPrecision(located, options.dtype, uses); // checks the value, as the --dtype flag is checked
  const { manifest } = loaded;
  const problems = await checkFiles(loaded);
  const sessions: Record<string, CheckedSession> = {};
  for (const [role, spec] of graphsOf(manifest)) {
    const file = loaded.graphFiles[role];
    if (problems.some((p) => p.startsWith(`${file}:`))) continue;
    const opened = await CheckedSession.open(resolve(loaded.dir, file), spec, { run: `${manifest.name}/${role}`, check: `graphs.${role} (${file})`, file }, options);
    if (opened.session !== undefined) sessions[role] = opened.session;
    problems.push(...opened.problems);
  }
  let tokenizer: ClipTokenizer | undefined;
  if (problems.length === 0) {
    const t = manifest.tokenizer;
    try {
      tokenizer = t.tokenizerJson !== undefined && (t.vocab === undefined || t.merges === undefined)
        ? ClipTokenizer.fromTokenizerJson(resolve(loaded.dir, t.tokenizerJson), { contextLength: t.contextLength })
        : ClipTokenizer.fromFiles(resolve(loaded.dir, t.vocab!), resolve(loaded.dir, t.merges!), { contextLength: t.contextLength });
    } catch (error) {
      problems.push(`tokenizer: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0 || tokenizer === undefined) {
    await Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
    throw new ModelLoadError(expectedMessage('a model matching its manifest', loaded.path, `${problems.length} problem(s): ${problems.join('; ')}`));
  }
  return { loaded, tokenizer, sessions };
}
