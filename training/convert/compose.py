"""Composing a detector from a CLIP folder and the RPN of a detector folder (compose_detector.py, and
export_openai_clip.py --split --rpn-from):

  a transformers.js / Hugging Face CLIP folder (onnx/{text,vision}_model.onnx, config.json,
  preprocessor_config.json, vocab.json + merges.txt or tokenizer.json)   -> crop mode: RoIAlign pixel crops of
                                                                           each box through the image tower
  our CLIP folder (manifest.json kind "clip")                            -> crop mode, or features mode when it
                                                                           has features.json (export_openai_clip --split)

The RPN graph is copied (hard-linked when possible) with the source manifest's `image` and `rpn` blocks; every
file of the new folder gets its sha256 in the manifest. The background is RegionCLIP's: D zeros, a constant
logit 0 (real-weights.md §1.6). Manifest fields follow src/models/hf-layout.ts for Hugging Face folders.
"""
import json
import os

from file_hash import place

from .checkpoints import ConversionError
from .manifests import REGIONCLIP_TEMPERATURE, clip_preprocess, write_json


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ConversionError(f"{path}: no such file") from None


def write_background(out, D):
    with open(os.path.join(out, "background.bin"), "wb") as f:
        f.write(bytes(4 * D))


def attach_rpn(manifest, features, rpn_dir, out):
    """A detector manifest: `manifest`'s CLIP fields and graphs, the RPN of `rpn_dir`, features mode when
    `features` (the features.json block) is given, else crop mode. Copies rpn.onnx and writes background.bin."""
    source = read_json(os.path.join(rpn_dir, "manifest.json"))
    if source.get("kind") != "detector":
        raise ConversionError(f"--rpn-from {rpn_dir}: expected a detector folder (manifest kind \"detector\"), got kind {source.get('kind')!r}")
    rpn_graph = dict(source["graphs"]["rpn"], file="rpn.onnx")
    place(os.path.join(rpn_dir, source["graphs"]["rpn"]["file"]), os.path.join(out, "rpn.onnx"))
    detector = {k: v for k, v in manifest.items() if k not in ("kind", "graphs", "files")}
    detector["kind"] = "detector"
    detector["description"] = f"{manifest.get('description', '')}; RPN from {source['name']}"
    detector["image"] = source["image"]
    detector["rpn"] = source["rpn"]
    graphs = dict(manifest["graphs"], rpn=rpn_graph)
    if features is not None:
        detector["regionEncoder"] = features["regionEncoder"]
        graphs.update(features["graphs"])
    else:
        detector["regionEncoder"] = {"mode": "crop", "contextScale": 1.0, "samplingRatio": 0}
    write_background(out, manifest["embedDim"])
    detector["scoring"] = {"temperature": REGIONCLIP_TEMPERATURE, "backgroundEmbed": "background.bin"}
    detector["graphs"] = graphs
    return detector


def _size(value):
    if isinstance(value, dict):
        return value.get("shortest_edge") or value.get("height") or value.get("width")
    return value


# transformers.js dtype suffixes, in the order src/models/hf-layout.ts takes the first present (src/hub/select.ts DTYPE_SUFFIXES).
TOWER_SUFFIXES = ("", "_fp16", "_quantized", "_int8", "_uint8", "_q4", "_q4f16", "_bnb4")


def tower_file(src, tower):
    """onnx/<tower><suffix>.onnx: the first dtype variant present, as the runtime picks it (fp32 first)."""
    for suffix in TOWER_SUFFIXES:
        name = f"onnx/{tower}{suffix}.onnx"
        if os.path.exists(os.path.join(src, name)):
            return name
    raise ConversionError(f"{src}: no onnx/{tower}{{{','.join(TOWER_SUFFIXES)}}}.onnx")


def huggingface_clip(src, out):
    """Copies a transformers.js CLIP folder's graphs and tokenizer into `out`; returns its `clip` manifest."""
    config = read_json(os.path.join(src, "config.json"))
    pre = read_json(os.path.join(src, "preprocessor_config.json"))
    D = config.get("projection_dim") or config.get("text_config", {}).get("projection_dim")
    if not isinstance(D, int):
        raise ConversionError(f"{src}/config.json: no projection_dim")
    files = {tower: tower_file(src, tower) for tower in ("text_model", "vision_model")}
    for name in files.values():
        place(os.path.join(src, name), os.path.join(out, name))
    has_vocab = all(os.path.exists(os.path.join(src, f)) for f in ("vocab.json", "merges.txt"))
    for name in ("vocab.json", "merges.txt") if has_vocab else ("tokenizer.json",):
        place(os.path.join(src, name), os.path.join(out, name))
    preprocess = clip_preprocess(_size(pre.get("crop_size", pre.get("size"))))
    preprocess.update(mean=pre.get("image_mean", preprocess["mean"]), std=pre.get("image_std", preprocess["std"]),
                      interpolation="bilinear" if pre.get("resample", 3) == 2 else "bicubic",
                      crop="none" if pre.get("do_center_crop") is False else "center")
    return {
        "name": config.get("_name_or_path") or os.path.basename(os.path.normpath(src)), "kind": "clip",
        "description": f"Hugging Face CLIP folder {os.path.basename(os.path.normpath(src))}", "license": "see the model card",
        "source": src, "embedDim": D, "logitScale": 100.0,
        "tokenizer": {**({"vocab": "vocab.json", "merges": "merges.txt"} if has_vocab else {"tokenizerJson": "tokenizer.json"}),
                      "contextLength": 77, **({"padding": "longest"} if config.get("model_type") == "clip" else {})},
        "preprocess": preprocess,
        "graphs": {
            "text": {"file": files["text_model"], "inputs": [{"name": "input_ids", "dtype": "int64"}, {"name": "attention_mask", "dtype": "int64", "optional": True}],
                     "outputs": [{"name": "text_embeds", "dtype": "float32", "dims": ["batch", D]}]},
            "vision": {"file": files["vision_model"], "inputs": [{"name": "pixel_values", "dtype": "float32"}],
                       "outputs": [{"name": "image_embeds", "dtype": "float32", "dims": ["batch", D]}]},
        },
    }


def our_clip(src, out):
    """Copies one of our `clip` folders (graphs, tokenizer, features graphs); returns (manifest, features or None)."""
    manifest = read_json(os.path.join(src, "manifest.json"))
    if manifest.get("kind") != "clip":
        raise ConversionError(f"--clip {src}: expected a CLIP folder (kind \"clip\" or a Hugging Face layout), got kind {manifest.get('kind')!r}")
    features_path = os.path.join(src, "features.json")
    features = read_json(features_path) if os.path.exists(features_path) else None
    names = [g["file"] for g in manifest["graphs"].values()] + [manifest["tokenizer"][k] for k in ("vocab", "merges", "tokenizerJson") if k in manifest["tokenizer"]]
    names += [g["file"] for g in features["graphs"].values()] if features else []
    for name in names:
        place(os.path.join(src, name), os.path.join(out, name))
    return {k: v for k, v in manifest.items() if k != "files"}, features
