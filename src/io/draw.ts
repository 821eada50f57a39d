/**
 * Annotated images with @napi-rs/canvas: one colour per label, a box per detection with a line
 * width scaled to the image, and a "label 0.87" tag on a filled background whose text colour is
 * chosen by the background's luminance, so it reads on any image.
 */
import { writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { createCanvas, ImageData } from '@napi-rs/canvas';
import { IoError, InvalidInputError, expectedMessage } from '../errors.js';
import type { PixelImage } from '../image/resample.js';
import { toRgb } from '../image/preprocess.js';
import { STDIN_INPUT } from './inputs.js';

export interface DrawableDetection {
  label: string;
  score: number;
  box: [number, number, number, number];
}

/** A stable, well-spread colour per label (golden-angle hues). */
export function labelColour(label: string, labels: readonly string[]): [number, number, number] {
  const index = Math.max(0, labels.indexOf(label));
  const hue = (index * 137.508) % 360;
  // HSL(hue, 85%, 50%) → RGB
  const s = 0.85, l = 0.5;
  const k = (n: number) => (n + hue / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(255 * f(0)), Math.round(255 * f(8)), Math.round(255 * f(4))];
}

/** Renders the detections over the image; returns PNG or JPEG bytes. */
export function renderDetections(image: PixelImage, detections: readonly DrawableDetection[], format: 'png' | 'jpeg' = 'png'): Buffer {
  const rgb = toRgb(image);
  const { width, height } = rgb;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba[4 * p] = rgb.data[3 * p];
    rgba[4 * p + 1] = rgb.data[3 * p + 1];
    rgba[4 * p + 2] = rgb.data[3 * p + 2];
    rgba[4 * p + 3] = 255;
  }
  ctx.putImageData(new ImageData(rgba, width, height), 0, 0);
  const labels = [...new Set(detections.map((d) => d.label))];
  const lineWidth = Math.max(2, Math.round(Math.min(width, height) / 250));
  const fontSize = Math.max(11, Math.round(Math.min(width, height) / 40));
  ctx.font = `${fontSize}px sans-serif`;
  ctx.textBaseline = 'top';
  // Lowest score first so the best detections end up on top.
  for (const d of [...detections].sort((a, b) => a.score - b.score)) {
    const [r, g, b] = labelColour(d.label, labels);
    const colour = `rgb(${r}, ${g}, ${b})`;
    const [x1, y1, x2, y2] = d.box;
    ctx.lineWidth = lineWidth;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const text = `${d.label} ${d.score.toFixed(2)}`;
    const textWidth = ctx.measureText(text).width;
    const pad = Math.max(2, Math.round(fontSize / 5));
    const tagH = fontSize + 2 * pad;
    const tagY = y1 - tagH >= 0 ? y1 - tagH : Math.min(y1, height - tagH);
    const tagX = Math.max(0, Math.min(x1 - lineWidth / 2, width - textWidth - 2 * pad));
    ctx.fillStyle = colour;
    ctx.fillRect(tagX, tagY, textWidth + 2 * pad, tagH);
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    ctx.fillStyle = luminance > 140 ? '#000000' : '#ffffff';
    ctx.fillText(text, tagX + pad, tagY + pad);
  }
  return format === 'png' ? canvas.toBuffer('image/png') : canvas.toBuffer('image/jpeg', 92);
}

/** Writes an annotated image; the format follows the extension (.png, .jpg/.jpeg). */
export async function saveAnnotated(path: string, image: PixelImage, detections: readonly DrawableDetection[]): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.png' && ext !== '.jpg' && ext !== '.jpeg') {
    throw new InvalidInputError(expectedMessage('a .png, .jpg or .jpeg path', '--save', JSON.stringify(path)));
  }
  const bytes = renderDetections(image, detections, ext === '.png' ? 'png' : 'jpeg');
  try {
    await writeFile(path, bytes);
  } catch (error) {
    throw new IoError(expectedMessage('a writable file', path, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
  }
}

/**
 * Where `--save` puts each image's annotated copy: the path itself for one image, or
 * `<folder>/<image name>.png` when there are several images or the path is an existing folder
 * (created when missing).
 */
export function annotatedPaths(save: string, imageCount: number): (image: string) => string {
  const folder = imageCount > 1 || (existsSync(save) && statSync(save).isDirectory());
  if (!folder) return () => save;
  try {
    mkdirSync(save, { recursive: true });
  } catch (error) {
    throw new IoError(expectedMessage('a folder for the annotated images (there are several)', save, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
  }
  // The image read from stdin ("-") is saved as stdin.png.
  return (image) => join(save, `${image === STDIN_INPUT ? 'stdin' : basename(image, extname(image))}.png`);
}
