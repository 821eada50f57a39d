/**
 * Text benchmarks: CLIP tokenizer throughput on 100k short phrases, and extractPhrases on 10k captions; with
 * --embed, a cold vocabulary through the text tower.
 *
 *   npm run bench:text [-- path/to/clip-tokenizer-dir]
 *   npm run bench:text -- --embed [--model DIR] [--labels 1203] [--sample K] [--repeats 3] [--threads N]
 *
 * The tokenizer needs a real CLIP vocabulary: ../shared/golden/clip-tokenizer by default (or a folder
 * given as the argument); without one it falls back to the tiny fixture vocabulary and says so.
 *
 * --embed: `ClipTextEncoder.embedPhrases` of N distinct labels (LVIS has 1203: the world's 856 concepts, the
 * distractor pool, then "<adjective> <concept>" pairs) in the 81 ensemble templates, no cache, a fresh encoder
 * per run; the model folder (default the built-in model; ours or a Hugging Face CLIP folder) as it is — each
 * batch cut after its last EOT where the model permits it — against a view of it whose rows get all 77
 * positions (`tokenizer.padding: "context"`; for a Hugging Face folder, config.json without model_type "clip").
 * Runs alternate between the two; prints medians and min–max, the positions fed, and the largest difference
 * between the two runs' embeddings. --sample K embeds K of the N labels, evenly spaced, and scales the times to N
 * (for a full-size tower, whose 77-position run over 1203 labels takes hours on 2 cores).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClipModel } from '../src/models/clip.js';
import { ClipTextEncoder } from '../src/models/text-encoder.js';
import { BUILTIN_DISTRACTORS } from '../src/text/distractors.js';
import { buildPrompts } from '../src/text/prompts.js';
import { ClipTokenizer } from '../src/text/tokenizer.js';
import { extractPhrases } from '../src/text/phrases.js';

const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { embed: { type: 'boolean' }, model: { type: 'string' }, labels: { type: 'string' }, sample: { type: 'string' }, repeats: { type: 'string' }, threads: { type: 'string' } },
});
const dir = positionals[0] ?? join(root, '..', 'shared', 'golden', 'clip-tokenizer');
const real = existsSync(join(dir, 'vocab.json'));
const vocabDir = real ? dir : join(root, 'fixtures', 'tokenizer');

// Deterministic synthetic phrases and captions from small word lists (xorshift PRNG).
let seed = 0x9e3779b9;
const rand = (n: number) => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const adjectives = ['red', 'small', 'wooden', 'old', 'striped', 'parked', 'shiny', 'large', 'green', 'sleeping', 'metal', 'fluffy'];
const nouns = ['dog', 'traffic light', 'bicycle', 'teddy bear', 'kitchen counter', 'umbrella', 'cell phone', 'giraffe', 'pizza', 'surfboard', 'fire hydrant', 'laptop', 'horse', 'bench', 'vase', 'bus'];
const verbs = ['sits on', 'stands next to', 'rides', 'holds', 'lies under', 'walks past', 'looks at'];
const people = ['A man', 'A woman', 'Two children', 'A group of people', 'A young boy', 'An elderly woman'];
const phrase = () => `${adjectives[rand(adjectives.length)]} ${nouns[rand(nouns.length)]}`;
const caption = () => `${people[rand(people.length)]} in a ${phrase()} ${verbs[rand(verbs.length)]} a ${phrase()} near the ${nouns[rand(nouns.length)]}.`;

if (flags.embed) {
  const n = Number(flags.labels ?? 1203);
  await benchEmbedding(resolve(flags.model ?? join(root, 'models', 'world-rn-small')), n, Number(flags.sample ?? n), Number(flags.repeats ?? 3), flags.threads === undefined ? undefined : Number(flags.threads));
  process.exit(0);
}

const tokenizer = ClipTokenizer.fromDirectory(vocabDir, { onTruncate: () => {} });
const phrases = Array.from({ length: 100_000 }, phrase);
let tokens = 0;
let t0 = performance.now();
for (const p of phrases) tokens += tokenizer.encode(p).length;
let ms = performance.now() - t0;
console.log(`tokenizer (${real ? 'CLIP vocab' : 'FIXTURE vocab — no ../shared'}): ${phrases.length} phrases, ${tokens} tokens in ${ms.toFixed(0)} ms → ${((tokens / ms) * 1000).toFixed(0)} tokens/s, ${((phrases.length / ms) * 1000).toFixed(0)} phrases/s`);

const fresh = Array.from({ length: 100_000 }, (_, i) => `${phrase()} ${i}`); // defeats the word cache for the digits only
t0 = performance.now();
const batch = tokenizer.encodeBatch(fresh.slice(0, 10_000));
ms = performance.now() - t0;
console.log(`encodeBatch int64: [${batch.dims.join(', ')}] in ${ms.toFixed(0)} ms`);

const captions = Array.from({ length: 10_000 }, caption);
t0 = performance.now();
let found = 0;
for (const c of captions) found += extractPhrases(c).length;
ms = performance.now() - t0;
console.log(`extractPhrases: ${captions.length} captions, ${found} phrases in ${ms.toFixed(0)} ms → ${((captions.length / ms) * 1000).toFixed(0)} captions/s`);

/** N distinct labels: the world's concepts, the distractor pool, then "<adjective> <concept>" pairs. */
function vocabulary(n: number): string[] {
  const concepts = readFileSync(join(root, 'fixtures', 'world', 'labels.txt'), 'utf8').split('\n').filter(Boolean);
  const labels = new Set([...concepts, ...BUILTIN_DISTRACTORS]);
  for (let i = 0; labels.size < n; i++) labels.add(`${adjectives[i % adjectives.length]} ${concepts[Math.floor(i / adjectives.length) % concepts.length]}`);
  return [...labels].slice(0, n);
}

