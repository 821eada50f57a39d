"""PyTorch reference of RegionCLIP's zero-shot inference on a converted folder, computed with the torch modules
built from the checkpoints the folder was converted from (training/convert/zero_shot.py has the steps). Offline
tooling: Debian's python3-torch 1.13 / torchvision 0.14 / Pillow.

    /usr/bin/python3 training/reference_zero_shot.py --model DIR --checkpoint regionclip_pretrained-cc_rn50.pth \
        --image photo.jpg --vocab "cat,dog" --settings settings.json --out reference.json
    # OpenAI RN50 split with --rpn-from, or a transformers.js ViT composed with compose_detector.py:
    /usr/bin/python3 training/reference_zero_shot.py --model DIR --checkpoint RN50.pt --rpn-checkpoint regionclip_pretrained-cc_rn50.pth ...
    # finetuned: --text-checkpoint RN50.pt, as for export_regionclip.py

--checkpoint: the visual and text towers (OpenAI .pt: visual.* + text; RegionCLIP .pth: backbone.* or
teacher_backbone.* with --visual teacher, lang_encoder.* or --text-checkpoint's tower, and bbox_pred when present).
--rpn-checkpoint: where the RPN came from when --checkpoint has none (a RegionCLIP .pth with offline_* trees, or a
GeneralizedRCNN rpn_*.pth). --replay DIR: instead of the checkpoints' modules, replay the graph outputs our Node pipeline recorded on the same
image (test/helpers/convert-parity.ts recordGraphRuns; training/convert/replay.py): the steps around the graphs are
then compared on identical graph outputs, and the record gains "replay": the largest |Δ| between what the reference
fed each graph and what the Node pipeline fed it; with --checkpoint too, "graphDiffs": each graph's outputs recomputed
by the checkpoints' torch modules on the recorded inputs (max |torch - onnxruntime| and max |output|).
--settings: a JSON object shaped like our detection settings (proposals.*, text.{templates,
ensemble, articles}, detect.{scoreThreshold, iouThreshold, maxDetections, contextScale}; fusion "none"), the same
object the Node side is given. Writes {resize, proposals {boxes, scores, logits}, detections [{label, score, box}],
margins}; prints one summary line.
"""
import argparse
import json
import os
import sys
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert import cli, regionclip, replay, zero_shot  # noqa: E402
from convert.checkpoints import ConversionError, load_detectron2, load_openai, subtree  # noqa: E402


def rpn_of(sd, label):
    prefix = "offline_" if any(k.startswith("offline_proposal_generator.") for k in sd) else ""
    return regionclip.build_rpn(sd, prefix, label)


def build_modules(args):
    """visual, text, rpn and bbox_pred (or None) from the source checkpoints, as the converters build them."""
    bbox_pred, rpn = None, None
    if args.checkpoint.endswith(".pth"):
        sd = load_detectron2(args.checkpoint)
        prefix = "backbone." if args.visual == "student" else "teacher_backbone."
        visual, vconf = cli.build_visual_from(subtree(sd, prefix), prefix, frozen_bn=True)
        text = regionclip.text_tower(sd, args.text_checkpoint)
        bbox_pred = regionclip.box_regressor(sd, vconf["output_dim"])
        if any(k.startswith("offline_proposal_generator.") for k in sd):
            rpn = rpn_of(sd, args.checkpoint)
    else:
        sd = load_openai(args.checkpoint)
        visual, _ = cli.build_visual_from(subtree(sd, "visual."), "visual.", frozen_bn=False)
        text = cli.build_text_from({k: v for k, v in sd.items() if not k.startswith("visual.") and k != "logit_scale"}, "")
    if rpn is None:
        if not args.rpn_checkpoint:
            raise ConversionError(f"{args.checkpoint} has no RPN: pass --rpn-checkpoint (the checkpoint the folder's rpn.onnx came from)")
        rpn = rpn_of(load_detectron2(args.rpn_checkpoint), args.rpn_checkpoint)
    return SimpleNamespace(visual=visual, text=text, rpn=rpn, bbox_pred=bbox_pred)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="the converted folder (manifest settings, tokenizer, background)")
    ap.add_argument("--checkpoint", help="the checkpoint the folder's towers were converted from (unless --replay)")
    ap.add_argument("--replay", help="a folder of graph runs recorded by the Node pipeline, replayed instead of the modules")
    ap.add_argument("--text-checkpoint", help="text tower when --checkpoint has none (finetuned RegionCLIP)")
    ap.add_argument("--rpn-checkpoint", help="the checkpoint the folder's RPN came from, when --checkpoint has none")
    ap.add_argument("--visual", default="student", choices=["student", "teacher"])
    ap.add_argument("--image", required=True)
    ap.add_argument("--vocab", required=True, help="comma-separated phrases")
    ap.add_argument("--settings", help="a JSON file of detection settings (default: {})")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    settings = {}
    if args.settings:
        with open(args.settings) as f:
            settings = json.load(f)
    t0 = time.time()
    record = None
    if args.replay:
        with open(os.path.join(args.model, "manifest.json")) as f:
            deltas = bool(json.load(f)["regionEncoder"].get("boxDeltas"))
        modules, record = replay.modules(args.replay, deltas, build_modules(args) if args.checkpoint else None)
    elif args.checkpoint:
        modules = build_modules(args)
    else:
        raise ConversionError("pass --checkpoint (the source checkpoint) or --replay (a recorded run)")
    phrases = [p.strip() for p in args.vocab.split(",") if p.strip()]
    ref = zero_shot.run(args.model, modules, args.image, phrases, settings)
    if record is not None:
        ref["replay"] = {"inputDiffs": record.input_diffs, "prompts": record.prompts,
                         "graphDiffs": {k: {"maxAbsDiff": d, "maxAbs": m} for k, (d, m) in record.graph_diffs.items()}}
    ref["seconds"] = round(time.time() - t0, 2)
    with open(args.out, "w") as f:
        json.dump(ref, f)
    print(f"{args.out}: {ref['proposals']['count']} proposals, {ref['candidates']} candidates, {len(ref['detections'])} detections "
          f"({ref['seconds']} s); margins {json.dumps(ref['margins'])}" + (f"; replayed, input |Δ| {json.dumps(ref['replay'])}" if record else ""))


if __name__ == "__main__":
    cli.run(main)
