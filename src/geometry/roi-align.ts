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
 * `input` is N×C×H×W; `rois` is K×5 rows `[batchIndex, x1, y1, x2, y2]` in image coordinates;
 * the output is K×C×oh×ow.
 *
 * `aligned: true` shifts the box by half a pixel (-0.5 after scaling) so that a box [0, 1) covers
 * the centre of pixel 0 exactly: the pixel model detectron2's ROIAlignV2 and RegionCLIP use.
 * With `aligned: false` (the legacy model) boxes are also made at least 1×1.
 * `samplingRatio > 0` takes that many samples per bin along each axis; `<= 0` is adaptive:
 * `ceil(roiSize / outputSize)` per axis.
 */
import { describe, invalidInput } from '../errors.js';
import type { Boxes } from './boxes.js';
import type { Tensor } from './tensor.js';
import { checkInteger, checkNumber } from './validate.js';

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

function checkInput(input: Tensor): [number, number, number, number] {
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

/** N×C×(H·W) → N×(H·W)×C, so that the channels of one pixel are contiguous. */
function toChannelsLast(data: Float32Array, batch: number, channels: number, planeSize: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < batch; b++) {
    const base = b * channels * planeSize;
    for (let c = 0; c < channels; c++) {
      const plane = base + c * planeSize;
      for (let p = 0; p < planeSize; p++) out[base + p * channels + c] = data[plane + p];
    }
  }
  return out;
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

/** Bilinear taps of every sample, 4 per sample, grouped by output bin (torchvision's pre_calc). */
class Taps {
  pos = new Int32Array(0);
  weights = new Float32Array(0);
  readonly binStart: Int32Array;

  constructor(private readonly height: number, private readonly width: number, private readonly oh: number, private readonly ow: number) {
    this.binStart = new Int32Array(oh * ow + 1);
  }

  fill(g: RoiGrid): void {
    const needed = this.oh * this.ow * Math.max(g.gridH, 0) * Math.max(g.gridW, 0) * 4;
    if (this.pos.length < needed) {
      this.pos = new Int32Array(needed);
      this.weights = new Float32Array(needed);
    }
    let t = 0; // tap cursor (4 taps per sample)
    for (let ph = 0; ph < this.oh; ph++) {
      for (let pw = 0; pw < this.ow; pw++) {
        this.binStart[ph * this.ow + pw] = t;
        for (let iy = 0; iy < g.gridH; iy++) {
          const y = f32(f32(g.startH + f32(ph * g.binH)) + f32(f32((iy + 0.5) * g.binH) / g.gridH));
          for (let ix = 0; ix < g.gridW; ix++) {
            this.tap(t, y, f32(f32(g.startW + f32(pw * g.binW)) + f32(f32((ix + 0.5) * g.binW) / g.gridW)));
            t += 4;
          }
        }
      }
    }
    this.binStart[this.oh * this.ow] = t;
  }

  /** The 4 taps of the sample at (y, x), from index t. */
  private tap(t: number, y: number, x: number): void {
    const { height, width, pos, weights } = this;
    if (y < -1 || y > height || x < -1 || x > width) {
      // Outside the map: contributes 0 but still counts toward `count`.
      pos[t] = pos[t + 1] = pos[t + 2] = pos[t + 3] = 0;
      weights[t] = weights[t + 1] = weights[t + 2] = weights[t + 3] = 0;
      return;
    }
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    let yLow = Math.trunc(y), xLow = Math.trunc(x), yHigh: number, xHigh: number;
    if (yLow >= height - 1) {
      yHigh = yLow = height - 1;
      y = yLow;
    } else {
      yHigh = yLow + 1;
    }
    if (xLow >= width - 1) {
      xHigh = xLow = width - 1;
      x = xLow;
    } else {
      xHigh = xLow + 1;
    }
    const ly = f32(y - yLow), lx = f32(x - xLow);
    const hy = f32(1 - ly), hx = f32(1 - lx);
    pos[t] = yLow * width + xLow;
    pos[t + 1] = yLow * width + xHigh;
    pos[t + 2] = yHigh * width + xLow;
    pos[t + 3] = yHigh * width + xHigh;
    weights[t] = f32(hy * hx);
    weights[t + 1] = f32(hy * lx);
    weights[t + 2] = f32(ly * hx);
    weights[t + 3] = f32(ly * lx);
  }
}

/**
 * Accumulates every channel of each bin at once from the channels-last copy `hwc`: the same
 * per-output order of additions as the kernel (sample by sample), with contiguous loads. Writes
 * RoI r's C×oh×ow block of `output`.
 */
function poolBins(taps: Taps, hwc: Float32Array, imageBase: number, channels: number, count: number, output: Float32Array, outputBase: number, acc: Float32Array): void {
  const binCount = taps.binStart.length - 1;
  const { pos, weights, binStart } = taps;
  for (let bin = 0; bin < binCount; bin++) {
    acc.fill(0);
    for (let q = binStart[bin], end = binStart[bin + 1]; q < end; q += 4) {
      const w1 = weights[q], w2 = weights[q + 1], w3 = weights[q + 2], w4 = weights[q + 3];
      const p1 = imageBase + pos[q] * channels, p2 = imageBase + pos[q + 1] * channels;
      const p3 = imageBase + pos[q + 2] * channels, p4 = imageBase + pos[q + 3] * channels;
      for (let c = 0; c < channels; c++) {
        // acc is a Float32Array: each store rounds to float32 like the kernel's float accumulator.
        acc[c] += f32(f32(f32(f32(w1 * hwc[p1 + c]) + f32(w2 * hwc[p2 + c])) + f32(w3 * hwc[p3 + c])) + f32(w4 * hwc[p4 + c]));
      }
    }
    for (let c = 0; c < channels; c++) output[outputBase + c * binCount + bin] = acc[c] / count;
  }
}

/**
 * torchvision.ops.roi_align. Inverted and empty boxes are accepted with torchvision's meaning
 * (an aligned, adaptive RoI with no samples pools to 0).
 * @throws InvalidInputError for a malformed input tensor, rois or options.
 */
export function roiAlign(input: Tensor, rois: Float32Array, options: RoiAlignOptions): Tensor {
  checkOptions(options);
  const [batch, channels, height, width] = checkInput(input);
  const k = checkRois(rois, batch);
  const [oh, ow] = options.outputSize;
  const planeSize = height * width;
  const output = new Float32Array(k * channels * oh * ow);
  const taps = new Taps(height, width, oh, ow);
  const acc = new Float32Array(channels);
  const hwc = k > 0 ? toChannelsLast(input.data, batch, channels, planeSize) : input.data;
  for (let r = 0; r < k; r++) {
    const grid = roiGrid(rois, r, options);
    taps.fill(grid);
    poolBins(taps, hwc, rois[5 * r] * planeSize * channels, channels, grid.count, output, r * channels * oh * ow, acc);
  }
  return { data: output, dims: [k, channels, oh, ow] };
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
