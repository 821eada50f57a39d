/**
 * `regionclip mine --redis` + `regionclip worker` against a real redis-server (test/helpers/redis.ts):
 * three worker processes, one killed with SIGKILL in the middle of a range, Redis restarted once;
 * the merged output must be byte for byte the single-process run's. The kill is triggered by the
 * checkpoint file the killed worker writes (`--checkpoint-lines 1`), never by a timer.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { repoRoot } from '../helpers/golden.js';
import { redisRequired, redisServerBinary, TestRedis } from '../helpers/redis.js';

const binary = redisServerBinary();
const skip = binary === undefined && !redisRequired;
if (skip) console.warn('test/cli/mine-queue.test.ts skipped: no redis-server (install it, or set REGIONCLIP_REDIS_SERVER; REGIONCLIP_REQUIRE_REDIS=1 turns this skip into a failure)');

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const model = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-queue-'));
const input = join(scratch, 'data', 'captions.jsonl');
const mining = ['--model', model, '--proposals', '20'];
const RANGE = 6;
const read = (path: string) => readFileSync(path, 'utf8');

interface RunningWorker { child: ChildProcess; log: string }
const workers: RunningWorker[] = [];
let redis: TestRedis | undefined;

function startWorker(): RunningWorker {
  const child = spawn(process.execPath, [bin, 'worker', '--redis', redis!.url, '--lock-seconds', '2', '--no-cache', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const worker = { child, log: '' };
  child.stderr!.on('data', (chunk: Buffer) => { worker.log += chunk.toString(); });
  workers.push(worker);
  return worker;
}
const alive = () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
const topUp = (n: number) => { while (alive().length < n) startWorker(); };

/** Runs the producer; `during` is called with its output path while it runs. */
async function produce(out: string, extra: string[], during?: (out: string, done: () => boolean) => Promise<void>): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'mine', input, '--out', out, ...mining, '--redis', redis!.url, '--range-lines', String(RANGE), '--checkpoint-lines', '1', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  let finished = false;
  void exited.then(() => { finished = true; });
  await during?.(out, () => finished);
  return { status: await exited, stderr };
}

/**
 * Waits until one of our workers' attempt checkpoints shows a range with at least one line written
 * and at least three to go, and returns that worker and range (the file the worker writes decides,
 * not a clock). Undefined if the run ended first.
 */
