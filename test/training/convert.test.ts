/**
 * The checkpoint converters (training/export_openai_clip.py, export_regionclip.py, compose_detector.py) on tiny
 * random checkpoints of the real structure (training/make_fake_checkpoints.py): our full-size modules reproduce the
 * upstream key lists (fixtures/real-weights-keys); every converted graph matches PyTorch eager within 1e-4 in
 * onnxruntime-node (text_embeds, image_embeds, res4, region_embeds, box_deltas, each RPN level); a ResNet tower's
 * vision(x) equals head(RoIAlign(backbone(x), full box)); the folders load in the runtime and run; bad checkpoints
 * are refused with a message naming the key. The detectron2 / RegionCLIP manifest fields (rpn.anchorStyle, levels'
 * strides, sizeDivisibility per branch, minSizeRule, boxDeltas) load as the converters write them. Text towers are
 * exported with a free sequence axis: batches cut after their last EOT give the 77-position embeddings.
 * Skips, saying so, when Debian's /usr/bin/python3 cannot import torch (apt-get install -y python3-torch python3-torchvision).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/read.js';
import { ClipModel } from '../../src/models/clip.js';
import { DetectorModel } from '../../src/models/detector.js';
import { Detector } from '../../src/pipelines/detect.js';
import { buildPrompts } from '../../src/text/prompts.js';
import { parityAgainstReference, readReference, splitIdentity } from '../helpers/convert-parity.js';
import { hasTorch, NO_TORCH, ok, py } from '../helpers/python.js';
import { copyWithManifest, expectedCutWidths, recordIdsDims, relativeDiff } from '../helpers/text-feeds.js';

const root = join(import.meta.dirname, '..', '..');
const tinyTokenizer = join(root, 'fixtures', 'models', 'tiny-clip');
if (!hasTorch) console.warn(`Skipping the converter tests: ${NO_TORCH}.`);

describe.skipIf(!hasTorch)('checkpoint converters on tiny fakes', () => {
  let tmp: string;
  const at = (...p: string[]) => join(tmp, ...p);
  const fake = (kind: string, file: string, ...extra: string[]) => ok(['make_fake_checkpoints.py', '--kind', kind, '--size', 'tiny', '--seed', '3', '--out', at(file), ...extra]);

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'convert-'));
    fake('openai-jit', 'RN.pt');
    fake('openai-jit', 'ViT.pt', '--arch', 'tiny-ViT');
    fake('regionclip-pretrained', 'pretrained.pth');
    fake('regionclip-finetuned', 'finetuned.pth');
    ok(['export_openai_clip.py', '--checkpoint', at('RN.pt'), '--tokenizer-dir', tinyTokenizer, '--out', at('oai-rn'), '--split', '--reference', at('oai-rn.json')]);
    ok(['export_openai_clip.py', '--checkpoint', at('ViT.pt'), '--tokenizer-dir', tinyTokenizer, '--out', at('oai-vit'), '--reference', at('oai-vit.json')]);
    ok(['export_regionclip.py', '--checkpoint', at('pretrained.pth'), '--tokenizer-dir', tinyTokenizer, '--out', at('rc-pre'), '--reference', at('rc-pre.json')]);
    ok(['export_regionclip.py', '--checkpoint', at('finetuned.pth'), '--text-checkpoint', at('RN.pt'), '--tokenizer-dir', tinyTokenizer,
      '--out', at('rc-fine'), '--reference', at('rc-fine.json')]);
  }, 400_000);
  afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('builds full-size modules with exactly the upstream key names, shapes and dtypes', () => {
    const out = ok(['-m', 'convert.check_keys', '--fixtures', join(root, 'fixtures', 'real-weights-keys')]);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(11);
    for (const line of lines) expect(line).toMatch(/^ok {3}/);
    expect(out).toContain('openai_RN50: 489 keys expected, 489 built');
    expect(out).toContain('detectron2_R50-FPN_rpn: 287 keys expected, 287 built');
    expect(out).toContain('detectron2_R50-C4_rpn: 221 keys expected, 221 built');
  }, 60_000);

  it('writes fake OpenAI archives that torch.jit.load reads, fp16 weights and the JIT-only entries included', () => {
    const out = ok(['-c', `import torch, sys; sd = torch.jit.load(sys.argv[1]).state_dict()
print(sd['visual.conv1.weight'].dtype, int(sd['input_resolution']), int(sd['context_length']), int(sd['vocab_size']), float(sd['visual.layer1.0.bn3.weight'].abs().min()) > 0)`, at('RN.pt')]);
    expect(out.trim()).toBe('torch.float16 64 77 714 True');
  });

  const folders = [['oai-rn', 'OpenAI ResNet, split'], ['oai-vit', 'OpenAI ViT'], ['rc-pre', 'RegionCLIP pretrained (FPN RPN)'], ['rc-fine', 'RegionCLIP finetuned (C4 RPN, box deltas)']];
  for (const [dir, label] of folders) {
    it(`matches PyTorch within 1e-4 on every graph output: ${label}`, async () => {
      const diffs = await parityAgainstReference(at(dir), readReference(at(`${dir}.json`)));
      const expected = {
        'oai-rn': ['text.text_embeds', 'vision.image_embeds', 'backbone.res4', 'head.region_embeds'],
        'oai-vit': ['text.text_embeds', 'vision.image_embeds'],
        'rc-pre': ['text.text_embeds', 'vision.image_embeds', 'backbone.res4', 'head.region_embeds',
          ...[0, 1, 2, 3, 4].flatMap((i) => [`rpn.objectness_${i}`, `rpn.deltas_${i}`])],
        'rc-fine': ['text.text_embeds', 'vision.image_embeds', 'backbone.res4', 'head.region_embeds', 'head.box_deltas', 'rpn.objectness_0', 'rpn.deltas_0'],
      }[dir]!;
      expect(Object.keys(diffs).sort()).toEqual([...expected].sort());
      for (const [name, diff] of Object.entries(diffs)) expect(diff, name).toBeLessThan(1e-4);
      if (dir !== 'oai-vit') expect(await splitIdentity(at(dir), readReference(at(`${dir}.json`)))).toBeLessThan(1e-5);
    });
  }

  it('writes fp16 graphs (float32 in and out) at about half the size, within fp16 rounding of PyTorch fp32', async () => {
    ok(['export_regionclip.py', '--checkpoint', at('pretrained.pth'), '--tokenizer-dir', tinyTokenizer, '--out', at('rc-pre16'), '--dtype', 'fp16', '--reference', at('rc-pre16.json')]);
    const onnxBytes = (dir: string) => readdirSync(at(dir)).filter((f) => f.endsWith('.onnx')).reduce((n, f) => n + statSync(at(dir, f)).size, 0);
    expect(onnxBytes('rc-pre16')).toBeLessThan(0.6 * onnxBytes('rc-pre'));
    const diffs = await parityAgainstReference(at('rc-pre16'), readReference(at('rc-pre16.json')));
    expect(Object.keys(diffs).length).toBe(14);
    // fp16 keeps ~3 significant digits: res4 (values up to ~10) moves by up to ~2e-2, the embeddings by ~1e-3.
    for (const [name, diff] of Object.entries(diffs)) expect(diff, name).toBeLessThan(5e-2);
    const detector = await Detector.load(at('rc-pre16'), { cacheDir: false });
    expect((await detector.detect(join(root, 'fixtures', 'images', 'shapes.png'), { vocab: 'square' })).phrases).toEqual(['square']);
    await detector.release();
  }, 300_000);

  it('records each branch\'s preprocessing and the detectron2 RPN settings in the manifest', () => {
    const pre = JSON.parse(readFileSync(at('rc-pre', 'manifest.json'), 'utf8'));
    expect(pre.rpn.input).toEqual({ channelOrder: 'BGR', pixelMean: [103.53, 116.28, 123.675], pixelStd: [1, 1, 1] });
    expect(pre.rpn.levels.map((l: { stride: number; anchorSizes: number[] }) => [l.stride, l.anchorSizes[0]])).toEqual([[4, 32], [8, 64], [16, 128], [32, 256], [64, 512]]);
    expect([pre.rpn.anchorStyle, pre.rpn.sizeDivisibility, pre.rpn.minSize, pre.rpn.minSizeRule, pre.rpn.nmsThreshold]).toEqual(['detectron2', 32, 0, 'gt', 0.9]);
    expect(pre.regionEncoder).toMatchObject({ mode: 'features', input: { channelOrder: 'RGB' }, outputSize: [4, 4], sizeDivisibility: 1 });
    expect(pre.regionEncoder.boxDeltas).toBeUndefined();
    const fine = JSON.parse(readFileSync(at('rc-fine', 'manifest.json'), 'utf8'));
    expect(fine.rpn.levels).toEqual([{ objectness: 'objectness_0', deltas: 'deltas_0', anchorSizes: [32, 64, 128, 256, 512], aspectRatios: [0.5, 1, 2], stride: 16 }]);
    expect([fine.rpn.sizeDivisibility, fine.rpn.preNmsTopK, fine.image.sizeDivisibility]).toEqual([1, 6000, 1]);
    expect(fine.regionEncoder.boxDeltas).toEqual({ output: 'box_deltas', weights: [10, 10, 5, 5] });
    const background = readFileSync(at('rc-fine', 'background.bin'));
    expect(Array.from(new Float32Array(background.buffer, background.byteOffset, background.length / 4))).toEqual(new Array(64).fill(0));
  });

  it('loads the converted folders in the runtime: ClipModel, DetectorModel (proposals, region embeddings) and detect', async () => {
    const clip = await ClipModel.load(at('oai-vit'));
    expect((await clip.embedTexts(['a photo of a cat'])).length).toBe(64);
    await clip.release();
    const image = await decodeImage(join(root, 'fixtures', 'images', 'shapes.png'));
    for (const dir of ['rc-pre', 'rc-fine']) {
      const model = await DetectorModel.load(at(dir));
      const { proposals } = await model.propose(image, { postNmsTopK: 10 });
      expect(proposals.boxes.length).toBe(10);
      expect((await model.embedRegions(image, proposals.boxes)).length).toBe(10 * 64);
      await model.release();
    }
    const detector = await Detector.load(at('rc-pre'), { cacheDir: false });
    const result = (await detector.detect(image, { vocab: 'square,circle' })).toJSON();
    expect(result.phrases).toEqual(['square', 'circle']);
    await detector.release();
  }, 300_000);

  it('exports text towers with a free sequence axis: batches cut after their last EOT give the 77-position embeddings', async () => {
    ok(['export_openai_clip.py', '--checkpoint', at('ViT.pt'), '--tokenizer-dir', tinyTokenizer, '--out', at('oai-vit-hf'), '--layout', 'transformers.js']);
    const texts = [...buildPrompts('traffic light', 'ensemble'), ...buildPrompts('cat', 'ensemble').slice(0, 20)];
    const embed = async (dir: string) => {
      const model = await ClipModel.load(dir, { textBatchSize: 32 });
      try {
        const { result, dims } = await recordIdsDims(() => model.embedTexts(texts, { normalize: false }));
        return { raw: result, widths: dims.map((d) => d[1]), lengths: texts.map((t) => model.tokenizer.encode(t).length) };
      } finally {
        await model.release();
      }
    };
    // Our manifests (OpenAI ResNet, a RegionCLIP detector's text tower, OpenAI ViT) and the transformers.js layout of the ViT.
    for (const [dir, same] of [['oai-rn', 'oai-rn'], ['rc-fine', 'rc-fine'], ['oai-vit', 'oai-vit'], ['oai-vit-hf', 'oai-vit']]) {
      if (dir !== 'oai-vit-hf') {
        const manifest = JSON.parse(readFileSync(at(dir, 'manifest.json'), 'utf8'));
        expect([manifest.tokenizer.padding, manifest.graphs.text.inputs[0].dims], dir).toEqual(['longest', ['batch', 'sequence']]);
      }
      const full = await embed(copyWithManifest(at(same), (m) => { m.tokenizer.padding = 'context'; }));
      expect(full.widths.every((w) => w === 77), dir).toBe(true);
      const cut = await embed(at(dir));
      expect(cut.widths, dir).toEqual(expectedCutWidths(cut.lengths, 32));
      expect(Math.max(...cut.widths), dir).toBeLessThan(77);
      expect(relativeDiff(cut.raw, full.raw), dir).toBeLessThan(1e-5);
    }
  }, 300_000);

  it('composes a crop-mode detector from a transformers.js CLIP folder and a converted RPN, files checked by sha256', async () => {
    const hf = at('hf');
    mkdirSync(join(hf, 'onnx'), { recursive: true });
    for (const f of ['text_model.onnx', 'vision_model.onnx']) copyFileSync(at('oai-vit', f), join(hf, 'onnx', f));
    for (const f of ['vocab.json', 'merges.txt']) copyFileSync(at('oai-vit', f), join(hf, f));
    writeFileSync(join(hf, 'config.json'), JSON.stringify({ projection_dim: 64, vision_config: { image_size: 32 } }));
    writeFileSync(join(hf, 'preprocessor_config.json'), JSON.stringify({ crop_size: { height: 32, width: 32 }, size: { shortest_edge: 32 }, resample: 3 }));
    ok(['compose_detector.py', '--clip', hf, '--rpn-from', at('rc-fine'), '--out', at('composed')]);
    const manifest = JSON.parse(readFileSync(at('composed', 'manifest.json'), 'utf8'));
    expect(manifest.regionEncoder.mode).toBe('crop');
    expect(Object.keys(manifest.files).sort()).toEqual(['background.bin', 'merges.txt', 'onnx/text_model.onnx', 'onnx/vision_model.onnx', 'rpn.onnx', 'vocab.json']);
    const detector = await Detector.load(at('composed'), { cacheDir: false });
    const result = (await detector.detect(join(root, 'fixtures', 'images', 'shapes.png'), { vocab: 'square' })).toJSON();
    expect(result.phrases).toEqual(['square']);
    await detector.release();
    ok(['compose_detector.py', '--clip', at('oai-rn'), '--rpn-from', at('rc-pre'), '--out', at('composed-features')]);
    expect(JSON.parse(readFileSync(at('composed-features', 'manifest.json'), 'utf8')).regionEncoder.mode).toBe('features');
    await (await DetectorModel.load(at('composed-features'))).release();
  }, 300_000);

  const mutate = (source: string, target: string, code: string) => ok(['-c', `import torch, sys; c = torch.load(sys.argv[1]); sd = c['model']\n${code}\ntorch.save(c, sys.argv[2])`, at(source), at(target)]);
  const refused = (file: string, ...extra: string[]) => {
    const run = py(['export_regionclip.py', '--checkpoint', at(file), '--tokenizer-dir', tinyTokenizer, '--out', at('refused'), ...extra]);
    expect(run.status, run.stdout).toBe(5);
    return run.stderr.trim();
  };

  it('refuses bad checkpoints with one line naming the key', () => {
    mutate('pretrained.pth', 'missing.pth', "del sd['backbone.layer2.0.bn1.running_var']");
    expect(refused('missing.pth')).toBe('error: backbone.*: missing key backbone.layer2.0.bn1.running_var (expected shape [16])');
    mutate('pretrained.pth', 'shape.pth', "sd['backbone.layer1.0.conv2.weight'] = torch.zeros(8, 8, 1, 1)");
    expect(refused('shape.pth')).toBe('error: backbone.*: key backbone.layer1.0.conv2.weight has shape [8, 8, 1, 1], expected [8, 8, 3, 3]');
    mutate('pretrained.pth', 'lsj.pth', "sd['offline_proposal_generator.rpn_head.conv.conv0.weight'] = sd.pop('offline_proposal_generator.rpn_head.conv.weight')");
    expect(refused('lsj.pth')).toMatch(/^error: offline_proposal_generator\.rpn_head\.conv\.conv0\.\*: this is the LSJ \/ SyncBN RPN variant .* use rpn_lvis_866\.pth/);
    mutate('finetuned.pth', 'background.pth', "sd['roi_heads.box_predictor.cls_bg_score.weight'][0, 0] = 0.5");
    expect(refused('background.pth', '--text-checkpoint', at('RN.pt'))).toMatch(/^error: roi_heads\.box_predictor\.cls_bg_score\.weight is not zero/);
    expect(refused('finetuned.pth')).toMatch(/^error: no lang_encoder\.\* keys .* pass --text-checkpoint/);
    mutate('pretrained.pth', 'othertext.pth', "sd['lang_encoder.ln_final.weight'] += 1");
    expect(refused('othertext.pth', '--text-checkpoint', at('pretrained.pth'))).toMatch(/^error: the checkpoint's lang_encoder and --text-checkpoint's text tower differ \(max \|diff\| [\d.e+-]+ > 0\.001\)/);
    mutate('pretrained.pth', 'norpn.pth', "[sd.pop(k) for k in list(sd) if k.startswith('offline_')]");
    expect(refused('norpn.pth')).toMatch(/^error: no offline_proposal_generator\.\* keys: the checkpoint has no RPN; pass --rpn/);
    const vit = py(['export_openai_clip.py', '--checkpoint', at('ViT.pt'), '--tokenizer-dir', tinyTokenizer, '--out', at('refused'), '--split']);
    expect(vit.status).toBe(5);
    expect(vit.stderr).toContain('--split needs a ResNet');
    const tok = py(['export_openai_clip.py', '--checkpoint', at('RN.pt'), '--tokenizer-dir', join(root, 'fixtures', 'tokenizer'), '--out', at('refused')]);
    expect(tok.stderr.trim()).toMatch(/^error: the tokenizer has \d+ tokens, the text tower's token_embedding 714 rows$/);
  }, 300_000);

  it('reads the RPN from a separate GeneralizedRCNN checkpoint (--rpn) and answers --help', () => {
    mutate('pretrained.pth', 'rpn-only.pth', "c['model'] = {k[len('offline_'):]: v for k, v in sd.items() if k.startswith('offline_')}");
    mutate('pretrained.pth', 'norpn2.pth', "[sd.pop(k) for k in list(sd) if k.startswith('offline_')]");
    ok(['export_regionclip.py', '--checkpoint', at('norpn2.pth'), '--rpn', at('rpn-only.pth'), '--tokenizer-dir', tinyTokenizer, '--out', at('rc-rpn')]);
    expect(readFileSync(at('rc-rpn', 'rpn.onnx')).equals(readFileSync(at('rc-pre', 'rpn.onnx')))).toBe(true);
    // Standalone GeneralizedRCNN fakes (rpn_lvis_866.pth / rpn_coco_48.pth: no offline_ prefix, roi_heads.* ignored).
    mutate('finetuned.pth', 'fine-norpn.pth', "[sd.pop(k) for k in list(sd) if k.startswith('offline_')]");
    for (const [kind, levels, anchors] of [['rpn-fpn', 5, 3], ['rpn-c4', 1, 15]] as const) {
      ok(['make_fake_checkpoints.py', '--kind', kind, '--size', 'tiny', '--seed', '5', '--out', at(`${kind}.pth`)]);
      ok(['export_regionclip.py', '--checkpoint', at('fine-norpn.pth'), '--text-checkpoint', at('RN.pt'), '--rpn', at(`${kind}.pth`), '--tokenizer-dir', tinyTokenizer, '--out', at(`fine-${kind}`)]);
      const rpn = JSON.parse(readFileSync(at(`fine-${kind}`, 'manifest.json'), 'utf8')).rpn;
      expect(rpn.levels.length).toBe(levels);
      expect(rpn.levels.map((l: { anchorSizes: number[]; aspectRatios: number[] }) => l.anchorSizes.length * l.aspectRatios.length)).toEqual(Array(levels).fill(anchors));
      expect(rpn.anchorStyle).toBe('detectron2');
    }
    for (const script of ['export_openai_clip.py', 'export_regionclip.py', 'compose_detector.py', 'make_fake_checkpoints.py']) {
      expect(ok([script, '--help'])).toMatch(/^usage: /);
    }
  }, 300_000);
});
