/**
 * Fills the sprite cache with every icon of the concept table (about 5,000 sprites), and keeps
 * resvg-fallback.json: icons that abort resvg (an uncatchable Rust panic) are rendered by sharp's
 * librsvg instead. The rendering runs in a child process; when it dies, the icon it was on is added to
 * the list and the child restarts.
 *   npx tsx training/world/prerender.ts [--cache DIR] [--styles noto,twemoji]
 * Optional: generate.ts renders missing sprites on first use (after this has listed the crashing icons).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConcepts } from './concepts.js';
import { RESVG_FALLBACK_PATH, SpriteCache } from './sprites.js';
import { STYLE_NAMES, type StyleName } from './styles.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const cache = resolve(option('--cache') ?? join(here, '.cache'));
const styles = (option('--styles')?.split(',') ?? STYLE_NAMES) as StyleName[];

if (argv.includes('--child')) {
  const sprites = new SpriteCache(cache);
  let n = 0;
  for (const concept of readConcepts().concepts) {
    for (const style of styles) {
      for (const icon of concept.icons[style] ?? []) {
        process.stderr.write(`@@ ${style}:${icon}\n`);
        await sprites.get(style, icon, concept.crop);
        n++;
      }
    }
  }
  process.stderr.write(`@@done ${n}\n`);
} else {
  const started = performance.now();
  for (let restarts = 0; restarts < 200; restarts++) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...argv, '--child'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const lines = child.stderr.split('\n').filter((l) => l.startsWith('@@'));
    const last = lines[lines.length - 1] ?? '';
    if (last.startsWith('@@done')) {
      console.log(`${last.split(' ')[1]} sprites in ${((performance.now() - started) / 1000).toFixed(1)} s → ${cache}`);
      process.exit(0);
    }
    const icon = last.slice(3);
    if (icon === '') { console.error(child.stderr); process.exit(1); }
    const list = existsSync(RESVG_FALLBACK_PATH) ? (JSON.parse(readFileSync(RESVG_FALLBACK_PATH, 'utf8')) as string[]) : [];
    if (list.includes(icon)) { console.error(`${icon} fails with the fallback too:\n${child.stderr.slice(-2000)}`); process.exit(1); }
    list.push(icon);
    list.sort();
    writeFileSync(RESVG_FALLBACK_PATH, JSON.stringify(list, null, 1) + '\n');
    console.log(`resvg aborted on ${icon}: rendered with librsvg instead (${list.length} in resvg-fallback.json)`);
  }
  process.exit(1);
}
