/**
 * `mine` on many machines, with BullMQ on Redis. The producer (`mineOnQueue`, `regionclip mine
 * --redis`) splits the input into contiguous line ranges and enqueues them as one BullMQ flow: a
 * parent "merge" job whose children are the "range" jobs. `regionclip worker` processes
 * (mine-worker.ts), on any machine that reaches Redis and the shared storage, mine the ranges; when
 * the last range completes, a worker runs the merge, which writes the final output, errors file
 * and checkpoint — byte for byte those of a single-process run. The producer prints the progress
 * of the whole run and its summary.
 *
 * Redis is the one service; the ranges' outputs and checkpoints live on a shared folder the
 * producer names (`workDir`, default `<output>.parts`), with the input, its images and the output.
 *
 * Exactly-once output from at-least-once jobs:
 * - Job ids are deterministic (`range-<run>-<first>-<last>`, `merge-<run>`; the run id hashes the
 *   settings, the input's content and the output), so running the producer again attaches to the
 *   run instead of enqueuing it twice.
 * - A worker holds a lock on its range, renewed every half `lockSeconds`; a worker that dies (or
 *   stops renewing) loses it and the range returns to the queue, where another worker takes it over
 *   from the range's last checkpoint (io/mine-parts.ts: one folder per attempt, seeded from the most
 *   advanced one). Completing a job checks the lock, so only one attempt per range is committed.
 * - A range is mined by mine() with `lines`, so everything a single run guarantees (append-only
 *   files, fsync before checkpoint, truncate on resume) holds per range.
 */
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FlowProducer, Job, Queue, QueueEvents, type ConnectionOptions, type JobsOptions } from 'bullmq';
import {
  ConfigError, HubError, InvalidInputError, IoError, ModelLoadError, ModelRunError, QueueError, RegionClipError, UsageError, expectedMessage,
} from '../errors.js';
import { MINE_DEFAULTS, modelReference, parseRedisUrl, resolveQueueOptions, type RedisAddress } from '../config/options.js';
import { isHubModel } from '../hub/repo.js';
import { captionInputKind } from '../io/captions.js';
import { checkpointPath, errorsPath, readCheckpoint } from '../io/checkpoint.js';
import { formatLineRange, splitInput, type InputRange } from '../io/input-lines.js';
import type { CommittedRange } from '../io/mine-parts.js';
import type { MineFormat } from '../io/mined.js';
import { modelConceptPool } from '../models/detector.js';
import { locateManifest } from '../models/loader.js';
import { selectPrecision } from '../models/manifest.js';
import { checkResumeOrOverwrite, checkRootFolder, exportsOf, mineSettingsHash, minedModelVersion, nothingMined, type MineOptions, type MineSummary } from './mine.js';
import { resolveModelFolder } from '../models/model-source.js';

/** The BullMQ queue every mining job goes to, and the prefix of its Redis keys. */
export const QUEUE_NAME = 'mine';
export const QUEUE_PREFIX = 'regionclip';
/** How long the producer and the worker wait for Redis to answer at start. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Attempts per job (a failure that is not a dead worker: an I/O error, a bug) before the run fails. */
const ATTEMPTS = 3;
const BACKOFF: JobsOptions['backoff'] = { type: 'exponential', delay: 5_000 };
/** Finished jobs are kept a week (they make re-running the producer idempotent), then dropped. */
const KEEP_SECONDS = 7 * 24 * 3600;

/** The mining settings a range job carries: mine()'s options, paths absolute as the producer sees them. */
export type RangeSettings = Pick<MineOptions,
  'input' | 'root' | 'rule' | 'temperature' | 'threshold' | 'floor' | 'objectnessWeight' | 'topK' | 'nms' | 'vote' | 'minScore' | 'proposals' | 'rpnNms' |
  'concepts' | 'templates' | 'strict' | 'queueSize' | 'maxPixels' | 'checkpointLines' | 'checkpointSeconds' | 'dtype'>;

