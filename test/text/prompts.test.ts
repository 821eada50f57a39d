import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  ENSEMBLE_TEMPLATES, SINGLE_TEMPLATES, TEMPLATE_SETS, buildPrompts, ensembleBatch, ensembleEmbeddings, fillTemplate,
  indefiniteArticle, l2NormalizeRows, InvalidInputError,
} from '../../src/index.js';
import { hasTorch, python, trainingDir } from '../helpers/python.js';

describe('templates', () => {
  it('single is one template, ensemble is OpenAI’s 80 plus "{}."', () => {
    expect(SINGLE_TEMPLATES).toEqual(['a photo of a {}.']);
    expect(ENSEMBLE_TEMPLATES).toHaveLength(81);
    expect(new Set(ENSEMBLE_TEMPLATES).size).toBe(81);
    expect(ENSEMBLE_TEMPLATES[0]).toBe('a bad photo of a {}.');
    expect(ENSEMBLE_TEMPLATES[80]).toBe('{}.');
    expect(ENSEMBLE_TEMPLATES.every((t) => t.includes('{}'))).toBe(true);
    expect(Object.keys(TEMPLATE_SETS)).toEqual(['single', 'ensemble']);
  });

  it('fixes the article directly before the phrase', () => {
    expect(fillTemplate('a photo of a {}.', 'apple')).toBe('a photo of an apple.');
    expect(fillTemplate('a photo of a {}.', 'umbrella')).toBe('a photo of an umbrella.');
    expect(fillTemplate('a photo of a {}.', 'unicorn')).toBe('a photo of a unicorn.');
    expect(fillTemplate('a photo of a {}.', 'hour glass')).toBe('a photo of an hour glass.');
    expect(fillTemplate('a photo of a large {}.', 'apple')).toBe('a photo of a large apple.');
    expect(fillTemplate('a photo of a {}.', 'apple', { articles: false })).toBe('a photo of a apple.');
    expect(indefiniteArticle('car')).toBe('a');
    expect(buildPrompts('egg', 'ensemble')).toHaveLength(81);
    expect(() => fillTemplate('no slot', 'x')).toThrow(InvalidInputError);
  });
});

