/**
 * `regionclip worker --redis redis://host:port`: mines the line ranges `regionclip mine --redis`
 * enqueued, on this machine, until stopped. SIGINT/SIGTERM stops it cleanly (ranges in progress
 * write a checkpoint and go back to the queue); a second signal quits at once.
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { QUEUE_DEFAULTS, parseRuntimeOptions, resolveQueueOptions } from '../../config/options.js';
import { runMineWorker } from '../../pipelines/mine-worker.js';
import { cacheDirFrom, runtimeOptions, type OptionTable } from '../options.js';
import { stopOnSignals } from '../signals.js';

export const workerOptions = {
  redis: { type: 'string', demandOption: true, describe: 'The Redis that `regionclip mine --redis` fills (redis://host:port)' },
  concurrency: { type: 'number', describe: `Ranges mined at once in this process (default ${QUEUE_DEFAULTS.concurrency})` },
  'lock-seconds': { type: 'number', describe: `Lock on a range, renewed every half of it: a worker silent this long loses its range to another (default ${QUEUE_DEFAULTS.lockSeconds})` },
  'cache-dir': runtimeOptions['cache-dir'],
  cache: runtimeOptions.cache,
  threads: runtimeOptions.threads,
} as const satisfies OptionTable;

type WorkerArgs = InferredOptionTypes<typeof workerOptions>;

async function work(argv: ArgumentsCamelCase<WorkerArgs>): Promise<void> {
  resolveQueueOptions({ concurrency: argv.concurrency, lockSeconds: argv.lockSeconds });
  const stop = stopOnSignals(() => 'regionclip worker: stopping; ranges in progress write a checkpoint and go back to the queue (signal again to quit at once)');
  try {
    const done = await runMineWorker({
      redis: argv.redis, concurrency: argv.concurrency, lockSeconds: argv.lockSeconds, intraOpThreads: parseRuntimeOptions({ intraOpThreads: argv.threads }).intraOpThreads, cacheDir: cacheDirFrom(argv),
      signal: stop.signal, onNotice: (message) => console.error(`regionclip worker ${process.pid}: ${message}`),
    });
    console.error(`regionclip worker: stopped after ${done.ranges} range(s) and ${done.merges} merge(s)`);
  } finally {
    stop.dispose();
  }
}

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: 'worker',
  describe: 'Mine the line ranges `regionclip mine --redis` enqueued, until stopped (SIGINT/SIGTERM)',
  builder: (yargs: Argv) => yargs.options(workerOptions),
  handler: work,
};