export interface RangeJobData {
  runId: string;
  runDir: string;
  /** The model: a folder (absolute) or `hf:org/name[@rev]`. */
  model: string;
  settings: RangeSettings;
  range: InputRange;
}

export interface MergeJobData {
  runId: string;
  runDir: string;
  output: string;
  /** Exports written from the merged records (as mine() writes them). */
  exports: { format: Exclude<MineFormat, 'jsonl'>; path: string }[];
  /** What the exports need: the images' root (YOLO links) and the model's name (Label Studio's model_version). */
  exportContext: { root: string; modelVersion: string };
  /** Lines of the whole input. */
  lines: number;
  /** mine()'s settings hash for the whole input: the final checkpoint's. */
  settingsHash: string;
  /** Redis key naming the run that owns `output` (a newer run with other settings replaces it). */
  ownerKey: string;
}

/** What the merge job returns. */
export interface MergeResult {
  outputBytes: number;
  errorBytes: number;
  counts: Record<string, number>;
}

/** A range job's progress, as the worker reports it. */
export interface RangeProgress {
  done: number;
  total: number;
  errors: number;
}

export const rangeJobId = (runId: string, range: { first: number; last: number }) => `range-${runId}-${range.first}-${range.last}`;
export const mergeJobId = (runId: string) => `merge-${runId}`;