// The article fix-up (text.articles, on by default): "a"/"an" before {} chosen by the label's first
// sound; a label with its own determiner fills the template verbatim. [label, "a photo of a {}." filled]
const ARTICLE_CASES: [string, string][] = [
  // the label has its own determiner or count: the template is left alone
  ['a man', 'a photo of a a man.'],
  ['an apple', 'a photo of a an apple.'],
  ['the dog', 'a photo of a the dog.'],
  ['The Eiffel Tower', 'a photo of a The Eiffel Tower.'],
  ['two dogs', 'a photo of a two dogs.'],
  ['eight horses', 'a photo of a eight horses.'],
  ['my car', 'a photo of a my car.'],
  ['her umbrella', 'a photo of a her umbrella.'],
  ['some apples', 'a photo of a some apples.'],
  ['these shoes', 'a photo of a these shoes.'],
  ['every orange', 'a photo of a every orange.'],
  ['11 eggs', 'a photo of a 11 eggs.'],
  // acronyms in capitals: by the sound of the first letter's name
  ['MRI', 'a photo of an MRI.'],
  ['MRI machine', 'a photo of an MRI machine.'],
  ['SUV', 'a photo of an SUV.'],
  ['SUVs', 'a photo of an SUVs.'],
  ['USB', 'a photo of a USB.'],
  ['USB stick', 'a photo of a USB stick.'],
  ['FBI agent', 'a photo of an FBI agent.'],
  ['UFO', 'a photo of a UFO.'],
  ['NBA player', 'a photo of an NBA player.'],
  ['HDMI cable', 'a photo of an HDMI cable.'],
  ['LED lamp', 'a photo of an LED lamp.'],
  ['ATM', 'a photo of an ATM.'],
  ['TV', 'a photo of a TV.'],
  ['DVD player', 'a photo of a DVD player.'],
  ['MP3 player', 'a photo of an MP3 player.'],
  ['A4 sheet', 'a photo of an A4 sheet.'],
  // acronyms read as words, and capitals that are shouting, not acronyms
  ['NASA rocket', 'a photo of a NASA rocket.'],
  ['IKEA shelf', 'a photo of an IKEA shelf.'],
  ['LEGO brick', 'a photo of a LEGO brick.'],
  ['UMBRELLA', 'a photo of an UMBRELLA.'],
  ['SNAKE', 'a photo of a SNAKE.'],
  ['HOT DOG', 'a photo of a HOT DOG.'],
  // a single letter before a hyphen: its name
  ['X-ray', 'a photo of an X-ray.'],
  ['x-ray machine', 'a photo of an x-ray machine.'],
  ['T-shirt', 'a photo of a T-shirt.'],
  ['U-turn sign', 'a photo of a U-turn sign.'],
  ['F-16', 'a photo of an F-16.'],
  ['e-bike', 'a photo of an e-bike.'],
  ['Y-junction', 'a photo of a Y-junction.'],
  // lowercase acronyms (phrases from --caption are lowercase)
  ['mri scanner', 'a photo of an mri scanner.'],
  ['suv', 'a photo of an suv.'],
  ['usb cable', 'a photo of a usb cable.'],
  ['atm', 'a photo of an atm.'],
  ['tv', 'a photo of a tv.'],
  ['lcd screen', 'a photo of an lcd screen.'],
  ['rv', 'a photo of an rv.'],
  ['mp3 player', 'a photo of an mp3 player.'],
  // lowercase words: by sound, with the known exceptions
  ['apple', 'a photo of an apple.'],
  ['Apple', 'a photo of an Apple.'],
  ['car', 'a photo of a car.'],
  ['university', 'a photo of a university.'],
  ['unicorn', 'a photo of a unicorn.'],
  ['uniform', 'a photo of a uniform.'],
  ['uninhabited island', 'a photo of an uninhabited island.'],
  ['umbrella', 'a photo of an umbrella.'],
  ['urban street', 'a photo of an urban street.'],
  ['urinal', 'a photo of a urinal.'],
  ['utensil', 'a photo of a utensil.'],
  ['usher', 'a photo of an usher.'],
  ['useful tool', 'a photo of a useful tool.'],
  ['one-way street', 'a photo of a one-way street.'],
  ['onion', 'a photo of an onion.'],
  ['hour', 'a photo of an hour.'],
  ['hourglass', 'a photo of an hourglass.'],
  ['honest man', 'a photo of an honest man.'],
  ['heir', 'a photo of an heir.'],
  ['house', 'a photo of a house.'],
  ['European', 'a photo of a European.'],
  ['euro coin', 'a photo of a euro coin.'],
  ['ewe', 'a photo of a ewe.'],
  ['Uber driver', 'a photo of an Uber driver.'],
  ['xylophone', 'a photo of a xylophone.'],
  ['Xbox', 'a photo of an Xbox.'],
  ['Mr. Potato Head', 'a photo of a Mr. Potato Head.'],
  // numbers: by how they are spoken
  ['8-ball', 'a photo of an 8-ball.'],
  ['80s car', 'a photo of an 80s car.'],
  ['18-wheeler', 'a photo of an 18-wheeler.'],
  ['11-year-old boy', 'a photo of an 11-year-old boy.'],
  ['1800s house', 'a photo of an 1800s house.'],
  ['180-degree ramp', 'a photo of a 180-degree ramp.'],
  ['100-dollar bill', 'a photo of a 100-dollar bill.'],
  ['3D printer', 'a photo of a 3D printer.'],
];

