/**
 * training/compose_ensemble.py: a detector folder plus a partner folder → one folder with `regionEnsemble`. Composing
 * the built-in model's own parts again (its (C) detector without the ensemble, its (B) partner as a folder of its own)
 * gives the committed manifest's ensemble block, graphs and file hashes; incompatible folders are refused with every
 * reason in one message (exit 5) and no folder written. Needs only python3 (no torch).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/golden.js';

const modelDir = join(repoRoot, 'models', 'world-rn-small');
const tool = join(repoRoot, 'training', 'compose_ensemble.py');
const committed = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8'));
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** A folder holding `manifest` and links to the built-in model's files it names. */
function folder(root: string, name: string, manifest: any): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const file of Object.keys(manifest.files)) symlinkSync(join(modelDir, file), join(dir, file));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

const ENSEMBLE_FILES = (m: any) => Object.keys(m.files).filter((f) => f.startsWith('ensemble_') || f === 'base-classes.txt');

function plainDetector(): any {
  const m = JSON.parse(JSON.stringify(committed));
  delete m.regionEnsemble;
  delete m.graphs.ensembleBackbone;
  delete m.graphs.ensembleHead;
  for (const f of ENSEMBLE_FILES(m)) delete m.files[f];
  return m;
}

function partner(): any {
  const m = plainDetector();
  m.name = 'world-rn-small-b';
  const backbone = { ...committed.graphs.ensembleBackbone, file: 'backbone.onnx', variants: { int8: 'backbone.int8.onnx' } };
  const head = { ...committed.graphs.ensembleHead, file: 'head.onnx', variants: { int8: 'head.int8.onnx' } };
  Object.assign(m.graphs, { backbone, head });
  delete m.regionEncoder.boxDeltas;
  m.scoring = { temperature: committed.regionEnsemble.temperature };
  m.files = {};
  for (const [role, g] of [['backbone', backbone], ['head', head]] as const) {
    m.files[g.file] = committed.files[committed.graphs[role === 'backbone' ? 'ensembleBackbone' : 'ensembleHead'].file];
    const int8 = committed.files[committed.graphs[role === 'backbone' ? 'ensembleBackbone' : 'ensembleHead'].variants.int8];
    m.files[g.variants.int8] = { ...int8, derivedFrom: { file: g.file, sha256: int8.derivedFrom.sha256 } };
  }
  for (const f of ['text_model.onnx', 'vision_model.onnx', 'rpn.onnx', 'vocab.json', 'merges.txt']) m.files[f] = committed.files[f];
  return m;
}

describe('training/compose_ensemble.py', () => {
  const root = mkdtempSync(join(tmpdir(), 'regionclip-compose-ensemble-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("rebuilds the built-in model's ensemble from its (C) detector and its (B) partner", () => {
    const c = folder(root, 'c', plainDetector());
    // The partner's files under their plain names, as a (B) export has them.
    const bDir = join(root, 'b');
    mkdirSync(bDir);
    const b = partner();
    const source: Record<string, string> = {
      'backbone.onnx': committed.graphs.ensembleBackbone.file, 'head.onnx': committed.graphs.ensembleHead.file,
      'backbone.int8.onnx': committed.graphs.ensembleBackbone.variants.int8, 'head.int8.onnx': committed.graphs.ensembleHead.variants.int8,
    };
    for (const file of Object.keys(b.files)) symlinkSync(join(modelDir, source[file] ?? file), join(bDir, file));
    writeFileSync(join(bDir, 'manifest.json'), JSON.stringify(b));
    const out = join(root, 'cb');
    const run = spawnSync(python, [tool, '--detector', c, '--partner', bDir, '--base-classes', join(modelDir, 'base-classes.txt'), '--out', out], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const made = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(made.regionEnsemble).toEqual(committed.regionEnsemble);
    expect(made.graphs).toEqual(committed.graphs);
    expect(made.files).toEqual(committed.files);
    expect(readFileSync(join(out, 'base-classes.txt'), 'utf8')).toBe(readFileSync(join(modelDir, 'base-classes.txt'), 'utf8'));
  });

  it('refuses folders that cannot be joined, every reason at once, and writes nothing', () => {
    const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
    const out = join(root, 'refused');
    const run = spawnSync(python, [tool, '--detector', tiny, '--partner', modelDir, '--base-classes', join(modelDir, 'base-classes.txt'), '--out', out, '--novel-weight', '1.5'], { encoding: 'utf8' });
    expect(run.status).toBe(5);
    expect(run.stderr).toMatch(/^error: cannot combine .* \d+ problem\(s\): /);
    for (const reason of ['--partner: it is itself an ensemble', '--partner: it has a trained background', 'embedDim: detector', 'text tower: the partner', 'image: detector', '--novel-weight: 1.5 is outside [0, 1]']) {
      expect(run.stderr).toContain(reason);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a partner with a trained background, a missing base-class file and a folder in the way', () => {
    const c = folder(root, 'c2', plainDetector());
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep.txt'), 'mine');
    const run = spawnSync(python, [tool, '--detector', c, '--partner', c, '--base-classes', join(root, 'none.txt'), '--out', busy], { encoding: 'utf8' });
    expect(run.status).toBe(5);
    expect(run.stderr).toContain('3 problem(s)');
    for (const reason of ['--partner: it has a trained background', `--base-classes ${join(root, 'none.txt')}: no such file`, `--out ${busy}: exists and is not an empty folder`]) {
      expect(run.stderr).toContain(reason);
    }
    expect(readFileSync(join(busy, 'keep.txt'), 'utf8')).toBe('mine');
  });
});
