/**
 * The layering ARCHITECTURE.md describes, checked on the source: folders import one way
 * (cli → pipelines → models/runtime/text/image/io/config/hub → geometry/matching/proposals/mining/eval
 * → errors/util; within a layer only without a cycle), the CLI talks only to pipelines, io,
 * config and errors, and the pure math folders import no runtime, image library or file system.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/golden.js';

const src = join(repoRoot, 'src');
const RANK: Record<string, number> = {
  cli: 6, pipelines: 5, models: 4, runtime: 4, text: 4, image: 4, io: 4, config: 4, hub: 4,
  geometry: 2, matching: 2, proposals: 2, mining: 2, eval: 2, errors: 1, util: 1, index: 7,
};
const PURE = ['geometry', 'matching', 'proposals', 'mining', 'eval'];
const IMPURE_PACKAGES = /^(node:|onnxruntime-node$|sharp$|@napi-rs\/canvas$|fs$|path$)/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}
const folderOf = (file: string) => relative(src, file).split('/')[0].replace(/\.(ts|js)$/, '');
const imports = files(src).map((file) => {
  const specs = [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
  return { file: relative(src, file), folder: folderOf(file), local: specs.filter((s) => s.startsWith('.')).map((s) => folderOf(resolve(dirname(file), s))), packages: specs.filter((s) => !s.startsWith('.')) };
});

describe('architecture', () => {
  it('reads the source', () => expect(imports.length).toBeGreaterThan(40));

  it('every folder has a layer', () => {
    expect(imports.map((i) => i.folder).filter((f) => RANK[f] === undefined)).toEqual([]);
  });

  it('imports point down the layers (or within one)', () => {
    const wrong = imports.flatMap((i) => i.local.filter((to) => to !== i.folder && RANK[to] > RANK[i.folder]).map((to) => `${i.file} → ${to}`));
    expect(wrong).toEqual([]);
  });

  it('no cycle between folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) for (const to of i.local) if (to !== i.folder) edges.set(i.folder, (edges.get(i.folder) ?? new Set()).add(to));
    const reaches = (from: string, target: string, seen = new Set<string>()): boolean =>
      [...(edges.get(from) ?? [])].some((n) => n === target || (!seen.has(n) && (seen.add(n), reaches(n, target, seen))));
    expect([...edges.keys()].filter((f) => reaches(f, f))).toEqual([]);
  });

  it('the CLI imports only pipelines, io, config, errors and util', () => {
    const allowed = new Set(['cli', 'pipelines', 'io', 'config', 'errors', 'util']);
    expect(imports.filter((i) => i.folder === 'cli').flatMap((i) => i.local.filter((to) => !allowed.has(to)).map((to) => `${i.file} → ${to}`))).toEqual([]);
  });

  it('pure math imports no runtime, image library or file system', () => {
    const impure = imports.filter((i) => PURE.includes(i.folder)).flatMap((i) => i.packages.filter((p) => IMPURE_PACKAGES.test(p)).map((p) => `${i.file} → ${p}`));
    expect(impure).toEqual([]);
  });

  it('option resolution never downloads: config/ imports no Hub module that touches the network', () => {
    const network = /hub\/(snapshot|download|http|listing|metadata)\.js$/;
    const found = files(join(src, 'config')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]).filter((spec) => network.test(spec)).map((spec) => `${relative(src, file)} → ${spec}`));
    expect(found).toEqual([]);
  });

  it('no `as unknown as` in src', () => {
    expect(files(src).filter((f) => readFileSync(f, 'utf8').includes('as unknown as')).map((f) => relative(src, f))).toEqual([]);
  });
});
