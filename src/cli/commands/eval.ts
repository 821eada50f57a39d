/**
 * `regionclip eval --gt annotations.json --results detections.json [--split split.json] [--json]`:
 * COCO box evaluation at pycocotools parity, plus the open-vocabulary novel/base summary.
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { cocoEvalJson, evaluateFiles, splitLines, summaryLines } from '../../pipelines/eval.js';
import type { OptionTable } from '../options.js';

export const evalOptions = {
  gt: { type: 'string', demandOption: true, describe: 'COCO ground-truth dataset (images, categories, annotations)' },
  results: { type: 'string', demandOption: true, describe: 'COCO results: [{ image_id, category_id, bbox: [x, y, w, h], score }]' },
  split: { type: 'string', describe: 'Novel/base categories: { "novel": [ids or names], "base": [ids or names] } (names match ignoring case, spacing and Unicode form)' },
  json: { type: 'boolean', default: false, describe: 'Print one JSON object { stats, perCategory, split? } instead of the table' },
  'per-category': { type: 'boolean', default: false, describe: 'Also print AP, AP50, AP75 and AR@100 per category (table output)' },
} as const satisfies OptionTable;

type EvalArgs = InferredOptionTypes<typeof evalOptions>;

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Evaluate COCO detections against ground truth (pycocotools bbox AP/AR, novel/base split)',
  builder: (yargs: Argv) =>
    yargs
      .options(evalOptions)
      .example('$0 eval --gt instances_val2017.json --results dets.json --split ovd_split.json', ''),
  handler: (argv: ArgumentsCamelCase<EvalArgs>) => {
    const result = evaluateFiles(argv);
    for (const warning of result.warnings) console.error(`regionclip: warning: ${warning}`);
    if (argv.json) {
      console.log(JSON.stringify(cocoEvalJson(result)));
      return;
    }
    const lines = summaryLines(result.stats);
    if (result.split !== undefined) lines.push(...splitLines(result.split));
    if (argv.perCategory) {
      const width = Math.max(8, ...result.perCategory.map((c) => c.name.length));
      lines.push('', ` ${'id'.padStart(6)}  ${'category'.padEnd(width)}  ${'AP'.padStart(6)}  ${'AP50'.padStart(6)}  ${'AP75'.padStart(6)}  ${'AR100'.padStart(6)}`);
      for (const c of result.perCategory) {
        const cell = (v: number) => (v === -1 ? '-' : (100 * v).toFixed(1)).padStart(6);
        lines.push(` ${String(c.id).padStart(6)}  ${c.name.padEnd(width)}  ${cell(c.ap)}  ${cell(c.ap50)}  ${cell(c.ap75)}  ${cell(c.recall)}`);
      }
    }
    console.log(lines.join('\n'));
  },
};
