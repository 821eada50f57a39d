/**
 * Classification benchmark: images/s for CLIP preprocessing alone (decode + Pillow-exact resize +
 * crop + normalize) and for classify end to end (preprocess + image tower + scoring) on the tiny
 * fixture model and, when given, a ViT-B/32-sized random-weight tower exported by
 *   /usr/bin/python3 training/export_tiny_clip.py --out /tmp/vitb32-clip --preset vit-b32 --no-reference
 * Run: npm run bench:classify [-- /tmp/vitb32-clip]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { ClipModel } from '../src/models/clip.js';
import { preprocessClip, CLIP_MEAN, CLIP_STD } from '../src/image/preprocess.js';
import { classifyImages } from '../src/pipelines/classify.js';
import { lcg } from './random.js';

const N = 32;
const next = lcg(11);
// Photos-like inputs: 640×480 noise-textured JPEGs (decode cost like a real photo).
const images: Buffer[] = [];
for (let i = 0; i < N; i++) {
  const raw = Buffer.alloc(640 * 480 * 3);
  for (let p = 0; p < raw.length; p++) raw[p] = Math.floor(next() * 64) + ((p % 3) * 60 + i * 5) % 192;
  images.push(await sharp(raw, { raw: { width: 640, height: 480, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
}
const labels = Array.from({ length: 100 }, (_, i) => `object ${i}`);

async function rate(label: string, fn: () => Promise<unknown>, count: number): Promise<void> {
  await fn(); // warm-up
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${label.padEnd(58)} ${(count / seconds).toFixed(1).padStart(8)} images/s  (${(1000 * seconds / count).toFixed(1)} ms/image)`);
}

console.log(`regionclip classify benchmark — node ${process.version}, ${N} JPEGs 640×480, 100 labels`);
await rate('preprocess only (224, bicubic, Pillow-exact)', () => Promise.all(images.map((b) => preprocessClip(b, { size: 224, mean: CLIP_MEAN, std: CLIP_STD }))), N);

const models: [string, string][] = [['tiny fixture (32 px, D=16)', join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-clip')]];
if (process.argv[2] && existsSync(process.argv[2])) models.push(['ViT-B/32-sized random (224 px, D=512)', process.argv[2]]);
else console.log('(no ViT-B/32-sized model folder given: pass one as the first argument)');
for (const [name, dir] of models) {
  const model = await ClipModel.load(dir);
  await rate(`classify end to end, ${name}`, () => classifyImages(model, images, { labels, cacheDir: false }), N);
  const t0 = performance.now();
  const encoder = await import('../src/models/text-encoder.js');
  await new encoder.ClipTextEncoder(model, { cacheDir: false }).embedPhrases(labels);
  console.log(`${`  text: 100 labels × 1 template, ${name}`.padEnd(58)} ${(performance.now() - t0).toFixed(0).padStart(8)} ms`);
  await model.release();
}