async function midRange(out: string, done: () => boolean, except?: RunningWorker): Promise<{ worker: RunningWorker; first: number; last: number } | undefined> {
  const parts = `${out}.parts`;
  while (!done()) {
    for (const run of existsSync(parts) ? readdirSync(parts) : []) {
      for (const range of readdirSync(join(parts, run), { withFileTypes: true }).filter((d) => d.isDirectory())) {
        const [first, last] = range.name.split('-').map(Number);
        for (const attempt of readdirSync(join(parts, run, range.name))) {
          const worker = alive().find((w) => w !== except && attempt.endsWith(`-${w.child.pid}`));
          const checkpoint = join(parts, run, range.name, attempt, 'out.jsonl.checkpoint.json');
          if (worker === undefined || !existsSync(checkpoint)) continue;
          let state: { nextLine: number; done: boolean };
          try {
            state = JSON.parse(read(checkpoint));
          } catch {
            continue;
          }
          if (!state.done && state.nextLine >= first && state.nextLine <= last - 3) return { worker, first, last };
        }
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

/** Waits until a worker other than `paused` has a checkpoint in range `first`-`last` (it took the range over). */
async function takenOver(out: string, range: { first: number; last: number }, paused: RunningWorker, done: () => boolean): Promise<boolean> {
  while (!done()) {
    for (const run of existsSync(`${out}.parts`) ? readdirSync(`${out}.parts`) : []) {
      const dir = join(`${out}.parts`, run, `${range.first}-${range.last}`);
      const others = existsSync(dir) ? readdirSync(dir).filter((a) => !a.endsWith(`-${paused.child.pid}`)) : [];
      if (others.some((a) => existsSync(join(dir, a, 'out.jsonl.checkpoint.json')))) return true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

describe.skipIf(skip)('regionclip mine --redis with regionclip worker processes (real redis-server)', () => {
  const reference = join(scratch, 'reference.jsonl');

  beforeAll(async () => {
    if (binary === undefined) throw new Error('REGIONCLIP_REQUIRE_REDIS=1 but no redis-server was found (install redis-server or set REGIONCLIP_REDIS_SERVER)');
    mkdirSync(join(scratch, 'data', 'imgs'), { recursive: true });
    mkdirSync(join(scratch, 'redis'));
    const lines: string[] = [];
    for (let i = 0; i < 22; i++) {
      await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: (i * 41) % 255, g: 100, b: 180 - i * 4 } } }).png().toFile(join(scratch, 'data', 'imgs', `i${i}.png`));
      lines.push(JSON.stringify({ image: `imgs/i${i}.png`, caption: i % 2 ? 'a blue circle next to a green triangle' : 'two red squares on the sand', id: i }));
    }
    lines.splice(5, 0, '{not json');
    lines.splice(17, 0, JSON.stringify({ image: 'imgs/missing.png', caption: 'a dog' }));
    writeFileSync(input, `${lines.join('\n')}\n`);
    redis = await TestRedis.start(binary, join(scratch, 'redis'));
    topUp(3);
    const single = spawnSync(process.execPath, [bin, 'mine', input, '--out', reference, ...mining, '--no-cache'], { encoding: 'utf8' });
    expect(single.status).toBe(0);
    expect(single.stderr).toMatch(/mined 22 image\(s\) .* 2 error\(s\)/);
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const expectSameAsSingleProcess = (out: string) => {
    expect(read(out)).toBe(read(reference));
    expect(read(`${out}.errors.jsonl`)).toBe(read(`${reference}.errors.jsonl`));
    expect(read(`${out}.checkpoint.json`)).toBe(read(`${reference}.checkpoint.json`));
    // The merge removed the ranges' folders.
    expect(existsSync(`${out}.parts`)).toBe(false);
  };

  it('3 workers, one killed with SIGKILL mid-range: its range is taken over from its checkpoint; the output is the single-process run\'s', async () => {
    let killed: { worker: RunningWorker; first: number; last: number } | undefined;
    let paused: { worker: RunningWorker; first: number; last: number } | undefined;
    let resumedPausedWorker = false;
    const run = await produce(join(scratch, 'killed.jsonl'), [], async (out, done) => {
      killed = await midRange(out, done);
      killed?.worker.child.kill('SIGKILL');
      // A second worker frozen past its lock (SIGSTOP) until another took its range over, then thawed:
      // it runs on for a while as a zombie, in its own attempt folder, and must spoil nothing.
      paused = await midRange(out, done, killed?.worker);
      if (paused === undefined) return;
      paused.worker.child.kill('SIGSTOP');
      resumedPausedWorker = await takenOver(out, paused, paused.worker, done);
      paused.worker.child.kill('SIGCONT');
    });
    expect(run.stderr).toContain('mined 22 image(s)');
    expect(run.status).toBe(0);
    expect(killed).toBeDefined();
    const { first, last } = killed!;
    // Another worker resumed that range from the dead one's checkpoint, not from its start.
    expect(alive().map((w) => w.log).join('')).toMatch(new RegExp(`lines ${first}:${last}: resuming at line (\\d+)`));
    expect(run.stderr).toContain(`lines ${first}:${last}: its worker stopped renewing its lock`);
    expect(paused).toBeDefined();
    expect(resumedPausedWorker).toBe(true);
    expectSameAsSingleProcess(join(scratch, 'killed.jsonl'));
    // The producer again: the run is found merged, nothing is enqueued twice.
    const again = await produce(join(scratch, 'killed.jsonl'), ['--resume']);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('is already merged into');
    expectSameAsSingleProcess(join(scratch, 'killed.jsonl'));
  }, 90_000);

  it('the same with Redis restarted once mid-run (append-only file on), writing exports (--format labelstudio, --coco) as a single process does', async () => {
    topUp(3);
    const exports = (name: string) => ['--format', 'labelstudio', '--coco', join(scratch, `${name}.coco.json`)];
    const single = spawnSync(process.execPath, [bin, 'mine', input, '--out', join(scratch, 'single.ls.json'), ...exports('single'), ...mining, '--no-cache'], { encoding: 'utf8' });
    expect(single.status, single.stderr).toBe(0);
    let killed: { worker: RunningWorker; first: number; last: number } | undefined;
    const run = await produce(join(scratch, 'restarted.ls.json'), exports('restarted'), async (_out, done) => {
      killed = await midRange(join(scratch, 'restarted.ls.records.jsonl'), done);
      killed?.worker.child.kill('SIGKILL');
      await redis!.restart();
    });
    expect(run.stderr).toContain('mined 22 image(s)');
    expect(run.status).toBe(0);
    expect(killed).toBeDefined();
    expectSameAsSingleProcess(join(scratch, 'restarted.ls.records.jsonl'));
    expect(read(join(scratch, 'restarted.ls.json'))).toBe(read(join(scratch, 'single.ls.json')));
    expect(read(join(scratch, 'restarted.coco.json'))).toBe(read(join(scratch, 'single.coco.json')));
    expect(JSON.parse(read(join(scratch, 'restarted.ls.json')))).toHaveLength(22);
  }, 90_000);

  it('a COCO-captions document is refused with --redis (ranges are lines), before anything is enqueued', async () => {
    const doc = join(scratch, 'data', 'captions.json');
    writeFileSync(doc, JSON.stringify({ images: [{ id: 1, file_name: 'imgs/i0.png' }], annotations: [{ image_id: 1, caption: 'a dog' }] }));
    const r = spawnSync(process.execPath, [bin, 'mine', doc, '--out', join(scratch, 'doc.jsonl'), ...mining, '--redis', redis!.url], { encoding: 'utf8' });
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr.trim()).toBe(`regionclip: Expected a JSONL input with --redis (ranges are lines) for ${doc} but received a COCO-captions document; mine it without --redis, or write one {"file_name", "image_id", "captions"} line per image.`);
  });

  it('a failed range fails the run with its error and exit code; --resume retries it', async () => {
    topUp(2);
    const out = join(scratch, 'strict.jsonl');
    const failed = await produce(out, ['--strict']);
    expect(failed.status).toBe(EXIT_CODES.invalidInput);
    expect(failed.stderr).toMatch(/regionclip: Expected a JSON object for line 6 but received invalid JSON .* \(run [0-9a-f]{20} failed; run the same command with --resume to retry its failed ranges, keeping the finished ones\)/);
    expect(existsSync(out)).toBe(false);
    // The bad lines are not bad under --resume without --strict: the failed ranges resume past them.
    const retried = await produce(out, ['--resume']);
    expect(retried.stderr).toContain('retrying its failed ranges');
    expect(retried.status).toBe(0);
    expectSameAsSingleProcess(out);
  }, 60_000);
});
