/**
 * The COCO-65 analogue (../shared/background/coco65-analogue.md): COCO's open-vocabulary split,
 * 48 base / 17 novel class names, each defined by the icons listed there. Emoji icons are CLDR name
 * slugs shared by the Iconify emoji sets; `mdi:` icons come from @iconify-json/mdi (recoloured) and
 * are used in every style. `id` is the class's id in COCO's instances_*.json (1..90 with gaps), so a
 * COCO user's ids mean the same here.
 */
export interface Coco65Class {
  name: string;
  cocoId: number;
  split: 'base' | 'novel';
  /** Emoji slugs (all emoji styles) or `mdi:NAME`. */
  icons: string[];
  /** Only the fork: keep the part left of the widest empty column gap (the fork half of fork-and-knife). */
  crop?: 'fork-half';
}

const BASE: [string, number, string][] = [
  ['person', 1, 'person-standing'], ['bicycle', 2, 'bicycle'], ['car', 3, 'automobile'], ['motorcycle', 4, 'motorcycle'],
  ['train', 7, 'train'], ['truck', 8, 'delivery-truck'], ['boat', 9, 'sailboat'], ['bench', 15, 'mdi:bench-back'],
  ['bird', 16, 'bird'], ['horse', 19, 'horse'], ['sheep', 20, 'ewe'], ['bear', 23, 'bear'], ['zebra', 24, 'zebra'],
  ['giraffe', 25, 'giraffe'], ['backpack', 27, 'backpack'], ['handbag', 31, 'handbag'], ['suitcase', 33, 'luggage'],
  ['frisbee', 34, 'flying-disc'], ['skis', 35, 'skis'], ['kite', 38, 'kite'], ['surfboard', 42, 'person-surfing'],
  ['bottle', 44, 'bottle-with-popping-cork'], ['fork', 48, 'fork-and-knife'], ['spoon', 50, 'spoon'], ['bowl', 51, 'cooked-rice'],
  ['banana', 52, 'banana'], ['apple', 53, 'red-apple'], ['sandwich', 54, 'sandwich'], ['orange', 55, 'tangerine'],
  ['broccoli', 56, 'broccoli'], ['carrot', 57, 'carrot'], ['pizza', 59, 'pizza'], ['donut', 60, 'doughnut'],
  ['chair', 62, 'chair'], ['bed', 65, 'bed'], ['toilet', 70, 'toilet'], ['tv', 72, 'television'], ['laptop', 73, 'laptop'],
  ['mouse', 74, 'computer-mouse'], ['remote', 75, 'mdi:remote-tv'], ['microwave', 78, 'mdi:microwave'], ['oven', 79, 'mdi:stove'],
  ['toaster', 80, 'mdi:toaster'], ['refrigerator', 82, 'mdi:fridge'], ['book', 84, 'closed-book'], ['clock', 85, 'alarm-clock'],
  ['vase', 86, 'amphora'], ['toothbrush', 90, 'toothbrush'],
];

const NOVEL: [string, number, string][] = [
  ['airplane', 5, 'airplane'], ['bus', 6, 'bus'], ['cat', 17, 'cat'], ['dog', 18, 'dog'], ['cow', 21, 'cow'],
  ['elephant', 22, 'elephant'], ['umbrella', 28, 'umbrella'], ['tie', 32, 'necktie'], ['snowboard', 36, 'snowboarder'],
  ['skateboard', 41, 'skateboard'], ['cup', 47, 'hot-beverage'], ['knife', 49, 'kitchen-knife'], ['cake', 61, 'birthday-cake'],
  ['couch', 63, 'couch-and-lamp'], ['keyboard', 76, 'keyboard'], ['sink', 81, 'mdi:countertop'], ['scissors', 87, 'scissors'],
];

export const COCO65: Coco65Class[] = [
  ...BASE.map(([name, cocoId, icon]): Coco65Class => ({ name, cocoId, split: 'base', icons: [icon], ...(name === 'fork' ? { crop: 'fork-half' as const } : {}) })),
  ...NOVEL.map(([name, cocoId, icon]): Coco65Class => ({ name, cocoId, split: 'novel', icons: [icon] })),
].sort((a, b) => a.cocoId - b.cocoId);
