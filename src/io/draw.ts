/**
 * Annotated images with @napi-rs/canvas: one colour per label, a box per detection with a line
 * width scaled to the image, and a "label 0.87" tag on a filled background whose text colour is
 * chosen by the background's luminance, so it reads on any image.
 */
import { writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { createCanvas, ImageData } from '@napi-rs/canvas';
import { IoError, InvalidInputError, expectedMessage } from '../errors.js';
import type { PixelImage } from '../image/resample.js';
import { toRgb } from '../image/preprocess.js';
import { checkWritableFile, statIfExists } from './files.js';
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

/** Annotated image formats, by extension. */
const ANNOTATED_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Writes an annotated image; the format follows the extension (.png, .jpg/.jpeg). */
export async function saveAnnotated(path: string, image: PixelImage, detections: readonly DrawableDetection[]): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (!ANNOTATED_EXTENSIONS.includes(ext)) {
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
 * Where `--save` puts each image's annotated copy, decided and checked before any image is read.
 * One image and a .png/.jpg/.jpeg path: that file. Several images, or a folder (an existing one, or
 * a path ending in /; created when missing): `<folder>/<name>.png`, where the name is the image's
 * path inside the images' deepest common folder, extension dropped (`a/1.jpg`, `b/1.jpg` →
 * `a/1.png`, `b/1.png`); images whose names would still collide keep their extension
 * (`1.jpg.png`, `1.png.png`); the image read from stdin ("-") is `stdin.png` at the folder's top. The
 * names depend only on the set of images, not on their order.
 * @throws InvalidInputError for a path that is neither; IoError for a folder that cannot be made or
 *   a target that cannot be written (a folder where a file goes, a missing parent folder).
 */
export function annotatedPaths(save: string, images: readonly string[]): (image: string) => string {
  const asFolder = images.length > 1 || /[\\/]$/.test(save) || statIfExists(save)?.isDirectory() === true;
  if (!asFolder) {
    if (!ANNOTATED_EXTENSIONS.includes(extname(save).toLowerCase())) {
      throw new InvalidInputError(expectedMessage('a .png, .jpg or .jpeg path, or a folder (an existing one, or a path ending in /)', '--save', JSON.stringify(save)));
    }
    checkWritableFile(save, '--save');
    return () => save;
  }
  if (statIfExists(save)?.isFile()) {
    throw new IoError(expectedMessage(`a folder for the annotated images${images.length > 1 ? ' (there are several)' : ''}`, '--save', `${save} (a file)`));
  }
  const targets = new Map([...annotatedNames(images)].map(([full, name]) => [full, join(save, name)]));
  for (const target of new Set([...targets.values()].map(dirname))) {
    try {
      mkdirSync(target, { recursive: true });
    } catch (error) {
      throw new IoError(expectedMessage('a folder for the annotated images', '--save', `${target} (${(error as NodeJS.ErrnoException).code ?? String(error)})`), { cause: error });
    }
  }
  for (const target of targets.values()) checkWritableFile(target, '--save');
  return (image) => {
    const target = targets.get(saveKey(image));
    if (target === undefined) throw new InvalidInputError(expectedMessage('one of the images the paths were made for', 'annotatedPaths', JSON.stringify(image)));
    return target;
  };
}

/** An image's key: its absolute path, or "-" for the image read from stdin. */
const saveKey = (image: string): string => (image === STDIN_INPUT ? STDIN_INPUT : resolve(image));

/** Each image's (by `saveKey`) name inside the `--save` folder: see annotatedPaths. The image read from stdin is
 * `stdin.png` at the top of the folder (numbered if an image already has that name). */
function annotatedNames(images: readonly string[]): Map<string, string> {
  const full = [...new Set(images.filter((image) => image !== STDIN_INPUT).map(saveKey))].sort();
  const names = full.length === 0 ? new Map<string, string>() : namesInside(full);
  if (images.includes(STDIN_INPUT)) {
    const taken = new Set(names.values());
    let name = 'stdin.png';
    for (let n = 2; taken.has(name); n++) name = `stdin-${n}.png`;
    names.set(STDIN_INPUT, name);
  }
  return names;
}

/** The names of files (absolute paths, sorted): their paths inside their deepest common folder. */
function namesInside(full: readonly string[]): Map<string, string> {
  const common = full.map(dirname).reduce((a, b) => {
    while (a !== b && !b.startsWith(a.endsWith(sep) ? a : `${a}${sep}`)) a = dirname(a);
    return a;
  });
  const inside = full.map((f) => relative(common, f));
  const withoutExt = inside.map((p) => `${p.slice(0, p.length - extname(p).length)}.png`);
  const withExt = inside.map((p, i) => (withoutExt.filter((n) => n === withoutExt[i]).length > 1 ? `${p}.png` : withoutExt[i]));
  // Still equal (an image named "1.jpg.png" beside "1.jpg" and "1.png"): numbered, in path order.
  const seen = new Map<string, number>();
  const names = withExt.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name.slice(0, -4)}-${n}.png`;
  });
  return new Map(full.map((f, i) => [f, names[i]]));
}
