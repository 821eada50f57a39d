/**
 * RoIAlign, a float32 port of torchvision.ops.roi_align's CPU kernel
 * (torchvision/csrc/ops/cpu/roi_align_kernel.cpp) in the kernel's order of operations, so results
 * are bit-identical to torchvision's.
 *
 * Glossary:
 *   N  images in the batch        C  channels       H, W  feature-map height and width
 *   K  regions of interest (RoIs) oh, ow  output (pooled) height and width
 *   s  spatialScale: feature-map pixels per image pixel (1/16 for a stride-16 map)
 *   gh, gw  bilinear samples per output bin along y and x
 *
 * `input` is N×C×H×W (or the same map channels last, from `channelsLast`); `rois` is K×5 rows
 * `[batchIndex, x1, y1, x2, y2]` in image coordinates; the output is K×C×oh×ow.
 *
 * `aligned: true` shifts the box by half a pixel (-0.5 after scaling) so that a box [0, 1) covers
 * the centre of pixel 0 exactly: the pixel model detectron2's ROIAlignV2 and RegionCLIP use.
 * With `aligned: false` (the legacy model) boxes are also made at least 1×1.
 * `samplingRatio > 0` takes that many samples per bin along each axis; `<= 0` is adaptive:
 * `ceil(roiSize / outputSize)` per axis.
 *
 * How it is fast: bilinear sampling is separable, so per RoI only the oh·gh sample rows and ow·gw
 * sample columns are computed here (the kernel's pre_calc, factored); the pooling loop runs in
 * WebAssembly (wasm/roi-align.wat) on a channels-last copy of the map, four channels per f32x4
 * operation, each lane doing the kernel's float32 operations in its order — bit for bit the scalar
 * result. The module's memory (the map's copy, per-RoI scratch, 1 MiB of pooled output at a time)
 * is kept between calls; the function itself holds no other state.
 */
import { describe, invalidInput } from '../errors.js';
import type { Boxes } from './boxes.js';
import type { Tensor } from './tensor.js';
import { checkInteger, checkNumber } from './validate.js';
import { instantiate, reserve, type WasmKernel } from './wasm/kernel.js';
import { ROI_ALIGN_WASM } from './wasm/roi-align-wasm.js';

const f32 = Math.fround;

export interface RoiAlignOptions {
  /** Output size [oh, ow]. */
  outputSize: [number, number];
  /** Feature-map pixels per image pixel (e.g. 1/16). */
  spatialScale: number;
  /** Samples per bin along each axis; <= 0 chooses ceil(roi size / output size) per RoI. */
  samplingRatio: number;
  /** Half-pixel offset (torchvision `aligned=True`, detectron2 ROIAlignV2). */
  aligned: boolean;
}

/**
 * A feature map with the channels of each pixel contiguous: `data` is N×H×W×C, `dims` still
 * [N, C, H, W]. RoIAlign's working layout: convert once with `channelsLast` when the same map is
 * pooled in several calls (batches of RoIs). Plain data (transferable to a worker).
 */
export interface ChannelsLastTensor {
  layout: 'nhwc';
  data: Float32Array;
  dims: number[];
}

function checkOptions(options: RoiAlignOptions): void {
  if (options === null || typeof options !== 'object') throw invalidInput('an options object', 'roiAlign options', describe(options));
  const size = options.outputSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) {
    throw invalidInput('[height, width] as two positive integers', 'outputSize', Array.isArray(size) ? `[${size.join(', ')}]` : describe(size));
  }
  checkNumber('spatialScale', options.spatialScale, 'positive');
  checkInteger('samplingRatio', options.samplingRatio);
  if (typeof options.aligned !== 'boolean') throw invalidInput('a boolean', 'aligned', describe(options.aligned));
}

