/**
 * Text benchmarks: CLIP tokenizer throughput on 100k short phrases, and extractPhrases on 10k captions.
 *
 *   npm run bench:text [-- path/to/clip-tokenizer-dir]
 *
 * The tokenizer needs a real CLIP vocabulary: ../shared/golden/clip-tokenizer by default (or a folder
 * given as the argument); without one it falls back to the tiny fixture vocabulary and says so.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClipTokenizer } from '../src/text/tokenizer.js';
import { extractPhrases } from '../src/text/phrases.js';

const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const dir = process.argv[2] ?? join(root, '..', 'shared', 'golden', 'clip-tokenizer');
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
