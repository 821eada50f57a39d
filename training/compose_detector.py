"""Make a detector folder from a CLIP folder and the RPN of a detector folder (offline tooling, no torch needed):

    /usr/bin/python3 training/compose_detector.py --clip ~/.cache/huggingface/hub/models--Xenova--clip-vit-base-patch32/snapshots/<commit> \
        --rpn-from models/regionclip-rn50-pretrained --out models/clip-vitb32-rpn
    node dist/cli/main.js detect photo.jpg --model models/clip-vitb32-rpn --vocab "cat,dog"

--clip: a transformers.js / Hugging Face CLIP ONNX folder (onnx/{text,vision}_model.onnx, config.json,
preprocessor_config.json, tokenizer files) -> a crop-mode detector (each box is cropped with RoIAlign at the tower's
input size and embedded by the image tower); or one of our CLIP folders (export_openai_clip.py), features mode when
it was exported with --split. --rpn-from: any detector folder (export_regionclip.py's, or the built-in model's).
Graphs are hard-linked (copied across file systems) into --out and recorded with their sha256.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert import cli, manifests  # noqa: E402
from convert.compose import attach_rpn, huggingface_clip, our_clip  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", required=True, help="a Hugging Face CLIP ONNX folder or one of our CLIP folders")
    ap.add_argument("--rpn-from", required=True, help="a detector folder whose RPN (graph, image and rpn settings) to use")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", help="model name (default: the output folder's name)")
    ap.add_argument("--context-scale", type=float, default=1.0, help="crop mode: enlarge boxes around their centre before cropping")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if os.path.exists(os.path.join(args.clip, "manifest.json")):
        clip, features = our_clip(args.clip, args.out)
    else:
        clip, features = huggingface_clip(args.clip, args.out), None
    detector = attach_rpn(clip, features, args.rpn_from, args.out)
    detector["name"] = args.name or os.path.basename(os.path.normpath(args.out))
    if detector["regionEncoder"]["mode"] == "crop":
        detector["regionEncoder"]["contextScale"] = args.context_scale
    tok = detector["tokenizer"]
    extra = [tok[k] for k in ("vocab", "merges", "tokenizerJson") if k in tok]
    manifests.finish(detector, args.out, extra_files=extra, tokenizer=False)
    print(f"{args.out}: {detector['regionEncoder']['mode']}-mode detector, {len(detector['files'])} files")


if __name__ == "__main__":
    cli.run(main)