/** A view of a model folder (links to its files) whose text rows all get the context length (77). */
function fullContextView(model: string): string {
  const view = mkdtempSync(join(tmpdir(), 'bench-text-77-'));
  for (const entry of readdirSync(model)) {
    if (entry !== 'manifest.json' && entry !== 'config.json') symlinkSync(join(model, entry), join(view, entry));
  }
  if (existsSync(join(model, 'manifest.json'))) {
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    writeFileSync(join(view, 'manifest.json'), JSON.stringify({ ...manifest, tokenizer: { ...manifest.tokenizer, padding: 'context' } }));
  } else {
    const { model_type: _, ...config } = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'));
    writeFileSync(join(view, 'config.json'), JSON.stringify(config));
  }
  return view;
}

/** Token rows × positions the tower is fed for these prompts, as ClipTextEncoder (32 phrases) and ClipModel (64 rows) batch them. */
function positionsFed(lengths: readonly number[], templates: number, cut: boolean): number {
  let total = 0;
  const chunk = 32 * templates;
  for (let c = 0; c < lengths.length; c += chunk) {
    const rows = lengths.slice(c, c + chunk).sort((a, b) => a - b);
    for (let b = 0; b < rows.length; b += 64) {
      const batch = rows.slice(b, b + 64);
      total += batch.length * (cut ? batch[batch.length - 1] : 77);
    }
  }
  return total;
}

async function benchEmbedding(model: string, n: number, sample: number, repeats: number, threads: number | undefined): Promise<void> {
  const all = vocabulary(n);
  const labels = sample >= n ? all : Array.from({ length: sample }, (_, i) => all[Math.floor((i * n) / sample)]);
  const scale = n / labels.length;
  const variants = [['77 positions', fullContextView(model)], ['cut after last EOT', model]] as const;
  const times: number[][] = variants.map(() => []);
  const embeddings: Float32Array[] = [];
  let lengths: number[] = [];
  const padding: string[] = [];
  for (let r = 0; r < repeats; r++) {
    for (const [v, [, dir]] of variants.entries()) {
      const clip = await ClipModel.load(dir, threads === undefined ? {} : { intraOpThreads: threads });
      if (r === 0) {
        padding[v] = clip.textPadding;
        lengths = labels.flatMap((label) => buildPrompts(label, 'ensemble')).map((p) => clip.tokenizer.encode(p).length);
      }
      const encoder = new ClipTextEncoder(clip, { cacheDir: false });
      const t0 = performance.now();
      const embeds = await encoder.embedPhrases(labels, { templates: 'ensemble' });
      times[v].push((scale * (performance.now() - t0)) / 1000);
      if (r === 0) embeddings[v] = embeds;
      await clip.release();
      console.log(`  run ${r + 1}/${repeats} ${variants[v][0]}: ${times[v].at(-1)!.toFixed(1)} s${scale === 1 ? '' : ' (scaled)'}`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  let diff = 0;
  for (let i = 0; i < embeddings[0].length; i++) diff = Math.max(diff, Math.abs(embeddings[0][i] - embeddings[1][i]));
  const prompts = lengths.length;
  const sampled = scale === 1 ? '' : ` (${labels.length} of them embedded, evenly spaced; times scaled ×${scale.toFixed(2)})`;
  console.log(`cold text embedding, ${model}: ${n} labels × 81 templates${sampled}; ${prompts} prompts embedded, ${(lengths.reduce((a, b) => a + b, 0) / prompts).toFixed(1)} tokens on average (at most ${Math.max(...lengths)}), threads ${threads ?? 'default'}, ${repeats} runs each, interleaved`);
  const full = positionsFed(lengths, 81, false);
  for (const [v, [name]] of variants.entries()) {
    const fed = positionsFed(lengths, 81, padding[v] === 'longest');
    console.log(`  ${name.padEnd(20)} (${padding[v]}): median ${median(times[v]).toFixed(1)} s (min–max ${Math.min(...times[v]).toFixed(1)}–${Math.max(...times[v]).toFixed(1)}), ${((scale * prompts) / median(times[v])).toFixed(0)} prompts/s, positions fed ${(100 * fed / full).toFixed(1)}% of 77 per row`);
  }
  console.log(`  speed-up (median 77 / median cut): ${(median(times[0]) / median(times[1])).toFixed(2)}×; max |Δ| of the L2-normalized label embeddings: ${diff.toExponential(2)}`);
}
