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

/**
 * torchvision.ops.roi_align. Inverted and empty boxes are accepted with torchvision's meaning
 * (an aligned, adaptive RoI with no samples pools to 0).
 */
export function roiAlign(input: Tensor, rois: Float32Array, options: RoiAlignOptions): Tensor {
  checkOptions(options);
  const [batch, channels, height, width] = checkInput(input);
  const k = checkRois(rois, batch);
  const [oh, ow] = options.outputSize;
  const scale = f32(options.spatialScale);
  const offset = options.aligned ? 0.5 : 0;
  const ratio = options.samplingRatio;
  const data = input.data;
  const planeSize = height * width;
  const binCount = oh * ow;
  const output = new Float32Array(k * channels * binCount);

  // Per RoI, the bilinear taps of every sample, grouped by output bin (torchvision's pre_calc).
  let pos = new Int32Array(0);
  let weights = new Float32Array(0);
  const binStart = new Int32Array(binCount + 1);
  const acc = new Float32Array(channels);
  const hwc = k > 0 ? toChannelsLast(data, batch, channels, planeSize) : data;

  for (let r = 0; r < k; r++) {
    const batchIndex = rois[5 * r];
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
    const binW = f32(roiW / ow);
    const binH = f32(roiH / oh);
    const gridH = ratio > 0 ? ratio : Math.ceil(f32(roiH / oh));
    const gridW = ratio > 0 ? ratio : Math.ceil(f32(roiW / ow));
    const count = Math.max(gridH * gridW, 1);
    const samplesPerBin = Math.max(gridH, 0) * Math.max(gridW, 0);
    const needed = binCount * samplesPerBin * 4;
    if (pos.length < needed) {
      pos = new Int32Array(needed);
      weights = new Float32Array(needed);
    }

    let t = 0; // tap cursor (4 taps per sample)
    for (let ph = 0; ph < oh; ph++) {
      for (let pw = 0; pw < ow; pw++) {
        binStart[ph * ow + pw] = t;
        for (let iy = 0; iy < gridH; iy++) {
          const yy = f32(f32(startH + f32(ph * binH)) + f32(f32((iy + 0.5) * binH) / gridH));
          for (let ix = 0; ix < gridW; ix++) {
            let x = f32(f32(startW + f32(pw * binW)) + f32(f32((ix + 0.5) * binW) / gridW));
            let y = yy;
            if (y < -1 || y > height || x < -1 || x > width) {
              // Outside the map: contributes 0 but still counts toward `count`.
              pos[t] = pos[t + 1] = pos[t + 2] = pos[t + 3] = 0;
              weights[t] = weights[t + 1] = weights[t + 2] = weights[t + 3] = 0;
              t += 4;
              continue;
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
            t += 4;
          }
        }
      }
    }
    binStart[binCount] = t;

    // Accumulate every channel of a bin at once from the channels-last copy: the same per-output
    // order of additions as the kernel (sample by sample), with contiguous loads.
    const imageBase = batchIndex * planeSize * channels;
    const outputBase = r * channels * binCount;
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