function checkInput(input: Tensor | ChannelsLastTensor): [number, number, number, number] {
  if (input === null || typeof input !== 'object' || !(input.data instanceof Float32Array) || !Array.isArray(input.dims)) {
    throw invalidInput('a tensor { data: Float32Array, dims: [N, C, H, W] }', 'input', describe(input));
  }
  const dims = input.dims;
  if (dims.length !== 4 || !dims.every((d) => Number.isInteger(d) && d >= 0) || dims[2] === 0 || dims[3] === 0) {
    throw invalidInput('dims [N, C, H, W] with H, W >= 1', 'input.dims', `[${dims.join(', ')}]`);
  }
  const expectedLength = dims[0] * dims[1] * dims[2] * dims[3];
  if (input.data.length !== expectedLength) {
    throw invalidInput(`data of length N·C·H·W = ${expectedLength}`, 'input.data', `length ${input.data.length}`);
  }
  return [dims[0], dims[1], dims[2], dims[3]];
}

function checkRois(rois: Float32Array, batchSize: number): number {
  if (!(rois instanceof Float32Array)) throw invalidInput('a Float32Array of K×5 [batchIndex, x1, y1, x2, y2] rows', 'rois', describe(rois));
  if (rois.length % 5 !== 0) throw invalidInput('a length that is a multiple of 5 (K×5 [batchIndex, x1, y1, x2, y2])', 'rois', `length ${rois.length}`);
  const k = rois.length / 5;
  for (let r = 0; r < k; r++) {
    const b = rois[5 * r];
    if (!Number.isInteger(b) || b < 0 || b >= batchSize) {
      throw invalidInput(`an integer batch index in [0, ${batchSize - 1}]`, `rois[${r}][0]`, describe(b));
    }
    for (let c = 1; c < 5; c++) {
      if (!Number.isFinite(rois[5 * r + c])) {
        throw invalidInput('finite coordinates', `rois[${r}]`, `[${Array.from(rois.subarray(5 * r, 5 * r + 5)).join(', ')}]`);
      }
    }
  }
  return k;
}

/**
 * N×C×H×W → N×H×W×C (the channels of each pixel contiguous), into `out` with `stride` floats per
 * pixel (stride >= C; the channels from C to stride are left as they are). Blocked by 16 pixels so
 * both sides stay in cache.
 */
function transposeToChannelsLast(data: Float32Array, batch: number, channels: number, planeSize: number, out: Float32Array, outOffset: number, stride: number): void {
  for (let b = 0; b < batch; b++) {
    const src = b * channels * planeSize, dst = outOffset + b * planeSize * stride;
    for (let p0 = 0; p0 < planeSize; p0 += 16) {
      const p1 = Math.min(p0 + 16, planeSize);
      for (let c = 0; c < channels; c++) {
        const plane = src + c * planeSize;
        for (let p = p0; p < p1; p++) out[dst + p * stride + c] = data[plane + p];
      }
    }
  }
}

/**
 * The same feature map with the channels of each pixel contiguous (N×H×W×C): convert once, then
 * pool any number of RoI batches from it without converting again.
 * @throws InvalidInputError for a malformed tensor.
 */
export function channelsLast(input: Tensor): ChannelsLastTensor {
  const [batch, channels, height, width] = checkInput(input);
  const data = new Float32Array(input.data.length);
  transposeToChannelsLast(input.data, batch, channels, height * width, data, 0, channels);
  return { layout: 'nhwc', data, dims: [batch, channels, height, width] };
}

/** The map into the kernel's memory at 0, channels last with `cp` floats per pixel (the padding 0). */
function copyMap(input: Tensor | ChannelsLastTensor, batch: number, channels: number, planeSize: number, floats: Float32Array, cp: number): void {
  const nhwc = 'layout' in input && input.layout === 'nhwc';
  const pixels = batch * planeSize;
  if (nhwc && cp === channels) floats.set(input.data);
  else if (nhwc) for (let p = 0; p < pixels; p++) floats.set(input.data.subarray(p * channels, (p + 1) * channels), p * cp);
  else transposeToChannelsLast(input.data, batch, channels, planeSize, floats, 0, cp);
  if (cp !== channels) for (let p = 0; p < pixels; p++) floats.fill(0, p * cp + channels, (p + 1) * cp);
}

