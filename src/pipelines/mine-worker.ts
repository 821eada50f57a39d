/**
 * `regionclip worker`: mines the line ranges a `mine --redis` producer enqueued (mine-queue.ts) and
 * runs a run's merge once its last range is done. Start one per machine (or per GPU) anywhere that
 * reaches Redis and the shared storage; stop it with SIGINT/SIGTERM (its ranges write a checkpoint
 * and go back to the queue) or kill it (they are taken over once its lock expires).
 *
 * A range runs in this process through mine() with `lines`, in its own attempt folder seeded from
 * the range's most advanced checkpoint (io/mine-parts.ts `startAttempt`). The model is loaded once
 * per model reference and kept for the next ranges, with one text encoder, so a phrase is embedded
 * once per worker, not once per range. A lock that could not be renewed (Redis away
 * longer than the lock, the process paused) aborts the range at the next line: another worker owns
 * it now, and this attempt's folder will not be committed.
 */
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, relative } from 'node:path';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { RegionClipError } from '../errors.js';
import { parseRedisUrl, resolveQueueOptions, type HubOptions } from '../config/options.js';
import type { ModelDtype } from '../runtime/dtypes.js';
import { readCheckpoint } from '../io/checkpoint.js';
import { formatLineRange } from '../io/input-lines.js';
import { writeMinedExport } from '../io/mined.js';
import { mergeRanges, rangeFolder, startAttempt, type CommittedRange } from '../io/mine-parts.js';
import { DetectorModel } from '../models/detector.js';
import { ClipTextEncoder } from '../models/text-encoder.js';
import { mine } from './mine.js';
import {
  QUEUE_NAME, QUEUE_PREFIX, closeAll, connected, connectionFor, failureReason, type MergeJobData, type MergeResult, type RangeJobData, type RangeProgress,
} from './mine-queue.js';
import { resolveModelFolder } from '../models/model-source.js';

/** Times a range may be taken over from a worker that died before the run fails (a poison line that kills every worker). */
const MAX_STALLS = 5;
/** A range's progress is sent to Redis at most this often (and at its end). */
const PROGRESS_INTERVAL_MS = 1000;
/** Failures a retry cannot mend: the job fails at once and fails the run. */
const UNRECOVERABLE = new Set(['UsageError', 'ConfigError', 'InvalidInputError']);

export interface MineWorkerOptions {
  /** redis://host:port of the queue. */
  redis: string;
  /** Ranges mined at once in this process (default 1). */
  concurrency?: number;
  /** The lock on a range (default 30 s), renewed every half of it; a worker silent this long loses its range. */
  lockSeconds?: number;
  /** onnxruntime intra-op threads for the models this worker loads. */
  intraOpThreads?: number;
  regionBatchSize?: number;
  /** Text-embedding cache folder (false: none). */
  cacheDir?: string | false;
  hub?: HubOptions;
  /** Aborting stops the worker: ranges in progress write a checkpoint and go back to the queue. */
  signal?: AbortSignal;
  /** What the worker does, one line each: ranges started, resumed, finished; merges; connection trouble. */
  onNotice?: (message: string) => void;
}

/** Runs a worker until `options.signal` aborts; returns how many ranges and merges it completed. @throws QueueError when Redis cannot be reached at start. */
export async function runMineWorker(options: MineWorkerOptions): Promise<{ ranges: number; merges: number }> {
  const { concurrency, lockSeconds } = resolveQueueOptions({ concurrency: options.concurrency, lockSeconds: options.lockSeconds });
  const connection = connectionFor(parseRedisUrl(options.redis));
  const name = `${hostname()}-${process.pid}`;
  const notice = options.onNotice ?? (() => undefined);
  const models = new ModelShelf(options);
  const loadModel = (reference: string, dtype: ModelDtype | undefined) => models.load(reference, dtype);
  const done = { ranges: 0, merges: 0 };
  let stopping = false;
  const lockMs = lockSeconds * 1000;
  const worker = new Worker(QUEUE_NAME, async (job: Job, token?: string, signal?: AbortSignal) => {
    try {
      if (job.name === 'range') {
        const committed = await mineRange(job as Job<RangeJobData>, { name, signal, cacheDir: options.cacheDir, loadModel, notice });
        done.ranges++;
        return committed;
      }
      const merged = await mergeRun(job as Job<MergeJobData>, await worker.client, notice);
      done.merges++;
      return merged;
    } catch (error) {
      if (stopping && signal?.aborted && token !== undefined) {
        // Back to the queue without counting an attempt; the next worker resumes from the checkpoint just written.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const reason = failureReason(error);
      throw error instanceof RegionClipError && UNRECOVERABLE.has(error.name) ? new UnrecoverableError(reason) : new Error(reason);
    }
  }, { connection, prefix: QUEUE_PREFIX, concurrency, lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: MAX_STALLS, name, autorun: false });
  watch(worker, notice);
  try {
    await connected(worker, options.redis);
    const running = worker.run();
    notice(`waiting for ranges on ${options.redis} (worker ${name}, concurrency ${concurrency}, lock ${lockSeconds} s)`);
    await new Promise<void>((resolveStop) => {
      if (options.signal === undefined) return;
      if (options.signal.aborted) resolveStop();
      else options.signal.addEventListener('abort', () => resolveStop(), { once: true });
    });
    stopping = true;
    worker.cancelAllJobs('the worker is stopping');
    await worker.close();
    await running;
  } finally {
    await closeAll([worker]);
    await models.release();
  }
  return done;
}

/** Notices from the worker's events; a lost lock stops that range's attempt (another worker owns the range now). */
function watch(worker: Worker, notice: (message: string) => void): void {
  const said = new Map<string, number>();
  worker.on('error', (error) => {
    // ioredis repeats a connection error on every retry while Redis is away: one line per 10 s.
    const last = said.get(error.message) ?? 0;
    if (Date.now() - last > 10_000) notice(`queue: ${error.message}`);
    said.set(error.message, Date.now());
  });
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const id of jobIds) if (worker.cancelJob(id, 'the lock on this range was lost; another worker owns it now')) notice(`${id}: lock lost; stopping this attempt`);
  });
  worker.on('failed', (job, error) => {
    if (job !== undefined && !(error instanceof WaitingError)) notice(`${job.id}: failed (attempt ${job.attemptsMade}): ${error.message}`);
  });
}

