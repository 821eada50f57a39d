/**
 * `regionclip pull <org/name> [--revision main] [--include glob…] [--dtype fp16] [--cache-dir DIR]`:
 * a Hub repository's files into the `huggingface_hub` cache, with a progress bar (bytes) and a
 * summary on stderr and the snapshot folder on stdout (for `--model`, or `$(regionclip pull …)`).
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { DTYPES, resolvePullOptions } from '../../config/options.js';
import { pull, type SnapshotFile } from '../../pipelines/pull.js';
import { quietOption, type OptionTable } from '../options.js';
import { Progress, formatBytes, progressMode } from '../progress.js';

export const pullOptions = {
  revision: { type: 'string', describe: 'Branch, tag or commit (default main)' },
  include: { type: 'string', array: true, describe: 'Only the files matching these patterns (fnmatch: * matches across folders), instead of the default selection' },
  dtype: { type: 'string', describe: `Which ONNX towers of a transformers.js CLIP repository: ${DTYPES.join(' | ')} (default fp32)` },
  'cache-dir': { type: 'string', describe: 'Hub cache folder (default $HF_HUB_CACHE, or $HF_HOME/hub)' },
  ...quietOption,
} as const satisfies OptionTable;

type PullArgs = { repo: string } & InferredOptionTypes<typeof pullOptions>;

async function pullCommandHandler(argv: ArgumentsCamelCase<PullArgs>): Promise<void> {
  const options = resolvePullOptions({ revision: argv.revision, include: argv.include, dtype: argv.dtype, cacheDir: argv.cacheDir });
  const started = performance.now();
  let progress: Progress | undefined;
  let done = 0;
  const seen = new Map<string, number>();
  const result = await pull(argv.repo, {
    ...options,
    onPlan: (files: readonly SnapshotFile[]) => {
      progress = new Progress({ label: 'pull', total: files.reduce((n, f) => n + (f.cached ? 0 : f.size), 0), unit: 'bytes', mode: progressMode(argv) });
    },
    onBytes: (file, have) => {
      if (file.cached) return;
      done += have - (seen.get(file.path) ?? 0);
      seen.set(file.path, have);
      progress?.update(done);
    },
  });
  progress?.finish();
  const cached = result.files.filter((f) => f.cached).length;
  const total = result.files.reduce((n, f) => n + f.size, 0);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  console.error(`regionclip: ${result.files.length} file(s) of ${argv.repo}@${options.revision} (commit ${result.commit.slice(0, 12)}${total > 0 ? `, ${formatBytes(total)}` : ''}): ${formatBytes(result.downloadedBytes)} downloaded, ${cached} already cached, ${seconds} s`);
  console.log(result.dir);
}

export const pullCommand: CommandModule<object, PullArgs> = {
  command: 'pull <repo>',
  describe: 'Download a Hugging Face Hub repository\'s files into the Hub cache (models--org--name/snapshots/<commit>)',
  builder: (yargs: Argv) =>
    yargs
      .positional('repo', { type: 'string', demandOption: true, describe: 'org/name (or datasets/org/name, spaces/org/name)' })
      .options(pullOptions)
      .example('$0 pull Xenova/clip-vit-base-patch32 --dtype fp16', '')
      .example('$0 pull spaces/CVPR/regionclip-demo --include regionclip_r50x4.pth', ''),
  handler: pullCommandHandler,
};