describe('article fix-up (text.articles, the default)', () => {
  it(`holds ${ARTICLE_CASES.length} cases`, () => expect(ARTICLE_CASES.length).toBeGreaterThan(30));
  it.each(ARTICLE_CASES)('%j → %j', (label, filled) => {
    expect(fillTemplate('a photo of a {}.', label)).toBe(filled);
  });

  it('fixes only an article right before {}, keeps its capital, and leaves other templates and articles: false verbatim', () => {
    expect(fillTemplate('A {} in a video game.', 'SUV')).toBe('An SUV in a video game.');
    expect(fillTemplate('An {}.', 'USB stick')).toBe('A USB stick.');
    expect(fillTemplate('a photo of many {}.', 'SUV')).toBe('a photo of many SUV.');
    expect(fillTemplate('a photo of the {}.', 'a man')).toBe('a photo of the a man.');
    expect(fillTemplate('a photo of a {}.', 'MRI', { articles: false })).toBe('a photo of a MRI.');
    expect(fillTemplate('a photo of a {}.', 'an a man', { articles: false })).toBe('a photo of a an a man.');
  });

  it('indefiniteArticle gives the sound-based article, whatever the label starts with', () => {
    expect(['MRI', 'SUV', 'FBI', 'hour', 'honest', '8', 'X-ray', 'apple'].map(indefiniteArticle)).toEqual(['an', 'an', 'an', 'an', 'an', 'an', 'an', 'an']);
    expect(['USB', 'UFO', 'university', 'one-way', 'European', '100', 'T-shirt', 'car', ''].map(indefiniteArticle)).toEqual(['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a']);
  });
});

// The Python tools (training/: conversion references, training prompts) fill templates with the same
// rule and word lists (src/text/articles.json).
describe.skipIf(!hasTorch)('article fix-up parity with training/detector_common.py', () => {
  it(`fill_template gives the same ${ARTICLE_CASES.length} prompts`, () => {
    const script = 'import json, sys; from detector_common import fill_template; print(json.dumps([fill_template("a photo of a {}.", l) for l in json.load(sys.stdin)]))';
    const run = spawnSync(python, ['-c', script], { cwd: trainingDir, input: JSON.stringify(ARTICLE_CASES.map(([label]) => label)), encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual(ARTICLE_CASES.map(([, filled]) => filled));
  });
});

describe('ensembling rules', () => {
  // Two templates, D = 2: [3, 4] (norm 5) and [0, 1] (norm 1).
  const embeds = Float32Array.from([3, 4, 0, 1]);

  it('normalize-average-normalize (default): mean of unit rows, renormalized', () => {
    // unit rows [0.6, 0.8] and [0, 1] → mean [0.3, 0.9] → / sqrt(0.9)
    const out = ensembleEmbeddings(embeds, 2);
    const n = Math.sqrt(0.9);
    expect(out[0]).toBeCloseTo(0.3 / n, 6);
    expect(out[1]).toBeCloseTo(0.9 / n, 6);
  });

  it('average-normalize (RegionCLIP): mean of raw rows, normalized', () => {
    // mean [1.5, 2.5] → / sqrt(8.5)
    const out = ensembleEmbeddings(embeds, 2, 'average-normalize');
    expect(out[0]).toBeCloseTo(1.5 / Math.sqrt(8.5), 6);
    expect(out[1]).toBeCloseTo(2.5 / Math.sqrt(8.5), 6);
  });

  it('both agree when all rows already have unit norm, and the output has unit norm', () => {
    const unit = l2NormalizeRows(Float32Array.from([1, 2, 3, -1, 0, 2, 5, 5, 1]), 3);
    const a = ensembleEmbeddings(unit, 3);
    const b = ensembleEmbeddings(unit, 3, 'average-normalize');
    for (let d = 0; d < 3; d++) expect(a[d]).toBeCloseTo(b[d], 6);
    expect(Math.hypot(...a)).toBeCloseTo(1, 6);
  });

  it('batches [P, T, D] and checks shapes', () => {
    const out = ensembleBatch(Float32Array.from([3, 4, 0, 1, 1, 0, 1, 0]), 2, 2);
    expect(out).toHaveLength(4);
    expect(out[2]).toBeCloseTo(1, 6);
    expect(() => ensembleEmbeddings(new Float32Array(3), 2)).toThrow(InvalidInputError);
    expect(() => ensembleBatch(new Float32Array(6), 2, 2)).toThrow(InvalidInputError);
    expect(() => ensembleEmbeddings(embeds, 2, 'mean' as never)).toThrow(InvalidInputError);
  });
});