/** One RoI in feature-map units: start, bin size, samples per bin (torchvision's per-RoI preamble). */
interface RoiGrid { startW: number; startH: number; binW: number; binH: number; gridH: number; gridW: number; count: number }

function roiGrid(rois: Float32Array, r: number, options: RoiAlignOptions): RoiGrid {
  const scale = f32(options.spatialScale);
  const offset = options.aligned ? 0.5 : 0;
  const [oh, ow] = options.outputSize;
  const ratio = options.samplingRatio;
  const startW = f32(f32(rois[5 * r + 1] * scale) - offset);
  const startH = f32(f32(rois[5 * r + 2] * scale) - offset);
  const endW = f32(f32(rois[5 * r + 3] * scale) - offset);
  const endH = f32(f32(rois[5 * r + 4] * scale) - offset);
  let roiW = f32(endW - startW);
  let roiH = f32(endH - startH);
  if (!options.aligned) {
    roiW = Math.max(roiW, 1);
    roiH = Math.max(roiH, 1);
  }
  const gridH = ratio > 0 ? ratio : Math.ceil(f32(roiH / oh));
  const gridW = ratio > 0 ? ratio : Math.ceil(f32(roiW / ow));
  return { startW, startH, binW: f32(roiW / ow), binH: f32(roiH / oh), gridH, gridW, count: Math.max(gridH * gridW, 1) };
}

/**
 * The sample coordinates along one axis of one RoI, `bins × grid` of them, as the kernel computes
 * them (`start + p·bin + (i + .5)·bin / grid` in float32), each written as 4 words at `at`:
 * [low·rowStride, high·rowStride, l, h] (int32, int32, float32, float32) — the two taps, the weight
 * of the high tap and of the low one. A coordinate outside [-1, size] gets low = -1: the kernel's
 * zero sample. Returns the next free word.
 */
function axisTerms(start: number, bin: number, grid: number, bins: number, size: number, rowStride: number, ints: Int32Array, floats: Float32Array, at: number): number {
  for (let p = 0; p < bins; p++) {
    const base = f32(start + f32(p * bin));
    for (let i = 0; i < grid; i++, at += 4) {
      let v = f32(base + f32(f32((i + 0.5) * bin) / grid));
      if (v < -1 || v > size) {
        ints[at] = -1;
        continue;
      }
      if (v <= 0) v = 0;
      let low = Math.trunc(v), high: number;
      if (low >= size - 1) {
        high = low = size - 1;
        v = low;
      } else {
        high = low + 1;
      }
      const l = f32(v - low);
      ints[at] = low * rowStride;
      ints[at + 1] = high * rowStride;
      floats[at + 2] = l;
      floats[at + 3] = f32(1 - l);
    }
  }
  return at;
}

type PoolFunction = (hwc: number, cp: number, ys: number, xs: number, oh: number, ow: number, gh: number, gw: number, count: number, samples: number, out: number) => void;

let kernel: { wasm: WasmKernel; pool: PoolFunction } | undefined;

/** The WebAssembly pooling kernel (wasm/roi-align.wat), instantiated on first use. */
function poolKernel(): { wasm: WasmKernel; pool: PoolFunction } {
  if (kernel === undefined) {
    const wasm = instantiate(ROI_ALIGN_WASM);
    kernel = { wasm, pool: wasm.exports.pool as PoolFunction };
  }
  return kernel;
}

/** Output bytes pooled per round trip before they are copied out of the kernel's memory. */
const OUTPUT_CHUNK_BYTES = 1 << 20;

/**
 * torchvision.ops.roi_align. Inverted and empty boxes are accepted with torchvision's meaning
 * (an aligned, adaptive RoI with no samples pools to 0). `output`, when given, receives the
 * K×C×oh×ow result (exactly that length) and is returned as the tensor's data: a caller pooling
 * batches of the same size can reuse one buffer.
 * @throws InvalidInputError for a malformed input tensor, rois, options or output buffer.
 */
