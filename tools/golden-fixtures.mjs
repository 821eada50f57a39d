#!/usr/bin/env node
// Copies small, representative subsets of ../shared/golden into fixtures/golden/ so that the parity
// tests always check real reference values, also in a clone without ../shared.
// Usage: node tools/golden-fixtures.mjs [path/to/shared/golden]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const golden = resolve(process.argv[2] ?? join(root, '..', 'shared', 'golden'));
const out = join(root, 'fixtures', 'golden');
const read = (p) => JSON.parse(readFileSync(join(golden, p), 'utf8'));
const write = (p, value) => {
  mkdirSync(dirname(join(out, p)), { recursive: true });
  writeFileSync(join(out, p), JSON.stringify(value) + '\n');
  console.log(`wrote fixtures/golden/${p}`);
};
const pick = (list, ids) => ids.map((id) => {
  const found = list.find((c) => c.id === id);
  if (!found) throw new Error(`golden case ${id} not found`);
  return found;
});

const nms = read('nms/cases.json');
write('nms/cases.json', {
  source: nms.source,
  semantics: nms.semantics,
  subsetOf: 'nms/cases.json',
  nms: pick(nms.nms, ['random60-s0-t0.3', 'clustered120-t0.5', 'degenerate-t0.5', 'duplicates-t0.5', 'zero-boxes', 'iou-exactly-threshold-0.5', 'TIED-SCORES-t0.5']),
  batched_nms: pick(nms.batched_nms, ['batched80-5cls-t0.5', 'batched-samebox-diffclass-t0.5', 'batched-each-own-class']),
  box_iou: nms.box_iou,
});

const coder = read('box-coder/box_coder.json');
write('box-coder/box_coder.json', {
  source: coder.source,
  semantics: coder.semantics,
  subsetOf: 'box-coder/box_coder.json',
  cases: pick(coder.cases, ['decode-anchors-w1', 'decode-classwise-k3', 'encode-w10-10-5-5']),
});

const anchors = read('box-coder/anchors.json');
write('box-coder/anchors.json', {
  source: anchors.source,
  semantics: anchors.semantics,
  subsetOf: 'box-coder/anchors.json',
  cases: pick(anchors.cases, ['odd-sizes-one-level']),
});

const roi = read('roi-align/set1_n2_c3_24x32.json');
const wanted = (r) => r.output_size[0] !== 14 && r.spatial_scale !== 0.03125;
const runs = roi.runs.filter(wanted);
const keys = new Set(runs.map((r) => r.boxes_key));
write('roi-align/set1_subset.json', {
  source: roi.source,
  semantics: roi.semantics,
  subsetOf: 'roi-align/set1_n2_c3_24x32.json (runs with output 7×7 and 2×3 at scales 1 and 1/16)',
  input_shape: roi.input_shape,
  input: roi.input,
  feature_boxes: roi.feature_boxes,
  boxes_by_scale: Object.fromEntries(Object.entries(roi.boxes_by_scale).filter(([k]) => keys.has(k))),
  runs,
});

// cocoeval: whole cases (each is one small dataset with its pycocotools outputs).
for (const name of ['case02_crowd.json', 'case04_maxdets.json', 'case05_empty.json']) {
  write(`cocoeval/${name}`, { ...read(`cocoeval/${name}`), subsetOf: `cocoeval/${name} (whole case)` });
}