/** The models a worker has loaded, one per model reference and precision, kept for its next ranges. */
class ModelShelf {
  private readonly models = new Map<string, Promise<LoadedModel>>();

  constructor(private readonly options: Pick<MineWorkerOptions, 'hub' | 'intraOpThreads' | 'regionBatchSize' | 'cacheDir'>) {}

  load(reference: string, dtype: ModelDtype = 'fp32'): Promise<LoadedModel> {
    const key = `${dtype}:${reference}`;
    let loaded = this.models.get(key);
    if (loaded === undefined) {
      const { hub, intraOpThreads, regionBatchSize, cacheDir } = this.options;
      loaded = resolveModelFolder(reference, hub)
        .then((dir) => DetectorModel.load(dir, { intraOpThreads, regionBatchSize, dtype }))
        .then((model) => ({ model, textEncoder: new ClipTextEncoder(model.clip, { cacheDir }) }));
      this.models.set(key, loaded);
      loaded.catch(() => this.models.delete(key));
    }
    return loaded;
  }

  async release(): Promise<void> {
    for (const loaded of this.models.values()) await loaded.then(({ model }) => model.release()).catch(() => undefined);
    this.models.clear();
  }
}

/** A model a worker keeps for its ranges, with one text encoder (its in-memory phrase embeddings outlive a range). */
interface LoadedModel {
  model: DetectorModel;
  textEncoder: ClipTextEncoder;
}

interface RangeContext {
  name: string;
  signal: AbortSignal | undefined;
  cacheDir: string | false | undefined;
  loadModel: (reference: string, dtype: ModelDtype | undefined) => Promise<LoadedModel>;
  notice: (message: string) => void;
}

/** Mines one range in a new attempt folder, resuming from the range's best checkpoint; returns what the merge needs. */
async function mineRange(job: Job<RangeJobData>, context: RangeContext): Promise<CommittedRange> {
  const { runDir, range, settings } = job.data;
  const { model, textEncoder } = await context.loadModel(job.data.model, settings.dtype);
  const attempt = startAttempt(rangeFolder(runDir, range), `${Date.now()}-${context.name}`);
  const label = `run ${job.data.runId} lines ${formatLineRange(range)}`;
  context.notice(`${label}: ${attempt.resumesAt === undefined ? 'starting' : `resuming at line ${attempt.resumesAt + 1}`} in ${attempt.dir}`);
  let reported = 0;
  const started = performance.now();
  const summary = await mine(model, {
    ...settings, output: attempt.output, lines: range, resume: true, cacheDir: context.cacheDir, signal: context.signal, textEncoder,
    onProgress: (progress: RangeProgress) => {
      const now = Date.now();
      if (now - reported < PROGRESS_INTERVAL_MS && progress.done < progress.total) return;
      reported = now;
      job.updateProgress({ ...progress }).catch(() => undefined);
    },
  });
  const state = readCheckpoint(attempt.output);
  if (state === undefined || !state.done) throw new Error(`${label}: no final checkpoint in ${attempt.dir}`);
  context.notice(`${label}: done, ${summary.images} image(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { first: range.first, last: range.last, attempt: relative(runDir, attempt.dir), outputBytes: state.outputBytes, errorBytes: state.errorBytes, counts: state.counts };
}

/** Merges a run whose ranges are all done into its output, then removes the run's folder. */
async function mergeRun(job: Job<MergeJobData>, client: Awaited<Worker['client']>, notice: (message: string) => void): Promise<MergeResult> {
  const data = job.data;
  const owner = await client.get(data.ownerKey);
  if (owner !== null && owner !== data.runId) throw new UnrecoverableError(`QueueError: run ${data.runId} no longer owns ${data.output}: run ${owner} replaced it`);
  const parts = Object.values(await job.getChildrenValues<CommittedRange>());
  notice(`run ${data.runId}: merging ${parts.length} range(s) into ${data.output}`);
  const state = mergeRanges(data.runDir, parts, data.output, { settingsHash: data.settingsHash, lines: data.lines });
  for (const e of data.exports) await writeMinedExport(e.format, e.path, data.output, data.exportContext);
  rmSync(data.runDir, { recursive: true, force: true });
  try {
    if (readdirSync(dirname(data.runDir)).length === 0) rmdirSync(dirname(data.runDir));
  } catch {
    // The work folder is shared: another run may be using it.
  }
  return { outputBytes: state.outputBytes, errorBytes: state.errorBytes, counts: state.counts };
}
