/**
 * Parity of a converted model folder with PyTorch at any size: the ONNX graphs in onnxruntime-node against the
 * converter's `--reference` file (torch eager), max |diff| per output, plus the ResNet split identity.
 *
 *   npx tsx bench/convert-parity.ts /tmp/cvfull/rc-pre /tmp/cvfull/rc-pre.json
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parityAgainstReference, readReference, splitIdentity } from '../test/helpers/convert-parity.js';

const [dir, referencePath] = process.argv.slice(2);
if (!dir || !referencePath) {
  console.error('usage: npx tsx bench/convert-parity.ts MODEL_DIR REFERENCE_JSON');
  process.exit(2);
}
const reference = readReference(referencePath);
const t0 = performance.now();
const diffs = await parityAgainstReference(dir, reference);
for (const [name, diff] of Object.entries(diffs)) console.log(`${name.padEnd(24)} max |onnx - torch| ${diff.toExponential(2)}`);
const graphs = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).graphs;
if (graphs.backbone !== undefined || existsSync(join(dir, 'features.json'))) {
  console.log(`${'split identity'.padEnd(24)} max |vision - head(roiAlign(backbone))| ${(await splitIdentity(dir, reference)).toExponential(2)}`);
}
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
