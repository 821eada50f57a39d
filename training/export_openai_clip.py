"""Convert an OpenAI CLIP checkpoint (`RN50.pt`, `RN50x4.pt`, `ViT-B-32.pt`, ...: a TorchScript archive with fp16
weights, or a plain state dict) to a model folder (offline tooling: Debian's python3-torch, CPU).

    /usr/bin/python3 training/export_openai_clip.py --checkpoint RN50.pt --bpe bpe_simple_vocab_16e6.txt.gz --out models/openai-rn50
    /usr/bin/python3 training/export_openai_clip.py --checkpoint RN50.pt --tokenizer-dir DIR --out DIR --split [--rpn-from DETECTOR_DIR]

Writes text_model.onnx + vision_model.onnx, vocab.json + merges.txt and a `clip` manifest (loads with ClipModel.load,
usable by `classify`). The architecture is inferred from the tensor shapes as CLIP's build_model does; the logit
scale is exp(logit_scale).
--split (ResNets only) also writes backbone.onnx (stem..layer3 -> res4, stride 16) and head.onnx (layer4 + attnpool
on RoIAlign'd S/16 x S/16 res4 features), RegionCLIP's features-mode region encoder ("CLIP baseline"), with a
`features.json` beside the manifest; with --rpn-from (a converted detector folder) the manifest becomes a features-mode
detector with that folder's RPN, usable by `detect`; without it, compose_detector.py can add one later.
--layout transformers.js writes the towers as a transformers.js / Hugging Face ONNX folder instead (onnx/{text,vision}_model.onnx,
config.json, preprocessor_config.json, vocab.json + merges.txt; no manifest): what `regionclip pull` fetches from the
Hub, for compose_detector.py --clip.
Errors name the offending key and exit with 5.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert import cli, graphs, hf_layout, manifests, tokenizer_files  # noqa: E402
from convert.checkpoints import ConversionError, load_openai, subtree  # noqa: E402
from convert.compose import attach_rpn  # noqa: E402
from convert.reference import write_reference  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="OpenAI CLIP .pt (TorchScript archive or state dict)")
    ap.add_argument("--split", action="store_true", help="also export backbone + head (ResNets): a features-mode region encoder")
    ap.add_argument("--rpn-from", help="with --split: a detector folder whose RPN to copy (the manifest becomes a detector)")
    ap.add_argument("--layout", default="regionclip", choices=["regionclip", "transformers.js"],
                    help="our model folder (manifest.json), or a transformers.js / Hugging Face CLIP ONNX folder")
    cli.add_common(ap)
    tokenizer_files.add_arguments(ap)
    return ap.parse_args()


def convert(args):
    sd = load_openai(args.checkpoint)
    visual, vconf = cli.build_visual_from(subtree(sd, "visual."), "visual.", frozen_bn=False)
    text = cli.build_text_from({k: v for k, v in sd.items() if not k.startswith("visual.") and k != "logit_scale"}, "")
    if args.split and vconf["kind"] != "resnet":
        raise ConversionError("--split needs a ResNet (RN50, RN50x4, ...): a ViT has no res4 feature map")
    os.makedirs(args.out, exist_ok=True)
    tokenizer_files.write_tokenizer(args, args.out, text.token_embedding.weight.shape[0])
    S, D = vconf["input_resolution"], vconf["output_dim"]
    if args.reference:  # before export: fp16 storage rounds the modules' weights
        write_reference(args.reference, {"text": text, "visual": visual, "S": S, "split": (S // 16, None) if args.split else None})
    if args.layout == "transformers.js":
        if args.split or args.rpn_from:
            raise ConversionError("--layout transformers.js writes the two towers only (no --split / --rpn-from): compose_detector.py adds an RPN")
        print_sizes(args.out, hf_layout.export(args.out, cli.model_name(args), visual, vconf, text, args.dtype))
        return
    graph_specs = {"text": graphs.export_text(text, args.out, args.dtype), "vision": graphs.export_vision(visual, args.out, S, D, args.dtype)}
    manifest = {"name": cli.model_name(args), "kind": "clip",
                "description": f"OpenAI CLIP converted from {os.path.basename(args.checkpoint)} by training/export_openai_clip.py ({args.dtype})",
                "license": "MIT (OpenAI CLIP; see the model card for the intended uses)", "source": os.path.basename(args.checkpoint),
                "embedDim": D, "logitScale": cli.logit_scale_of(sd), "tokenizer": manifests.tokenizer_block(),
                "preprocess": manifests.clip_preprocess(S), "graphs": graph_specs}
    if args.split:
        split = graphs.export_split(visual, args.out, (visual.layer4[0].conv1.in_channels, S // 16, D), dtype=args.dtype)
        features = {"regionEncoder": manifests.features_block(S // 16, box_deltas=False), "graphs": split,
                    "files": {g["file"]: {"sha256": manifests.sha256(os.path.join(args.out, g["file"]))} for g in split.values()}}
        manifests.write_json(os.path.join(args.out, "features.json"), features)
        if args.rpn_from:
            manifest = attach_rpn(manifest, features, args.rpn_from, args.out)
    elif args.rpn_from:
        raise ConversionError("--rpn-from needs --split (or use compose_detector.py for a crop-mode detector)")
    manifests.finish(manifest, args.out)
    print_sizes(args.out, manifest["files"])


def print_sizes(out, files):
    for f in sorted(files):
        print(f"{f:24s} {os.path.getsize(os.path.join(out, f)):>14,d} bytes")


if __name__ == "__main__":
    cli.run(lambda: convert(parse_args()))
