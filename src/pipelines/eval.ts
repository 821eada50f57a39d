/**
 * COCO box evaluation of result files (`regionclip eval`): reads the ground truth, the results and
 * an optional novel/base split, and evaluates at pycocotools parity. Orchestration only.
 */
import { evaluateCoco, type CocoEvalResult } from '../eval/cocoeval.js';
import { readCocoDataset, readCocoResults, readCocoSplit } from '../io/coco.js';

export { cocoEvalJson, splitLines, summaryLines } from '../eval/cocoeval.js';

export function evaluateFiles(paths: { gt: string; results: string; split?: string }): CocoEvalResult {
  const gt = readCocoDataset(paths.gt);
  const results = readCocoResults(paths.results);
  const split = paths.split === undefined ? undefined : readCocoSplit(paths.split);
  return evaluateCoco(gt, results, { split });
}
