/**
 * The COCO formats as types: ground-truth datasets (images, categories, annotations), detection
 * results and the base/novel split. Pure declarations shared by eval/ (which scores them) and
 * io/coco.ts (which reads, validates and writes them).
 */

/** `[x, y, w, h]` in absolute pixels, w and h >= 0. */
export type CocoBbox = [number, number, number, number];

export interface CocoImage {
  id: number;
  width?: number;
  height?: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: CocoBbox;
  /** The annotation's area (for COCO, the segment's area, not w*h); it decides the area range. */
  area: number;
  /** 1 for a crowd region: matched without penalty, never counted as a miss. */
  iscrowd: 0 | 1;
  [key: string]: unknown;
}

export interface CocoDataset {
  info?: unknown;
  licenses?: unknown;
  images: CocoImage[];
  categories: CocoCategory[];
  annotations: CocoAnnotation[];
  [key: string]: unknown;
}

/** One detection in COCO's results format. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  bbox: CocoBbox;
  score: number;
}

/** Category ids or names, split into novel (target) and base categories (the open-vocabulary setting). */
export interface CocoSplit {
  novel: (number | string)[];
  base: (number | string)[];
}
