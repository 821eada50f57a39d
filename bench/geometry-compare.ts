/**
 * bench/geometry.ts against bench/geometry_torch.py, interleaved: each round runs both (alternating
 * which goes first), so a noisy, shared machine slows both alike. Prints, per case, the median time of
 * each over the rounds and the ratio ours / torchvision (median, and min–max over rounds; < 1 is faster).
 * Run: npx tsx bench/geometry-compare.ts [--rounds 5] [--python /usr/bin/python3]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const rounds = Number(flag('--rounds', '5'));
const python = flag('--python', '/usr/bin/python3');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes an integer >= 1, got ${flag('--rounds', '')}`);
const bench = import.meta.dirname;

function run(command: string, commandArgs: string[]): Record<string, number> {
  const result = spawnSync(command, commandArgs, { cwd: join(bench, '..'), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} exited with ${result.status}: ${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, number>;
}

const ours: Record<string, number>[] = [], torch: Record<string, number>[] = [];
for (let r = 0; r < rounds; r++) {
  const runOurs = () => ours.push(run(process.execPath, ['--import', 'tsx', join(bench, 'geometry.ts'), '--json']));
  const runTorch = () => torch.push(run(python, [join(bench, 'geometry_torch.py'), '--json']));
  if (r % 2 === 0) { runOurs(); runTorch(); } else { runTorch(); runOurs(); }
  process.stderr.write(`round ${r + 1}/${rounds} done\n`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
console.log(`${rounds} interleaved rounds; ratio = ours / torchvision (< 1: faster)`);
console.log(`| case | ours (ms) | torchvision (ms) | ratio, median | ratio, min–max |`);
console.log(`| --- | ---: | ---: | ---: | ---: |`);
for (const name of Object.keys(ours[0])) {
  const a = ours.map((o) => o[name]), b = torch.map((t) => t[name]);
  const ratios = a.map((v, i) => v / b[i]);
  console.log(`| ${name} | ${fmt(median(a))} | ${fmt(median(b))} | ${median(ratios).toFixed(2)} | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} |`);
}
