/**
 * `mine` at scale: peak RSS of one process over 1k and 10k input lines (streaming: it should not
 * grow with the input), and images/s of `regionclip worker` processes, 1 vs 2, on one Redis (a
 * redis-server of the bench's own, as the tests start it).
 *
 * The input repeats the world fixtures (fixtures/world: 3 caption lines and 60 single-object images,
 * captioned "a photo of a <label>"), each line with its own id.
 * Run: npx tsc -p tsconfig.build.json && npx tsx bench/mine-scale.ts [--model DIR] [--proposals N]
 *      [--rss-lines 1000,10000 ("" to skip)] [--worker-lines 400] [--threads N]
 *   (default: the tiny fixture detector, 30 proposals; --model models/world-rn-small for the built-in model)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisServerBinary, TestRedis } from '../test/helpers/redis.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'dist', 'cli', 'main.js');
const world = join(root, 'fixtures', 'world');
const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const model = flag('model', join(root, 'fixtures', 'models', 'tiny-detector-features'));
const proposals = flag('proposals', '30');
const rssLines = flag('rss-lines', '1000,10000').split(',').filter((n) => n !== '').map(Number);
const workerLines = Number(flag('worker-lines', '400'));
const threads = args.includes('--threads') ? ['--threads', flag('threads', '1')] : [];
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-mine-scale-'));
const mining = ['--model', model, '--proposals', proposals, '--root', world, '--no-cache'];

/** `n` lines repeating the world fixtures, each with its own id. */
function input(n: number): string {
  const base = [
    ...readFileSync(join(world, 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: string; caption: string }),
    ...readFileSync(join(world, 'singles.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: string; label: string }).map((s) => ({ image: s.image, caption: `a photo of a ${s.label}` })),
  ];
  const path = join(scratch, `input-${n}.jsonl`);
  writeFileSync(path, Array.from({ length: n }, (_, i) => `${JSON.stringify({ id: i + 1, image: base[i % base.length].image, caption: base[i % base.length].caption })}\n`).join(''));
  return path;
}

/** Runs the CLI with a preload that prints the process's peak RSS at exit; returns seconds, peak RSS (MB) and stderr. */
function measured(cliArgs: string[]): { seconds: number; rssMb: number; stderr: string } {
  const reporter = join(scratch, 'rss.mjs');
  writeFileSync(reporter, "process.on('exit', () => process.stderr.write(`\\nmaxrss_kb=${process.resourceUsage().maxRSS}\\n`));\n");
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', reporter, bin, ...cliArgs], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`regionclip ${cliArgs.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  const kb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1]);
  return { seconds, rssMb: kb / 1024, stderr: r.stderr };
}

const imagesOf = (stderr: string) => Number(/mined (\d+) image/.exec(stderr)?.[1]);

console.log(`regionclip mine at scale — node ${process.version}, ${cpus().length} CPU(s), model ${model}, ${proposals} proposals${threads.length ? `, --threads ${threads[1]}` : ''}`);
console.log('\none process: peak RSS against the input size');
console.log('lines\tseconds\timages/s\tpeak RSS MB');
for (const n of rssLines) {
  const run = measured(['mine', input(n), '--out', join(scratch, `single-${n}.jsonl`), ...mining, ...threads]);
  const images = imagesOf(run.stderr);
  console.log(`${n}\t${run.seconds.toFixed(1)}\t${(images / run.seconds).toFixed(2)}\t${run.rssMb.toFixed(1)}`);
}

const redisBinary = redisServerBinary();
if (redisBinary === undefined) {
  console.log('\nno redis-server: the worker comparison is skipped');
} else {
  mkdirSync(join(scratch, 'redis'));
  const redis = await TestRedis.start(redisBinary, join(scratch, 'redis'));
  const path = input(workerLines);
  const warmup = input(8);
  console.log(`\nworkers on one Redis: ${workerLines} lines in ranges of 50; timed from the producer's start to its summary (models loaded by a warm-up run)`);
  console.log('workers\tseconds\timages/s\tpeak RSS MB per worker');
  try {
    for (const count of [1, 2]) {
      const reporter = join(scratch, 'rss.mjs');
      const workers = Array.from({ length: count }, () => {
        const child = spawn(process.execPath, ['--import', reporter, bin, 'worker', '--redis', redis.url, '--no-cache', ...threads], { stdio: ['ignore', 'ignore', 'pipe'] });
        let log = '';
        child.stderr.on('data', (chunk: Buffer) => { log += chunk.toString(); });
        return { child, log: () => log };
      });
      const producer = (file: string, out: string) => measured(['mine', file, '--out', out, ...mining.filter((a) => a !== '--no-cache'), '--redis', redis.url, '--range-lines', '50', '--overwrite']);
      // Every worker loads its model on its first range: warm them all up with a small run of 1-line ranges.
      measured(['mine', warmup, '--out', join(scratch, `warm-${count}.jsonl`), ...mining.filter((a) => a !== '--no-cache'), '--redis', redis.url, '--range-lines', '1', '--overwrite']);
      const run = producer(path, join(scratch, `workers-${count}.jsonl`));
      const images = imagesOf(run.stderr);
      await Promise.all(workers.map(({ child }) => new Promise((r) => { child.on('exit', r); child.kill('SIGTERM'); })));
      const rss = workers.map(({ log }) => Number(/maxrss_kb=(\d+)/.exec(log())?.[1]) / 1024);
      console.log(`${count}\t${run.seconds.toFixed(1)}\t${(images / run.seconds).toFixed(2)}\t${rss.map((r) => r.toFixed(0)).join(', ')}`);
      const single = readFileSync(join(scratch, `workers-${count}.jsonl`));
      if (count === 2 && !single.equals(readFileSync(join(scratch, 'workers-1.jsonl')))) throw new Error('1 and 2 workers wrote different outputs');
    }
  } finally {
    await redis.stop();
  }
}
rmSync(scratch, { recursive: true, force: true });
