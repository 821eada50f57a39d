/**
 * Parity of converted model folders (training/export_openai_clip.py, export_regionclip.py) with PyTorch:
 * runs each graph of a folder in onnxruntime-node on the inputs of the converter's `--reference` file
 * (torch-eager outputs, training/convert/reference.py) and reports the largest absolute difference per
 * output; and the split identity of a ResNet tower, vision(x) == head(RoIAlign(backbone(x), full box)),
 * with our RoIAlign (S/16 × S/16, scale 1/16, aligned, adaptive sampling), as RegionCLIP pools res4.
 * Used by test/training/convert.test.ts (tiny fakes) and bench/convert-parity.ts (full size).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { roiAlign } from '../../src/geometry/roi-align.js';
import { ort } from '../../src/runtime/session.js';

interface Named { dims: number[]; data: number[] }
type Reference = Record<string, { inputs: Record<string, Named>; outputs: Record<string, Named> }>;
interface GraphEntry { file: string }

export function readReference(path: string): Reference {
  return JSON.parse(readFileSync(path, 'utf8')) as Reference;
}

/** The graph file of `role` in the manifest, or in features.json (a CLIP folder exported with --split). */
function graphFile(dir: string, role: string): string {
  const read = (name: string) => (existsSync(join(dir, name)) ? (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { graphs: Record<string, GraphEntry | undefined> }).graphs : {});
  const entry = read('manifest.json')[role] ?? read('features.json')[role];
  if (entry === undefined) throw new Error(`${dir}: manifest has no graphs.${role}`);
  return join(dir, entry.file);
}

function feed(name: string, t: Named): ort.Tensor {
  return name === 'input_ids'
    ? new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(v)), t.dims)
    : new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** `role.output` → max |onnx − torch| (Infinity when the dims differ), for every graph in the reference. */
export async function parityAgainstReference(dir: string, reference: Reference): Promise<Record<string, number>> {
  const diffs: Record<string, number> = {};
  for (const [role, { inputs, outputs }] of Object.entries(reference)) {
    const session = await ort.InferenceSession.create(graphFile(dir, role));
    const result = await session.run(Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, feed(name, t)])));
    for (const [name, expected] of Object.entries(outputs)) {
      const got = result[name];
      const sameDims = got !== undefined && got.dims.length === expected.dims.length && got.dims.every((d, i) => d === expected.dims[i]);
      diffs[`${role}.${name}`] = sameDims ? maxAbsDiff(got.data as Float32Array, expected.data) : Infinity;
    }
    await session.release();
  }
  return diffs;
}

/** max |vision(x) − head(RoIAlign(backbone(x), [0, 0, S, S]))| over the reference's vision inputs. */
export async function splitIdentity(dir: string, reference: Reference): Promise<number> {
  const pixels = reference.vision.inputs.pixel_values;
  const [n, c, S] = pixels.dims;
  const [vision, backbone, head] = await Promise.all(['vision', 'backbone', 'head'].map((r) => ort.InferenceSession.create(graphFile(dir, r))));
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const size = c * S * S;
    const x = new ort.Tensor('float32', Float32Array.from(pixels.data.slice(i * size, (i + 1) * size)), [1, c, S, S]);
    const whole = (await vision.run({ pixel_values: x })).image_embeds.data as Float32Array;
    const res4 = (await backbone.run({ images: x })).res4;
    const pooled = roiAlign({ data: res4.data as Float32Array, dims: [...res4.dims] }, Float32Array.from([0, 0, 0, S, S]), {
      outputSize: [S / 16, S / 16], spatialScale: 1 / 16, samplingRatio: 0, aligned: true,
    });
    const regional = (await head.run({ roi_features: new ort.Tensor('float32', pooled.data, pooled.dims) })).region_embeds.data as Float32Array;
    worst = Math.max(worst, maxAbsDiff(whole, regional));
  }
  await Promise.all([vision, backbone, head].map((s) => s.release()));
  return worst;
}
