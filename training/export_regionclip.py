"""Convert a RegionCLIP checkpoint (`regionclip_pretrained-cc_rn50.pth`, `regionclip_finetuned-coco_rn50.pth`, ...:
detectron2 {"model": state_dict}, fp32) to a features-mode detector folder (offline tooling: Debian's python3-torch, CPU).

    /usr/bin/python3 training/export_regionclip.py --checkpoint regionclip_pretrained-cc_rn50.pth --bpe bpe_simple_vocab_16e6.txt.gz --out models/regionclip-rn50
    /usr/bin/python3 training/export_regionclip.py --checkpoint regionclip_finetuned-coco_rn50.pth --text-checkpoint RN50.pt --tokenizer-dir DIR --out DIR

Graphs: rpn.onnx (the offline detectron2 RPN: R50-FPN -> objectness_0..4 / deltas_0..4, or R50-C4 -> objectness_0 /
deltas_0), backbone.onnx (stem..layer3 -> res4), head.onnx (layer4 + attnpool -> region_embeds, plus box_deltas when the
checkpoint has roi_heads.box_predictor.bbox_pred), vision_model.onnx (the whole visual tower at S x S), text_model.onnx
(lang_encoder, or --text-checkpoint's tower when the file has none). background.bin holds D zeros (RegionCLIP's frozen
zero cls_bg_score: a constant logit 0; a non-zero one is refused). The manifest records each branch's preprocessing.
--visual teacher converts teacher_backbone.* (OpenAI's CLIP visual: RegionCLIP's "CLIP baseline").
--rpn reads the RPN from a separate GeneralizedRCNN checkpoint (backbone.* + proposal_generator.*) when the file has
no offline_* trees. Errors name the offending key and exit with 5.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert import cli, graphs, manifests, regionclip, tokenizer_files  # noqa: E402
from convert.checkpoints import ConversionError, load_detectron2, require  # noqa: E402
from convert.compose import write_background  # noqa: E402
from convert.reference import write_reference  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="RegionCLIP .pth (detectron2 {\"model\": state_dict})")
    ap.add_argument("--text-checkpoint", help="text tower source when the checkpoint has no lang_encoder.* (OpenAI .pt or pretrained .pth)")
    ap.add_argument("--rpn", help="a GeneralizedRCNN RPN checkpoint (rpn_lvis_866.pth / rpn_coco_48.pth) when the file has no offline_* RPN")
    ap.add_argument("--visual", default="student", choices=["student", "teacher"], help="backbone.* (student) or teacher_backbone.* (OpenAI's)")
    cli.add_common(ap)
    tokenizer_files.add_arguments(ap)
    return ap.parse_args()


def load_modules(args, sd):
    prefix = "backbone." if args.visual == "student" else "teacher_backbone."
    visual_sd = require(sd, prefix, f"{args.visual} visual tower", "Is this a RegionCLIP checkpoint?")
    visual, vconf = cli.build_visual_from(visual_sd, prefix, frozen_bn=True)
    if vconf["kind"] != "resnet":
        raise ConversionError(f"{prefix}*: a RegionCLIP visual tower is a ModifiedResNet, this one is a ViT")
    text = regionclip.text_tower(sd, args.text_checkpoint)
    if any(k.startswith("offline_proposal_generator.") for k in sd):
        rpn = regionclip.build_rpn(sd, "offline_", args.checkpoint)
    elif args.rpn:
        rpn = regionclip.build_rpn(load_detectron2(args.rpn), "", args.rpn)
    else:
        raise ConversionError("no offline_proposal_generator.* keys: the checkpoint has no RPN; pass --rpn rpn_lvis_866.pth (or rpn_coco_48.pth)")
    bbox_pred = regionclip.box_regressor(sd, vconf["output_dim"])
    return visual, vconf, text, rpn, bbox_pred


def build_manifest(args, vconf, rpn, graph_specs, has_box_deltas):
    S, D, P = vconf["input_resolution"], vconf["output_dim"], vconf["input_resolution"] // 16
    kind = "finetuned" if has_box_deltas else "pretrained"
    return {
        "name": cli.model_name(args), "kind": "detector",
        "description": f"RegionCLIP ({kind}, {args.visual} visual, {rpn.style.upper()} RPN) converted from {os.path.basename(args.checkpoint)} "
                       f"by training/export_regionclip.py ({args.dtype})",
        "license": "Apache-2.0 (RegionCLIP)", "source": os.path.basename(args.checkpoint), "embedDim": D, "logitScale": 100.0,
        "tokenizer": manifests.tokenizer_block(), "preprocess": manifests.clip_preprocess(S),
        "image": manifests.image_block(32 if rpn.style == "fpn" else 1),
        "rpn": manifests.rpn_block(rpn.style, rpn.proposal_generator.rpn_head.objectness_logits.out_channels, zero_shot=not has_box_deltas),
        "regionEncoder": manifests.features_block(P, has_box_deltas),
        "scoring": {"temperature": manifests.REGIONCLIP_TEMPERATURE, "backgroundEmbed": "background.bin"},
        "graphs": graph_specs,
    }


def convert(args):
    sd = load_detectron2(args.checkpoint)
    visual, vconf, text, rpn, bbox_pred = load_modules(args, sd)
    used = ["backbone" if args.visual == "student" else "teacher_backbone", "lang_encoder", "offline_backbone", "offline_proposal_generator"]
    ignored = regionclip.ignored_trees(sd, used + (["roi_heads"] if bbox_pred is not None else []))
    print(f"{args.checkpoint}: {len(sd)} tensors; RPN {rpn.style.upper()} with {rpn.proposal_generator.rpn_head.objectness_logits.out_channels} anchors; "
          f"box regression {'yes' if bbox_pred is not None else 'no'}; not converted: {', '.join(ignored) or 'nothing'}")
    os.makedirs(args.out, exist_ok=True)
    tokenizer_files.write_tokenizer(args, args.out, text.token_embedding.weight.shape[0])
    S, D, P = vconf["input_resolution"], vconf["output_dim"], vconf["input_resolution"] // 16
    if args.reference:  # before export: fp16 storage rounds the modules' weights
        write_reference(args.reference, {"text": text, "visual": visual, "S": S, "split": (P, bbox_pred), "rpn": rpn})
    graph_specs = {"text": graphs.export_text(text, args.out, args.dtype), "vision": graphs.export_vision(visual, args.out, S, D, args.dtype),
                   "rpn": graphs.export_rpn(rpn, args.out, args.dtype)}
    graph_specs.update(graphs.export_split(visual, args.out, (visual.layer4[0].conv1.in_channels, P, D), bbox_pred, args.dtype))
    write_background(args.out, D)
    manifest = manifests.finish(build_manifest(args, vconf, rpn, graph_specs, bbox_pred is not None), args.out)
    for f in sorted(manifest["files"]):
        print(f"{f:20s} {os.path.getsize(os.path.join(args.out, f)):>14,d} bytes")


if __name__ == "__main__":
    cli.run(lambda: convert(parse_args()))
