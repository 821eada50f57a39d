/**
 * The drawing styles of the world: which Iconify set each comes from, its licence, whether it is
 * monochrome (drawn in `currentColor`, recoloured at random per object) and whether it is held out of
 * all training data (twemoji: only the held-out-style test set uses it).
 */
export interface StyleInfo {
  /** npm package with `icons.json` (Iconify JSON). */
  package: string;
  license: string;
  author: string;
  monochrome: boolean;
  heldOut: boolean;
}

export const STYLES = {
  noto: { package: '@iconify-json/noto', license: 'Apache-2.0', author: 'Google Inc', monochrome: false, heldOut: false },
  'noto-v1': { package: '@iconify-json/noto-v1', license: 'Apache-2.0', author: 'Google Inc', monochrome: false, heldOut: false },
  fxemoji: { package: '@iconify-json/fxemoji', license: 'Apache-2.0', author: 'Mozilla', monochrome: false, heldOut: false },
  'fluent-emoji': { package: '@iconify-json/fluent-emoji', license: 'MIT', author: 'Microsoft Corporation', monochrome: false, heldOut: false },
  'fluent-emoji-flat': { package: '@iconify-json/fluent-emoji-flat', license: 'MIT', author: 'Microsoft Corporation', monochrome: false, heldOut: false },
  'fluent-emoji-high-contrast': { package: '@iconify-json/fluent-emoji-high-contrast', license: 'MIT', author: 'Microsoft Corporation', monochrome: true, heldOut: false },
  mdi: { package: '@iconify-json/mdi', license: 'Apache-2.0', author: 'Pictogrammers', monochrome: true, heldOut: false },
  twemoji: { package: '@iconify-json/twemoji', license: 'CC-BY-4.0', author: 'Twitter, Inc and other contributors', monochrome: false, heldOut: true },
} as const satisfies Record<string, StyleInfo>;

export type StyleName = keyof typeof STYLES;
export const STYLE_NAMES = Object.keys(STYLES) as StyleName[];
export const TRAINING_STYLES = STYLE_NAMES.filter((s) => !STYLES[s].heldOut);
export const HELD_OUT_STYLE: StyleName = 'twemoji';
