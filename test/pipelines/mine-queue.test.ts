import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT_CODES, InvalidInputError, IoError, QueueError, UsageError } from '../../src/errors.js';
import { connected, errorFromReason, failureReason, mergeJobId, rangeJobId } from '../../src/pipelines/mine-queue.js';

afterEach(() => { vi.useRealTimers(); });

describe('the queue of a distributed mine', () => {
  it('a job\'s failure keeps its kind, so the producer exits with the same code as one process would', () => {
    const bad = new InvalidInputError('Expected a JSON object for line 6 but received invalid JSON.');
    expect(failureReason(bad)).toBe('InvalidInputError: Expected a JSON object for line 6 but received invalid JSON.');
    const rebuilt = errorFromReason(failureReason(bad));
    expect(rebuilt).toBeInstanceOf(InvalidInputError);
    expect(rebuilt.message).toBe(bad.message);
    expect(rebuilt.exitCode).toBe(EXIT_CODES.invalidInput);
    expect(errorFromReason(failureReason(new IoError('disk full\nsecond line')))).toEqual(new IoError('disk full\nsecond line'));
    expect(errorFromReason(failureReason(new UsageError('u')))).toBeInstanceOf(UsageError);
    // A bug, or a reason of no known kind: a QueueError (exit 9) that quotes it.
    const bug = errorFromReason(failureReason(new TypeError('x is undefined')));
    expect(bug).toBeInstanceOf(QueueError);
    expect(bug.message).toBe('A job of the distributed run failed: Error: x is undefined');
    expect(errorFromReason('job stalled more than allowable limit').message).toBe('A job of the distributed run failed: job stalled more than allowable limit');
  });

  it('job ids are deterministic and free of ":" (BullMQ refuses it in custom ids)', () => {
    expect(rangeJobId('abc', { first: 1001, last: 2000 })).toBe('range-abc-1001-2000');
    expect(mergeJobId('abc')).toBe('merge-abc');
  });

  it('Redis that does not answer within 10 s is a QueueError naming the URL and the last connection error', async () => {
    vi.useFakeTimers();
    const client = Object.assign(new EventEmitter(), { waitUntilReady: () => new Promise<never>(() => undefined) });
    const waiting = connected(client, 'redis://127.0.0.1:1');
    const outcome = waiting.catch((error: unknown) => error);
    client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:1'));
    await vi.advanceTimersByTimeAsync(10_000);
    const error = await outcome;
    expect(error).toBeInstanceOf(QueueError);
    expect((error as Error).message).toBe('Expected a reachable Redis server for redis://127.0.0.1:1 but received no answer within 10 s (connect ECONNREFUSED 127.0.0.1:1).');
  });
});
