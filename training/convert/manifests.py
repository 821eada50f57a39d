"""Manifest blocks for converted models (src/models/manifest.ts; docs/models.md lists every key).

Preprocessing of each branch (real-weights.md §1.4, §6):
  RPN (detectron2 R50)      BGR, pixel - [103.530, 116.280, 123.675], std 1; resize shortest edge 800 / max 1333,
                            PIL bilinear; padded to 32 (FPN) or not at all (C4, sizeDivisibility 1).
  CLIP backbone / head      RGB, CLIP mean / std in pixel units (x 255); the same resized image, never padded.
  whole-image CLIP tower    RGB, CLIP mean / std, S x S, bicubic resize + centre crop.

The detectron2 RPN fields (rpn.anchorStyle "detectron2", rpn.levels[i].stride, rpn.sizeDivisibility,
rpn.minSizeRule "gt" with minSize 0, scoreThreshold 0) and regionEncoder.sizeDivisibility / boxDeltas are
what src/models/manifest.ts reads for exact detectron2 / RegionCLIP behaviour (docs/models.md).
"""
import json
import os

from export_tiny_clip import sha256  # noqa: F401  (the one file hash of the exporters; re-exported for convert.*)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CLIP_PIXEL_NORM = {"channelOrder": "RGB", "pixelMean": [m * 255 for m in CLIP_MEAN], "pixelStd": [s * 255 for s in CLIP_STD]}
DETECTRON2_BGR = {"channelOrder": "BGR", "pixelMean": [103.53, 116.28, 123.675], "pixelStd": [1.0, 1.0, 1.0]}
BOX_DELTA_WEIGHTS = [10.0, 10.0, 5.0, 5.0]  # RegionCLIP ROI_BOX_HEAD.BBOX_REG_WEIGHTS (class-agnostic bbox_pred)
REGIONCLIP_TEMPERATURE = 0.01


def clip_preprocess(S):
    return {"size": S, "mean": CLIP_MEAN, "std": CLIP_STD, "channelOrder": "RGB", "interpolation": "bicubic", "crop": "center"}


def tokenizer_block():
    """CLIP's BPE files, 77 positions; batches padded to their longest row (graphs.export_text: a free sequence axis)."""
    return {"vocab": "vocab.json", "merges": "merges.txt", "contextLength": 77, "padding": "longest"}


def rpn_block(style, num_anchors, zero_shot):
    """detectron2 RPN settings: FPN (rpn_lvis_866) sizes 32..512, one per level, 3 ratios, 1000 per level
    pre-NMS; C4 (rpn_coco_48) 5 sizes x 3 ratios on res4, 6000 pre-NMS. NMS 0.9 for RegionCLIP's zero-shot
    inference (OFFLINE_RPN_NMS_THRESH), 0.7 otherwise; proposals kept when w > 0 and h > 0 (MIN_SIZE 0)."""
    ratios = [0.5, 1.0, 2.0]
    if style == "fpn":
        levels = [{"objectness": f"objectness_{i}", "deltas": f"deltas_{i}", "anchorSizes": [32.0 * 2 ** i], "aspectRatios": ratios,
                   "stride": 4 * 2 ** i} for i in range(5)]
    else:
        levels = [{"objectness": "objectness_0", "deltas": "deltas_0", "anchorSizes": [32.0, 64.0, 128.0, 256.0, 512.0],
                   "aspectRatios": ratios, "stride": 16}]
    anchors = len(levels[0]["anchorSizes"]) * len(ratios)
    if anchors != num_anchors:
        raise ValueError(f"the RPN head has {num_anchors} anchors per location, the {style} settings {anchors}")
    return {"input": DETECTRON2_BGR, "levels": levels, "anchorStyle": "detectron2", "sizeDivisibility": 32 if style == "fpn" else 1,
            "boxCoderWeights": [1.0, 1.0, 1.0, 1.0], "preNmsTopK": 1000 if style == "fpn" else 6000, "postNmsTopK": 1000,
            "nmsThreshold": 0.9 if zero_shot else 0.7, "minSize": 0, "minSizeRule": "gt", "scoreThreshold": 0}


def features_block(P, box_deltas):
    block = {"mode": "features", "input": CLIP_PIXEL_NORM, "featureOutput": "res4", "spatialScale": 1 / 16, "outputSize": [P, P],
             "samplingRatio": 0, "aligned": True, "sizeDivisibility": 1}
    if box_deltas:
        block["boxDeltas"] = {"output": "box_deltas", "weights": BOX_DELTA_WEIGHTS}
    return block


def image_block(size_divisibility):
    return {"shortEdge": 800, "maxSize": 1333, "sizeDivisibility": size_divisibility}


def finish(manifest, out, extra_files=(), tokenizer=True):
    """Records the sha256 of every graph, tokenizer and background file, then writes <out>/manifest.json."""
    files = [g["file"] for g in manifest["graphs"].values()] + (["vocab.json", "merges.txt"] if tokenizer else []) + list(extra_files)
    if manifest.get("scoring", {}).get("backgroundEmbed"):
        files.append(manifest["scoring"]["backgroundEmbed"])
    manifest["files"] = {f: {"sha256": sha256(os.path.join(out, f))} for f in dict.fromkeys(files)}
    write_json(os.path.join(out, "manifest.json"), manifest)
    return manifest


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")