/** BullMQ's connection options for a parsed Redis URL (commands wait through a Redis restart instead of failing). */
export function connectionFor(address: RedisAddress): ConnectionOptions {
  return {
    host: address.host, port: address.port, db: address.db,
    ...(address.username === undefined ? {} : { username: address.username }),
    ...(address.password === undefined ? {} : { password: address.password }),
    ...(address.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** Waits until `client` (a Queue, Worker, QueueEvents, FlowProducer) talks to Redis. @throws QueueError after CONNECT_TIMEOUT_MS. */
export async function connected(client: { waitUntilReady(): Promise<unknown>; on(event: 'error', listener: (error: Error) => void): unknown }, url: string): Promise<void> {
  let last: Error | undefined;
  client.on('error', (error) => { last = error; });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueError(expectedMessage('a reachable Redis server', url, `no answer within ${CONNECT_TIMEOUT_MS / 1000} s${last === undefined ? '' : ` (${last.message})`}`))), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([client.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes BullMQ clients, each given `ms` to finish (a client that never reached Redis can wait on
 * it forever, e.g. QueueEvents): then its connection is dropped, so the process can exit.
 */
export async function closeAll(clients: readonly { close(): Promise<unknown>; disconnect(): Promise<unknown> | void }[], ms = 5_000): Promise<void> {
  await Promise.allSettled(clients.map(async (client) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolveLate) => { timer = setTimeout(() => resolveLate('late'), ms); });
    const outcome = await Promise.race([client.close().catch(() => undefined), late]);
    clearTimeout(timer);
    if (outcome === 'late') await client.disconnect();
  }));
}

const ERROR_KINDS: Record<string, new (message: string) => RegionClipError> = {
  UsageError, InvalidInputError, ConfigError, ModelLoadError, ModelRunError, IoError, HubError, QueueError,
};

/** A failure as a job records it: "<ErrorName>: <message>", so the producer can rebuild its kind (and exit code). */
export function failureReason(error: unknown): string {
  if (error instanceof RegionClipError) return `${error.name}: ${error.message}`;
  return `Error: ${error instanceof Error ? error.message : String(error)}`;
}

/** The error a job's failure reason describes, with its kind; a reason of no known kind is a QueueError. */
export function errorFromReason(reason: string): RegionClipError {
  const match = /^(\w+): ([\s\S]*)$/.exec(reason);
  const Kind = match === null ? undefined : ERROR_KINDS[match[1]];
  return Kind === undefined || match === null ? new QueueError(`A job of the distributed run failed: ${reason}`) : new Kind(match[2]);
}

/** The options of `mineOnQueue`: mine()'s mining options, plus where the queue and the shared folder are. */
export interface QueueMineOptions extends RangeSettings {
  output: string;
  /** Exports of the merged records (as mine()'s `exports`). */
  exports?: MineOptions['exports'];
  /** A COCO export (as mine()'s `coco`). */
  coco?: string;
  resume?: boolean;
  overwrite?: boolean;
  hub?: MineOptions['hub'];
  /** redis://host:port of the queue. */
  redis: string;
  /** Input lines per job (default 1000). */
  rangeLines?: number;
  /** Folder every worker reaches, for the ranges' outputs and checkpoints (default `<output>.parts`). */
  workDir?: string;
  onProgress?: (state: { done: number; total: number; errors: number; ranges: number; rangesDone: number }) => void;
  /** Notices about the run: attached to an existing run, a range taken over or retried. */
  onNotice?: (message: string) => void;
}

const QUEUE_MINE_KEYS = [
  'input', 'root', 'rule', 'temperature', 'threshold', 'floor', 'objectnessWeight', 'topK', 'nms', 'vote', 'minScore', 'proposals', 'rpnNms', 'concepts',
  'templates', 'strict', 'queueSize', 'maxPixels', 'checkpointLines', 'checkpointSeconds', 'dtype', 'output', 'exports', 'coco', 'resume', 'overwrite', 'hub', 'redis', 'rangeLines', 'workDir', 'onProgress', 'onNotice',
] as const satisfies readonly (keyof QueueMineOptions)[];

/** The run a producer's options describe: its id, folders, ranges and jobs. */
interface RunPlan {
  runId: string;
  runDir: string;
  output: string;
  lines: number;
  ranges: InputRange[];
  merge: MergeJobData;
  rangeData: (range: InputRange) => RangeJobData;
}

async function planRun(model: string | undefined, given: QueueMineOptions, rangeLines: number): Promise<RunPlan> {
  const entries = Object.entries(given).filter(([, value]) => value !== undefined);
  for (const key of ['shard', 'lines']) {
    if (entries.some(([k]) => k === key)) throw new UsageError(expectedMessage(`no --${key} with --redis (the producer splits the input into ranges itself)`, 'mine', `--${key}`));
  }
  checkResumeOrOverwrite(given, 'attach to the run');
  const unknown = entries.map(([k]) => k).filter((k) => !(QUEUE_MINE_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new ConfigError(expectedMessage('known options of a distributed mine', 'the given options', unknown.join(', ')));
  const input = resolve(given.input);
  if (!existsSync(input)) throw new IoError(expectedMessage('an existing JSONL file', given.input, 'a path that does not exist'));
  if ((await captionInputKind(input)) !== 'jsonl') {
    throw new UsageError(expectedMessage('a JSONL input with --redis (ranges are lines)', given.input, 'a COCO-captions document; mine it without --redis, or write one {"file_name", "image_id", "captions"} line per image'));
  }
  const output = resolve(given.output);
  const root = resolve(given.root ?? dirname(input));
  checkRootFolder(root, given.root ?? root);
  const settings: RangeSettings = {
    input, root, rule: given.rule, temperature: given.temperature, threshold: given.threshold, floor: given.floor, objectnessWeight: given.objectnessWeight,
    topK: given.topK, nms: given.nms, vote: given.vote, minScore: given.minScore, proposals: given.proposals, rpnNms: given.rpnNms,
    concepts: given.concepts, templates: given.templates, strict: given.strict, queueSize: given.queueSize, maxPixels: given.maxPixels,
    checkpointLines: given.checkpointLines, checkpointSeconds: given.checkpointSeconds, dtype: given.dtype,
  };
  const exports = exportsOf(given).map((e) => ({ ...e, path: resolve(e.path) }));
  const reference = modelReference(model);
  const modelForWorkers = isHubModel(reference) ? reference : resolve(reference);
  // Workers load the same precision (the range's settings carry it); the hashes name it.
  const loaded = selectPrecision(await locateManifest(await resolveModelFolder(reference, given.hub)), given.dtype);
  const split = await splitInput(input, rangeLines);
  // Validates the mining options as mine() does (same errors), and names the whole run's settings.
  const settingsHash = mineSettingsHash(loaded.modelHash, modelConceptPool(loaded), { ...settings, output, exports }, split.sha256);
  const rule = settings.rule ?? MINE_DEFAULTS.rule;
  const exportContext = { root, modelVersion: minedModelVersion(loaded.dir, rule, loaded.dtype) };
  const runId = createHash('sha256').update(JSON.stringify({ settingsHash, rangeLines, output })).digest('hex').slice(0, 20);
  const runDir = join(resolve(given.workDir ?? `${output}.parts`), runId);
  const ownerKey = `${QUEUE_PREFIX}:${QUEUE_NAME}:output:${createHash('sha256').update(output).digest('hex').slice(0, 32)}`;
  return {
    runId, runDir, output, lines: split.lines, ranges: split.ranges,
    merge: { runId, runDir, output, exports, exportContext, lines: split.lines, settingsHash, ownerKey },
    rangeData: (range) => ({ runId, runDir, model: modelForWorkers, settings, range }),
  };
}

/** Removes a run's jobs from Redis. `own`: refuse while a worker is mining one of them (its files are about to go). */
async function removeRun(queue: Queue, runId: string, own: boolean): Promise<void> {
  const parent = await Job.fromId(queue, mergeJobId(runId));
  if (parent === undefined) return;
  try {
    await parent.remove({ removeChildren: true });
  } catch (error) {
    if (own) throw new UsageError(expectedMessage('no worker mining the run --overwrite replaces', parent.data.output, `workers still mining run ${runId}; wait for them or stop them first`), { cause: error });
    await parent.remove({ removeChildren: false }).catch(() => undefined);
  }
}

/** Makes a failed run retryable: drops its merge job and its failed ranges (re-adding the flow re-creates them; finished ranges are kept). */
async function resetFailedRun(queue: Queue, plan: RunPlan): Promise<void> {
  for (const range of plan.ranges) {
    const job = await Job.fromId(queue, rangeJobId(plan.runId, range));
    if (job !== undefined && (await job.getState()) === 'failed') await job.remove();
  }
  await (await Job.fromId(queue, mergeJobId(plan.runId)))?.remove({ removeChildren: false });
}

/** The error that failed the run: the first failed range's (rebuilt with its kind), else the merge's; its message says how to retry. */
async function runFailure(queue: Queue, plan: RunPlan): Promise<RegionClipError> {
  let failure: RegionClipError | undefined;
  for (const range of plan.ranges) {
    const job = await Job.fromId(queue, rangeJobId(plan.runId, range));
    if (job !== undefined && (await job.getState()) === 'failed') {
      failure = errorFromReason(job.failedReason);
      break;
    }
  }
  failure ??= errorFromReason((await Job.fromId(queue, mergeJobId(plan.runId)))?.failedReason ?? 'the merge job failed');
  failure.message += ` (run ${plan.runId} failed; run the same command with --resume to retry its failed ranges, keeping the finished ones)`;
  return failure;
}

/** A merged run's summary; a run in which every line failed throws the first failure, as mine() does. */
function checkedSummary(summary: MineSummary, plan: RunPlan): MineSummary & { runId: string } {
  if (summary.images === 0 && summary.errors > 0) throw nothingMined(plan.output, summary.errors);
  return { ...summary, runId: plan.runId };
}

/** A summary from the final checkpoint's counts. */
function summaryOf(counts: Record<string, number>): MineSummary {
  return { images: counts.images ?? 0, phrases: counts.phrases ?? 0, labels: counts.labels ?? 0, errors: counts.errors ?? 0, skipped: counts.skipped ?? 0, resumedFrom: 0 };
}

/**
 * Mines `options.input` into `options.output` on the workers of the queue at `options.redis`:
 * enqueues the run (or attaches to it when it is already there), reports progress until the merge
 * has written the output, and returns the summary. Stopping the producer does not stop the run;
 * running it again attaches to it.
 * @throws as mine() for bad options or an existing output; QueueError when Redis cannot be reached;
 *   a failed run's error with its kind (a range's InvalidInputError under `strict`, say).
 */
export async function mineOnQueue(model: string | undefined, given: QueueMineOptions): Promise<MineSummary & { runId: string }> {
  const { rangeLines } = resolveQueueOptions({ rangeLines: given.rangeLines });
  const address = parseRedisUrl(given.redis);
  const plan = await planRun(model, given, rangeLines);
  const outputExists = existsSync(plan.output) || existsSync(checkpointPath(plan.output));
  if (outputExists && !given.resume && !given.overwrite) throw new UsageError(expectedMessage('a new output path, --resume or --overwrite', given.output, 'an existing output'));
  const existingExport = plan.merge.exports.find((e) => existsSync(e.path));
  if (existingExport !== undefined && !given.resume && !given.overwrite) throw new UsageError(expectedMessage('a new output path, --resume or --overwrite', existingExport.path, 'an existing output'));
  const connection = connectionFor(address);
  const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
  const clients: Parameters<typeof closeAll>[0][number][] = [queue];
  try {
    await connected(queue, given.redis);
    // Made once Redis answers (a QueueEvents that never connected cannot be closed).
    const events = new QueueEvents(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    const flow = new FlowProducer({ connection, prefix: QUEUE_PREFIX });
    clients.push(events, flow);
    flow.on('error', () => undefined);
    await connected(events, given.redis);
    const done = await prepareRun(queue, plan, given);
    if (done !== undefined) return checkedSummary(summaryOf(done), plan);
    await flow.add({
      name: 'merge', queueName: QUEUE_NAME, data: plan.merge,
      opts: { jobId: mergeJobId(plan.runId), attempts: ATTEMPTS, backoff: BACKOFF, removeOnComplete: { age: KEEP_SECONDS } },
      children: plan.ranges.map((range) => ({
        name: 'range', queueName: QUEUE_NAME, data: plan.rangeData(range),
        opts: { jobId: rangeJobId(plan.runId, range), attempts: ATTEMPTS, backoff: BACKOFF, failParentOnFailure: true, removeOnComplete: { age: KEEP_SECONDS } },
      })),
    });
    const result = await followRun(queue, events, plan, given);
    return checkedSummary(summaryOf(result.counts), plan);
  } finally {
    await closeAll(clients);
  }
}

/**
 * Makes way for the run: claims the output in Redis (replacing another run's claim only with
 * `overwrite` or when that run is over), starts over (`overwrite`) or retries a failed run
 * (`resume`). Returns the final counts when the run is already merged into the output.
 */
async function prepareRun(queue: Queue, plan: RunPlan, given: QueueMineOptions): Promise<Record<string, number> | undefined> {
  const client = await queue.client;
  const owner = await client.get(plan.merge.ownerKey);
  if (owner !== null && owner !== plan.runId) {
    const state = await queue.getJobState(mergeJobId(owner));
    const over = state === 'completed' || state === 'failed' || state === 'unknown';
    if (!over && !given.overwrite) throw new UsageError(expectedMessage('no other run mining into this output', given.output, `run ${owner} (other settings or input), still in progress; wait for it, or use --overwrite to replace it`));
    await removeRun(queue, owner, false);
  }
  if (given.overwrite) {
    await removeRun(queue, plan.runId, true);
    for (const path of [plan.runDir, plan.output, errorsPath(plan.output), checkpointPath(plan.output)]) rmSync(path, { recursive: true, force: true });
  }
  const state = await queue.getJobState(mergeJobId(plan.runId));
  if (state === 'completed') {
    const final = existsSync(checkpointPath(plan.output)) ? readCheckpoint(plan.output) : undefined;
    if (final?.done && final.settingsHash === plan.merge.settingsHash) {
      given.onNotice?.(`run ${plan.runId} is already merged into ${given.output}`);
      return final.counts;
    }
    await removeRun(queue, plan.runId, true);
  } else if (state === 'failed') {
    if (!given.resume) throw await runFailure(queue, plan);
    given.onNotice?.(`run ${plan.runId}: retrying its failed ranges`);
    await resetFailedRun(queue, plan);
  } else if (state !== 'unknown') {
    given.onNotice?.(`attaching to run ${plan.runId}, already queued`);
  }
  await client.set(plan.merge.ownerKey, plan.runId);
  return undefined;
}

/** Reports the run's progress (events, plus a poll that survives missed ones) until the merge completes or the run fails. */
async function followRun(queue: Queue, events: QueueEvents, plan: RunPlan, given: QueueMineOptions): Promise<MergeResult> {
  const tracked = new Map(plan.ranges.map((range) => [rangeJobId(plan.runId, range), { range, done: 0, errors: 0, complete: false }]));
  const report = () => {
    let done = 0, errors = 0, rangesDone = 0;
    for (const t of tracked.values()) {
      done += t.done;
      errors += t.errors;
      if (t.complete) rangesDone++;
    }
    given.onProgress?.({ done, total: plan.lines, errors, ranges: tracked.size, rangesDone });
  };
  const label = (jobId: string) => `lines ${formatLineRange(tracked.get(jobId)!.range)}`;
  events.on('progress', ({ jobId, data }) => {
    const t = tracked.get(jobId);
    if (t === undefined || t.complete || typeof data !== 'object' || data === null) return;
    const progress = data as Partial<RangeProgress>;
    t.done = progress.done ?? t.done;
    t.errors = progress.errors ?? t.errors;
    report();
  });
  events.on('completed', ({ jobId, returnvalue }) => {
    const t = tracked.get(jobId);
    if (t === undefined) return;
    const committed = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as Partial<CommittedRange> | null;
    Object.assign(t, { complete: true, done: t.range.last - t.range.first + 1, errors: committed?.counts?.errors ?? t.errors });
    report();
  });
  events.on('stalled', ({ jobId }) => {
    if (tracked.has(jobId)) given.onNotice?.(`${label(jobId)}: its worker stopped renewing its lock; another worker takes the range over from its last checkpoint`);
  });
  events.on('failed', ({ jobId, failedReason }) => {
    if (tracked.has(jobId)) given.onNotice?.(`${label(jobId)}: ${failedReason}`);
  });
  // What happened before these events were subscribed to (a producer run again attaches mid-run).
  for (const [jobId, t] of tracked) {
    const job = await Job.fromId(queue, jobId);
    if (job === undefined) continue;
    if (job.finishedOn !== undefined && job.returnvalue !== null && job.returnvalue !== undefined) Object.assign(t, { complete: true, done: t.range.last - t.range.first + 1 });
    else if (typeof job.progress === 'object' && job.progress !== null) Object.assign(t, { done: (job.progress as Partial<RangeProgress>).done ?? 0 });
  }
  report();
  for (;;) {
    const state = await queue.getJobState(mergeJobId(plan.runId));
    if (state === 'completed') {
      const merged = await Job.fromId<MergeJobData, MergeResult>(queue, mergeJobId(plan.runId));
      if (merged === undefined) throw new QueueError(expectedMessage(`the merge job of run ${plan.runId}`, 'the queue', 'none (removed by another producer?)'));
      for (const t of tracked.values()) Object.assign(t, { complete: true, done: t.range.last - t.range.first + 1 });
      report();
      return merged.returnvalue;
    }
    if (state === 'failed') throw await runFailure(queue, plan);
    if (state === 'unknown') throw new QueueError(expectedMessage(`the merge job of run ${plan.runId}`, 'the queue', 'none (removed by another producer\'s --overwrite?)'));
    await new Promise((r) => setTimeout(r, 500));
  }
}
