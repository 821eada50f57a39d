/**
 * Scores a phrase extractor on a gold set in the format of ../shared/golden/phrases/phrases.jsonl:
 * per item, the predicted set is compared with the gold list by exact string, then precision,
 * recall and F1 are micro-averaged over all items (extra predictions on items with an empty gold
 * list count against precision). Scored twice: `concepts` and `phrases`.
 *
 *   npx tsx bench/phrase-score.ts [path/to/phrases.jsonl] [--verbose]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractPhrases, type ExtractedPhrase } from '../src/text/phrases.js';

export interface GoldItem { id: string; text: string; phrases: string[]; concepts: string[] }
export interface Prf { tp: number; fp: number; fn: number; precision: number; recall: number; f1: number }
export interface PhraseScore { concept: Prf; phrase: Prf; items: number; errors: { id: string; text: string; field: 'concept' | 'phrase'; missing: string[]; extra: string[] }[] }

export function readGold(path: string): GoldItem[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as GoldItem);
}

function prf(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}

export function scorePhrases(items: GoldItem[], extract: (text: string) => ExtractedPhrase[] = extractPhrases): PhraseScore {
  const counts = { concept: [0, 0, 0], phrase: [0, 0, 0] };
  const errors: PhraseScore['errors'] = [];
  for (const item of items) {
    const predicted = extract(item.text);
    for (const field of ['concept', 'phrase'] as const) {
      const gold = new Set(field === 'concept' ? item.concepts : item.phrases);
      const pred = new Set(predicted.map((p) => p[field]));
      const missing = [...gold].filter((g) => !pred.has(g));
      const extra = [...pred].filter((p) => !gold.has(p));
      counts[field][0] += gold.size - missing.length;
      counts[field][1] += extra.length;
      counts[field][2] += missing.length;
      if (missing.length > 0 || extra.length > 0) errors.push({ id: item.id, text: item.text, field, missing, extra });
    }
  }
  return { concept: prf(...(counts.concept as [number, number, number])), phrase: prf(...(counts.phrase as [number, number, number])), items: items.length, errors };
}

function fmt(p: Prf): string {
  return `P ${p.precision.toFixed(3)}  R ${p.recall.toFixed(3)}  F1 ${p.f1.toFixed(3)}  (tp ${p.tp}, fp ${p.fp}, fn ${p.fn})`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const path = args.find((a) => !a.startsWith('--')) ?? resolve(fileURLToPath(import.meta.url), '../../../shared/golden/phrases/phrases.jsonl');
  const score = scorePhrases(readGold(path));
  if (args.includes('--verbose')) {
    for (const e of score.errors) console.log(`${e.id} ${e.field}: missing ${JSON.stringify(e.missing)} extra ${JSON.stringify(e.extra)}  | ${e.text}`);
  }
  console.log(`${path}: ${score.items} items`);
  console.log(`concept  ${fmt(score.concept)}`);
  console.log(`phrase   ${fmt(score.phrase)}`);
}