export function roiAlign(input: Tensor | ChannelsLastTensor, rois: Float32Array, options: RoiAlignOptions, output?: Float32Array): Tensor {
  checkOptions(options);
  const [batch, channels, height, width] = checkInput(input);
  const k = checkRois(rois, batch);
  const [oh, ow] = options.outputSize;
  const bins = oh * ow;
  const size = k * channels * bins;
  if (output !== undefined && !(output instanceof Float32Array && output.length === size)) {
    throw invalidInput(`a Float32Array of K·C·oh·ow = ${size}`, 'output', output instanceof Float32Array ? `length ${output.length}` : describe(output));
  }
  const out = output ?? new Float32Array(size);
  if (size === 0) return { data: out, dims: [k, channels, oh, ow] };

  // Per-RoI grids first: the scratch the largest needs is reserved once.
  const grids = Array.from({ length: k }, (_, r) => roiGrid(rois, r, options));
  let maxGh = 0, maxGw = 0;
  for (const g of grids) {
    maxGh = Math.max(maxGh, g.gridH);
    maxGw = Math.max(maxGw, g.gridW);
  }
  // Kernel memory: the channels-last map (cp floats per pixel), row and column terms, one bin's
  // samples, and a chunk of pooled RoIs.
  const cp = (channels + 3) & ~3;
  const roiFloats = cp * bins;
  const chunk = Math.max(1, Math.min(k, Math.floor(OUTPUT_CHUNK_BYTES / (4 * roiFloats))));
  const mapBytes = 4 * batch * height * width * cp;
  const ysAt = mapBytes, xsAt = ysAt + 16 * oh * maxGh, samplesAt = xsAt + 16 * ow * maxGw;
  const outAt = samplesAt + 32 * maxGh * maxGw;
  const pk = poolKernel();
  reserve(pk.wasm, outAt + 4 * chunk * roiFloats, 'roiAlign', `input dims [${input.dims.join(', ')}], largest sample grid ${maxGh}×${maxGw}`);
  const floats = new Float32Array(pk.wasm.memory.buffer), ints = new Int32Array(pk.wasm.memory.buffer);

  copyMap(input, batch, channels, height * width, floats, cp);

  for (let r0 = 0; r0 < k; r0 += chunk) {
    const r1 = Math.min(k, r0 + chunk);
    for (let r = r0; r < r1; r++) {
      const g = grids[r];
      axisTerms(g.startH, g.binH, g.gridH, oh, height, width, ints, floats, ysAt >> 2);
      axisTerms(g.startW, g.binW, g.gridW, ow, width, 1, ints, floats, xsAt >> 2);
      const image = 4 * rois[5 * r] * height * width * cp;
      pk.pool(image, cp, ysAt, xsAt, oh, ow, g.gridH, g.gridW, g.count, samplesAt, outAt + 4 * (r - r0) * roiFloats);
    }
    const from = outAt >> 2;
    if (cp === channels) out.set(floats.subarray(from, from + (r1 - r0) * roiFloats), r0 * channels * bins);
    else for (let r = r0; r < r1; r++) out.set(floats.subarray(from + (r - r0) * roiFloats, from + (r - r0) * roiFloats + channels * bins), r * channels * bins);
  }
  return { data: out, dims: [k, channels, oh, ow] };
}

/** K×5 RoIs `[batchIndex, x1, y1, x2, y2]` for boxes of one image (the `rois` roiAlign takes). */
export function roisOf(boxes: Boxes, batchIndex = 0): Float32Array {
  const rois = new Float32Array(5 * boxes.length);
  for (let i = 0; i < boxes.length; i++) {
    rois[5 * i] = batchIndex;
    rois.set(boxes.data.subarray(4 * i, 4 * i + 4), 5 * i + 1);
  }
  return rois;
}
