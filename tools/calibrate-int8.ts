// Activation ranges for training/convert/quantize.py (int8 QDQ variants of a detector's region graphs):
// runs the probe graphs of `python -m convert.quantize probe` on calibration images through the project's
// own pipeline (detector resize and normalization, the fp32 RPN's proposals, RoIAlign) and records every
// probed tensor's [min, max] (onnxruntime's MinMax calibration). Features-mode detectors only.
//
//   npx tsx tools/calibrate-int8.ts --model DIR --probe PROBE_DIR --images DIR [--limit 32] [--proposals 300] --out ranges.json
//
// Calibrate on images like the ones the model will see, never on the images it is evaluated on.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Boxes } from '../src/geometry/boxes.js';
import { channelsLast, roiAlign, roisOf } from '../src/geometry/roi-align.js';
import { toDetectorTensor } from '../src/image/preprocess.js';
import { decodeImage } from '../src/image/read.js';
import { DetectorModel } from '../src/models/detector.js';
import { encoderSizeDivisibility, rpnSizeDivisibility } from '../src/models/manifest.js';

const USAGE = 'usage: npx tsx tools/calibrate-int8.ts --model DIR --probe PROBE_DIR --images DIR --out ranges.json [--limit 32] [--proposals 300] [--batch 100]';
const fail = (message: string, code: number): never => {
  console.error(`error: ${message}`);
  process.exit(code);
};
let parsed;
try {
  parsed = parseArgs({
    options: {
      model: { type: 'string' }, probe: { type: 'string' }, images: { type: 'string' }, out: { type: 'string' },
      limit: { type: 'string', default: '32' }, proposals: { type: 'string', default: '300' }, batch: { type: 'string', default: '100' },
      help: { type: 'boolean', default: false },
    },
  });
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`, 2);
}
const { values } = parsed!;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
for (const flag of ['model', 'probe', 'images', 'out'] as const) if (values[flag] === undefined) fail(`--${flag} is required\n${USAGE}`, 2);
const positive = (flag: 'limit' | 'proposals' | 'batch'): number => {
  const n = Number(values[flag]);
  return Number.isInteger(n) && n >= 1 ? n : fail(`--${flag} takes an integer >= 1, got ${JSON.stringify(values[flag])}`, 2);
};
const limit = positive('limit'), proposals = positive('proposals'), batch = positive('batch');
for (const flag of ['probe', 'images'] as const) {
  if (!existsSync(values[flag]!) || !statSync(values[flag]!).isDirectory()) fail(`--${flag} ${values[flag]} is not a folder`, 7);
}
if (!existsSync(join(values.probe!, 'probe.json'))) fail(`no probe.json in ${values.probe} (python -m convert.quantize probe writes it)`, 7);
interface ProbeEntry { file: string; source: string; sha256: string; tensors: string[] }
const probe = JSON.parse(readFileSync(join(values.probe!, 'probe.json'), 'utf8')) as Record<string, ProbeEntry>;
const model = await DetectorModel.load(values.model!);
const m = model.manifest;
if (m.regionEncoder.mode !== 'features') {
  console.error('error: int8 calibration covers features-mode detectors (backbone + head); this model crops');
  process.exit(4);
}
for (const [role, entry] of Object.entries(probe)) {
  const recorded = m.files[entry.source]?.sha256;
  if (recorded !== entry.sha256) {
    console.error(`error: the probe of ${role} was made from another ${entry.source} (sha256 ${entry.sha256}; ${values.model} has ${recorded})`);
    process.exit(5);
  }
}
const sessions: Record<string, ort.InferenceSession> = {};
for (const [role, entry] of Object.entries(probe)) sessions[role] = await ort.InferenceSession.create(join(values.probe!, entry.file));
const ranges: Record<string, Record<string, [number, number]>> = {};
const record = (role: string, outputs: ort.InferenceSession.OnnxValueMapType) => {
  const r = (ranges[role] ??= {});
  for (const name of probe[role].tensors) {
    const data = outputs[name].data as Float32Array;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const prev = r[name];
    r[name] = prev === undefined ? [lo, hi] : [Math.min(prev[0], lo), Math.max(prev[1], hi)];
  }
};

const files = readdirSync(values.images!).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort().slice(0, limit);
if (files.length === 0) {
  console.error(`error: no images in ${values.images}`);
  process.exit(3);
}
const spec = m.regionEncoder;
let regions = 0;
for (const [k, file] of files.entries()) {
  const image = await decodeImage(join(values.images!, file));
  const { proposals: found, resized } = await model.propose(image);
  if (sessions.rpn) {
    const x = toDetectorTensor(resized.image, m.rpn.input, rpnSizeDivisibility(m));
    record('rpn', await sessions.rpn.run({ [sessions.rpn.inputNames[0]]: new ort.Tensor('float32', x.data, x.dims) }));
  }
  const x = toDetectorTensor(resized.image, spec.input, encoderSizeDivisibility(m));
  const backbone = sessions.backbone ?? null;
  // The feature map comes from the probe graph (same graph, more outputs) or, without one, the model's own run.
  const feats = backbone === null
    ? null
    : await backbone.run({ [backbone.inputNames[0]]: new ort.Tensor('float32', x.data, x.dims) });
  if (feats !== null) record('backbone', feats);
  if (sessions.head) {
    if (feats === null) throw new Error('calibrating the head needs the backbone probe too (probe all region graphs)');
    const map = feats[spec.featureOutput];
    const features = channelsLast({ data: map.data as Float32Array, dims: map.dims as number[] });
    const n = Math.min(proposals, found.scores.length);
    const rois = roisOf(Boxes.of(found.boxes.data.slice(0, 4 * n)));
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const pooled = roiAlign(features, rois.subarray(5 * start, 5 * (start + count)), spec);
      record('head', await sessions.head.run({ [sessions.head.inputNames[0]]: new ort.Tensor('float32', pooled.data, pooled.dims) }));
    }
    regions += n;
  }
  process.stderr.write(`\rcalibrating: ${k + 1}/${files.length} images, ${regions} regions`);
}
process.stderr.write('\n');
const graphs = Object.fromEntries(Object.entries(probe).map(([role, entry]) => [role, { sha256: entry.sha256, ranges: ranges[role] }]));
writeFileSync(values.out!, `${JSON.stringify({ calibration: { images: resolve(values.images!), count: files.length, proposals, method: 'minmax' }, graphs }, null, 1)}\n`);
console.error(`wrote ${values.out}: ${Object.values(ranges).reduce((a, r) => a + Object.keys(r).length, 0)} tensor ranges from ${files.length} images`);
await model.release();
