"""PyTorch reference of the whole zero-shot detection pipeline on the tiny detectors, written as JSON
fixtures that the TypeScript pipeline must match (within 1e-4). Offline tooling: Debian's
python3-torch 1.13 / torchvision 0.14 / Pillow 9.4; never imported at run time.

    /usr/bin/python3 training/reference_detect.py --make-images        # fixtures/images/{shapes,tiny}.png (<1 s)
    /usr/bin/python3 training/reference_detect.py                      # both tiny models x both images (~5 s)
    /usr/bin/python3 training/reference_detect.py --model fixtures/models/tiny-detector-crop --image fixtures/images/tiny.png

Writes fixtures/models/tiny-detector-<mode>/reference-<image stem>.json. The modules are rebuilt with
export_tiny_detector.build_models (same preset and seed as the manifest's description) and re-exported
to a temporary folder: the script stops unless every ONNX hash equals the manifest's, so these
outputs belong to the committed graphs.

Semantics (the TypeScript side implements exactly this):
 a. decode with PIL -> RGB uint8 (H x W);
 b. detectron2 ResizeShortestEdge.get_output_shape, PIL resize((neww, newh), BILINEAR) unless the size
    is unchanged; scaleX = neww / w, scaleY = newh / h (float64);
 c. RPN input: float32 (u - pixelMean[c]) / pixelStd[c] in rpn.input.channelOrder (BGR: channel 0 is
    blue), zero-padded right/bottom to multiples of image.sizeDivisibility -> [1, 3, Hp, Wp];
 d. torchvision AnchorGenerator on (Hp, Wp) and the output grids; torchvision RegionProposalNetwork
    (decode with boxCoderWeights, per-level top-k preNmsTopK, sigmoid, clip to the UNPADDED (newh,
    neww), remove_small_boxes(minSize), score >= scoreThreshold, batched_nms by level, keep[:postNmsTopK]);
 e. region embeddings: features = the resized RGB image normalized by regionEncoder.input (same
    padding) -> backbone -> res4 -> roi_align(res4, proposals, outputSize, spatialScale, samplingRatio,
    aligned) -> head; crop = the ORIGINAL image as float32 (u/255 - mean)/std (CLIP preprocess), boxes
    = proposals / float32(scaleX, scaleY), enlarged about their centre by contextScale, roi_align(image,
    boxes, (S, S), 1, samplingRatio, aligned=True) -> vision tower; then L2-normalize;
 f. phrases x templates with the article fixed to the phrase's first sound, CLIP SimpleTokenizer
    semantics on the model's vocab, text tower, L2-normalize rows, average over templates, normalize;
 g. probs = softmax(cos / temperature) over phrases (+ background column, last, when the manifest has
    one); score = prob ("none") or sqrt(prob * objectness prob) ("geometric"); candidates = every
    (region, phrase) pair with score > conf, in region-major order; box = proposal / (scaleX, scaleY)
    in float32; torchvision batched_nms by phrase (iou 0.5); keep[:maxDet].
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys
import tempfile
from collections import OrderedDict
from types import SimpleNamespace

import torch
import torchvision
from PIL import Image
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork, concat_box_prediction_layers
from torchvision.ops import batched_nms, box_iou, roi_align

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import export_tiny_detector as etd  # noqa: E402
from regionclip_train.data import load_templates  # noqa: E402
from detector_common import SimpleTokenizer, fill_template, make_images, normalize_pixels, output_shape, padded_size, to_u8  # noqa: E402,F401

VOCAB = ["red square", "blue circle", "green triangle"]
TEMPLATES = list(load_templates().single)  # ["a photo of a {}."], src/text/prompt-templates.json
CONF = {"none": 0.4, "geometric": 0.3}
DET_IOU = 0.5
MAX_DET = 100


class FixedHead(torch.nn.Module):
    """Feeds the ONNX-equivalent RPN graph's outputs to torchvision's RegionProposalNetwork."""

    def __init__(self, logits, deltas):
        super().__init__()
        self.logits, self.deltas = logits, deltas

    def forward(self, features):
        return self.logits, self.deltas


def make_rpn(m, head):
    """torchvision's RegionProposalNetwork with the manifest's rpn settings (anchors, top-k, NMS, box coder)."""
    r = m["rpn"]
    sizes = tuple(tuple(lv["anchorSizes"]) for lv in r["levels"])
    ratios = tuple(tuple(lv["aspectRatios"]) for lv in r["levels"])
    rpn = RegionProposalNetwork(AnchorGenerator(sizes, ratios), head, 0.7, 0.3, 256, 0.5,
                                {"training": r["preNmsTopK"], "testing": r["preNmsTopK"]},
                                {"training": r["postNmsTopK"], "testing": r["postNmsTopK"]},
                                r["nmsThreshold"], r["scoreThreshold"]).eval()
    rpn.box_coder = det_utils.BoxCoder(weights=tuple(r["boxCoderWeights"]))
    rpn.min_size = r["minSize"]
    return rpn


def nms_margin(boxes, scores, idxs, keep, thr):
    """How far the NMS decisions are from flipping: `iou` = smallest |IoU - thr| between a kept box and a
    lower-ranked box of its class; `overlapScoreGap` = smallest score gap between two boxes of one class
    that overlap by more than thr (their order decides which survives); `keptScoreGap` = smallest gap
    between consecutive kept scores (the output order)."""
    if len(scores) == 0:
        return {"iou": None, "overlapScoreGap": None, "keptScoreGap": None}
    order = torch.sort(scores, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    iou = box_iou(boxes, boxes)
    margin = math.inf
    for k in keep.tolist():
        later = (rank > rank[k]) & (idxs == idxs[k])
        if later.any():
            margin = min(margin, float((iou[k][later] - thr).abs().min()))
    same = (idxs[:, None] == idxs[None, :]) & (iou > thr)
    same.fill_diagonal_(False)
    gaps = (scores[:, None] - scores[None, :]).abs()[same]
    ks = scores[keep]
    return {"iou": None if margin == math.inf else margin, "overlapScoreGap": float(gaps.min()) if len(gaps) else None,
            "keptScoreGap": float((ks[:-1] - ks[1:]).min()) if len(ks) > 1 else None}


def flat(t):
    """A tensor as a flat list of Python floats."""
    return [float(v) for v in t.flatten().tolist()]


def rows(t):
    """A 2-D tensor as a list of rows of Python floats."""
    return [[float(v) for v in r] for r in t.tolist()]


def read_manifest(model_dir):
    """The model's manifest, and the export preset and seed named in its description."""
    with open(os.path.join(model_dir, "manifest.json")) as f:
        m = json.load(f)
    preset = re.search(r"--preset (\S+)", m["description"]).group(1)
    seed = int(re.search(r"--seed (\d+)", m["description"]).group(1))
    return m, preset, seed


def load_image(m, image_path):
    """Steps a-b: decode to RGB uint8, resize the shortest edge, and the scales and padded size."""
    pil = Image.open(image_path).convert("RGB")
    w, h = pil.size
    orig_u8 = to_u8(pil)
    newh, neww = output_shape(h, w, m["image"]["shortEdge"], m["image"]["maxSize"])
    resized = pil if (neww, newh) == (w, h) else pil.resize((neww, newh), Image.BILINEAR)
    res_u8 = to_u8(resized)
    hp, wp = padded_size(newh, neww, m["image"]["sizeDivisibility"])
    return SimpleNamespace(w=w, h=h, orig_u8=orig_u8, newh=newh, neww=neww, res_u8=res_u8,
                           scale_x=neww / w, scale_y=newh / h, hp=hp, wp=wp)


def propose(m, rpn_in, logits, deltas, newh, neww):
    """Step d: torchvision's RegionProposalNetwork, plus the same steps spelled out to record levels,
    anchor indices and how far each discrete decision is from flipping."""
    rpn = make_rpn(m, FixedHead(logits, deltas))
    image_list = ImageList(rpn_in, [(newh, neww)])
    feats = OrderedDict((str(i), lg) for i, lg in enumerate(logits))
    tv_boxes, _ = rpn(image_list, feats)
    tv_boxes = tv_boxes[0]
    anchors = rpn.anchor_generator(image_list, list(feats.values()))[0]
    per_level = [lg.shape[1] * lg.shape[2] * lg.shape[3] for lg in logits]
    obj_flat, deltas_flat = concat_box_prediction_layers(logits, deltas)
    decoded = rpn.box_coder.decode(deltas_flat, [anchors]).view(1, -1, 4)
    obj_flat = obj_flat.reshape(1, -1)
    top_idx = rpn._get_top_n_idx(obj_flat, per_level)[0]
    lvl_all = torch.cat([torch.full((n,), i, dtype=torch.int64) for i, n in enumerate(per_level)])
    boxes = torchvision.ops.clip_boxes_to_image(decoded[0, top_idx], (newh, neww))
    scores = torch.sigmoid(obj_flat[0, top_idx])
    lvl, anchor_idx = lvl_all[top_idx], top_idx
    keep = torchvision.ops.remove_small_boxes(boxes, rpn.min_size)
    wh = torch.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    min_size_margin = float((wh - rpn.min_size).abs().min()) if len(wh) else None
    boxes, scores, lvl, anchor_idx = boxes[keep], scores[keep], lvl[keep], anchor_idx[keep]
    score_margin = float((scores - rpn.score_thresh).abs().min()) if len(scores) else None
    keep = torch.where(scores >= rpn.score_thresh)[0]
    boxes, scores, lvl, anchor_idx = boxes[keep], scores[keep], lvl[keep], anchor_idx[keep]
    keep = batched_nms(boxes, scores, lvl, rpn.nms_thresh)
    rpn_nms = nms_margin(boxes, scores, lvl, keep, rpn.nms_thresh)
    n_after_nms = len(keep)
    post_n = rpn.post_nms_top_n()
    post_gap = float(scores[keep[post_n - 1]] - scores[keep[post_n]]) if n_after_nms > post_n else None
    keep = keep[:post_n]
    proposals = boxes[keep]
    assert torch.equal(proposals, tv_boxes), "spelled-out filter_proposals differs from torchvision's"
    topk_gaps = []
    for ob in obj_flat.split(per_level, 1):
        s = torch.sort(ob[0], descending=True).values
        k = min(rpn.pre_nms_top_n(), len(s))
        topk_gaps.append(float(s[k - 1] - s[k]) if k < len(s) else None)
    margins = {"rpnTopK": topk_gaps, "rpnMinSize": min_size_margin, "rpnScoreThreshold": score_margin,
               "rpnNms": rpn_nms, "postNmsTopK": post_gap}
    return SimpleNamespace(boxes=proposals, scores=scores[keep], levels=lvl[keep], anchor_index=anchor_idx[keep],
                           anchors=anchors, per_level=per_level, after_nms=n_after_nms, margins=margins)


def embed_regions_features(m, models, img, proposals):
    """Step e, features mode: backbone -> res4 -> roi_align -> head. Returns raw embeddings, the
    regionEncoder record and the tensors for --dump."""
    enc = m["regionEncoder"]
    R = len(proposals)
    bb_in = normalize_pixels(img.res_u8, enc["input"], (img.hp, img.wp))
    res4 = models["backbone"](bb_in)
    rois = torch.cat([torch.zeros(R, 1), proposals], dim=1)
    roi_feats = roi_align(res4, rois, tuple(enc["outputSize"]), enc["spatialScale"], enc["samplingRatio"], enc["aligned"])
    raw = models["head"](roi_feats) if R else torch.zeros(0, m["embedDim"])
    info = {"inputChannelSums": flat(bb_in[0].sum(dim=(1, 2))), "res4Dims": list(res4.shape), "res4": flat(res4),
            "roiFeatureSums": flat(roi_feats.sum(dim=(1, 2, 3)))}
    tensors = {"backbone.images": bb_in, "backbone.res4": res4, "head.roi_features": roi_feats, "head.region_embeds": raw}
    return raw, info, tensors


def embed_regions_crop(m, models, img, proposals):
    """Step e, crop mode: context-enlarged boxes on the original image -> roi_align crops -> vision tower.
    Returns raw embeddings, the regionEncoder record and the tensors for --dump."""
    enc = m["regionEncoder"]
    R = len(proposals)
    S = m["preprocess"]["size"]
    mean = torch.tensor(m["preprocess"]["mean"], dtype=torch.float32)[:, None, None]
    std = torch.tensor(m["preprocess"]["std"], dtype=torch.float32)[:, None, None]
    image = (img.orig_u8.permute(2, 0, 1).to(torch.float32) / 255 - mean) / std
    scale = torch.tensor([img.scale_x, img.scale_y, img.scale_x, img.scale_y], dtype=torch.float32)
    ob = proposals / scale
    cx, cy = (ob[:, 0] + ob[:, 2]) / 2, (ob[:, 1] + ob[:, 3]) / 2
    bw, bh = (ob[:, 2] - ob[:, 0]) * enc["contextScale"], (ob[:, 3] - ob[:, 1]) * enc["contextScale"]
    crop_boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=1)
    rois = torch.cat([torch.zeros(R, 1), crop_boxes], dim=1)
    crops = roi_align(image[None], rois, (S, S), 1.0, enc["samplingRatio"], True)
    raw = models["vision"](crops) if R else torch.zeros(0, m["embedDim"])
    info = {"cropBoxes": rows(crop_boxes), "cropSums": flat(crops.sum(dim=(1, 2, 3))),
            "cropFirstPixels": flat(crops[:, :, 0, 0]) if R else []}
    return raw, info, {"vision.pixel_values": crops, "vision.image_embeds": raw}


def write_dump(dump, tensors):
    """Graph inputs and torch outputs as raw little-endian float32 files plus index.json (name -> dims),
    for an ONNX Runtime cross-check."""
    os.makedirs(dump, exist_ok=True)
    index = {}
    for k, t in tensors.items():
        t.contiguous().numpy().astype("<f4").tofile(os.path.join(dump, k + ".bin"))
        index[k] = list(t.shape)
    with open(os.path.join(dump, "index.json"), "w") as f:
        json.dump(index, f)


def embed_phrases(model_dir, models):
    """Step f: VOCAB x TEMPLATES prompts -> tokens -> text tower; normalize, average over templates, normalize."""
    tok = SimpleTokenizer(model_dir)
    prompts = [fill_template(t, p) for p in VOCAB for t in TEMPLATES]
    ids = tok(prompts)
    text_raw = models["text"](ids)
    tn = text_raw / text_raw.norm(dim=1, keepdim=True)
    mean_t = tn.reshape(len(VOCAB), len(TEMPLATES), -1).mean(dim=1)
    phrases = mean_t / mean_t.norm(dim=1, keepdim=True)
    return SimpleNamespace(prompts=prompts, ids=ids, raw=text_raw, phrases=phrases)


def read_background(model_dir, m):
    """The manifest's background embedding (float32 LE file), or None."""
    if not m["scoring"].get("backgroundEmbed"):
        return None
    with open(os.path.join(model_dir, m["scoring"]["backgroundEmbed"]), "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).clone()


def detect(sc, conf, orig_boxes):
    """Step g for one fusion's score matrix: (region, phrase) pairs over conf, batched NMS by phrase,
    keep[:MAX_DET]; returns the detections record and the decisions' margins."""
    r_idx, p_idx = torch.nonzero(sc > conf, as_tuple=True)
    cand_scores, cand_boxes = sc[r_idx, p_idx], orig_boxes[r_idx]
    keep = batched_nms(cand_boxes, cand_scores, p_idx, DET_IOU)[:MAX_DET]
    nm = nms_margin(cand_boxes, cand_scores, p_idx, batched_nms(cand_boxes, cand_scores, p_idx, DET_IOU), DET_IOU)
    margins = {"conf": float((sc - conf).abs().min()) if len(sc) else None, **nm}
    record = {
        "conf": conf, "candidates": len(r_idx),
        "detections": [{"box": [float(v) for v in cand_boxes[k].tolist()], "phrase": int(p_idx[k]), "label": VOCAB[int(p_idx[k])],
                        "score": float(cand_scores[k]), "region": int(r_idx[k])} for k in keep.tolist()],
        "scores": rows(sc),
    }
    return record, margins


def score_and_detect(m, region, phrases, bg, prop_scores, orig_boxes):
    """Step g: cosine to phrases (+ background), softmax(cos / temperature), then detections per fusion."""
    cols = phrases if bg is None else torch.cat([phrases, (bg / bg.norm())[None]], dim=0)
    cosine = region @ cols.T
    probs = torch.softmax(cosine / m["scoring"]["temperature"], dim=1)
    P = len(VOCAB)
    detections, margins = {}, {}
    for fusion in ("none", "geometric"):
        sc = probs[:, :P] if fusion == "none" else torch.sqrt(probs[:, :P] * prop_scores[:, None])
        detections[fusion], margins[fusion] = detect(sc, CONF[fusion], orig_boxes)
    return cosine, probs, detections, margins


def header_record(model_dir, image_path, m, img):
    """The record's model, image and settings sections."""
    rel = lambda p: os.path.relpath(p, ROOT)
    with open(image_path, "rb") as f:
        img_sha = hashlib.sha256(f.read()).hexdigest()
    return {
        "model": {"dir": rel(model_dir), "name": m["name"], "mode": m["regionEncoder"]["mode"]},
        "image": {"path": rel(image_path), "sha256": img_sha, "width": img.w, "height": img.h},
        "settings": {
            "image": m["image"], "rpn": m["rpn"], "regionEncoder": m["regionEncoder"], "scoring": m["scoring"],
            "vocab": VOCAB, "templates": TEMPLATES, "ensemble": "normalize-average-normalize", "articles": True,
            "conf": CONF, "detIou": DET_IOU, "maxDet": MAX_DET, "fusions": ["none", "geometric"],
        },
    }


def rpn_records(img, rpn_in, logits, deltas, props, orig_boxes):
    """The record's resize, rpnInput, rpn and proposals sections."""
    return {
        "resize": {"height": img.newh, "width": img.neww, "scaleX": img.scale_x, "scaleY": img.scale_y,
                   "paddedHeight": img.hp, "paddedWidth": img.wp,
                   "resizedChannelSums": [int(v) for v in img.res_u8.to(torch.int64).sum(dim=(0, 1)).tolist()]},
        "rpnInput": {"dims": list(rpn_in.shape), "channelSums": flat(rpn_in[0].sum(dim=(1, 2))),
                     "first": flat(rpn_in[0, :, 0, :4]), "padValue": 0.0},
        "rpn": {
            "levels": [{"stride": img.hp // lg.shape[2], "gridHeight": lg.shape[2], "gridWidth": lg.shape[3], "numAnchors": props.per_level[i],
                        "objectnessDims": list(lg.shape), "objectness": flat(lg), "deltasDims": list(dl.shape), "deltas": flat(dl)}
                       for i, (lg, dl) in enumerate(zip(logits, deltas))],
            "numAnchors": len(props.anchors), "firstAnchors": rows(props.anchors[:6]),
            "afterNms": props.after_nms,
        },
        "proposals": {"count": len(props.boxes), "boxes": rows(props.boxes), "scores": flat(props.scores),
                      "levels": [int(v) for v in props.levels], "anchorIndex": [int(v) for v in props.anchor_index],
                      "boxesOriginal": rows(orig_boxes)},
    }


@torch.no_grad()
def run(model_dir, image_path, models=None, dump=None):
    """Steps a-g on one image; returns the record written as reference-<image stem>.json (and fills
    DUMP with the graphs' inputs and outputs when dump is set)."""
    m, preset, seed = read_manifest(model_dir)
    if models is None:
        models = rebuild_and_check(model_dir, m, preset, seed)
    img = load_image(m, image_path)
    # c. RPN input
    rpn_in = normalize_pixels(img.res_u8, m["rpn"]["input"], (img.hp, img.wp))
    o0, d0, o1, d1 = models["rpn"](rpn_in)
    logits, deltas = [o0, o1], [d0, d1]
    props = propose(m, rpn_in, logits, deltas, img.newh, img.neww)
    embed_regions = embed_regions_features if m["regionEncoder"]["mode"] == "features" else embed_regions_crop
    raw, re_info, tensors = embed_regions(m, models, img, props.boxes)
    region = raw / raw.norm(dim=1, keepdim=True)
    if dump is not None:
        write_dump(dump, {"rpn.images": rpn_in, "rpn.objectness_0": o0, "rpn.deltas_0": d0, "rpn.objectness_1": o1,
                          "rpn.deltas_1": d1, **tensors})
    text = embed_phrases(model_dir, models)
    bg = read_background(model_dir, m)
    orig_boxes = props.boxes / torch.tensor([img.scale_x, img.scale_y, img.scale_x, img.scale_y], dtype=torch.float32)
    cosine, probs, detections, det_margins = score_and_detect(m, region, text.phrases, bg, props.scores, orig_boxes)
    return {
        **header_record(model_dir, image_path, m, img),
        **rpn_records(img, rpn_in, logits, deltas, props, orig_boxes),
        "regionEncoder": re_info,
        "regionEmbedsRaw": rows(raw), "regionEmbeds": rows(region),
        "text": {"prompts": text.prompts, "inputIds": [[int(v) for v in r if v != 0] for r in text.ids.tolist()],
                 "textEmbedsRaw": rows(text.raw), "phraseEmbeds": rows(text.phrases),
                 "backgroundEmbed": flat(bg) if bg is not None else None},
        "cosine": rows(cosine), "probs": rows(probs),
        "detections": detections,
        "margins": {**props.margins, **{f"det_{k}": v for k, v in det_margins.items()}},
    }


def rebuild_and_check(model_dir, m, preset, seed):
    """export_tiny_detector.build_models(preset, seed), re-exported to a temporary folder; exits unless
    every file's sha256 equals the manifest's (so the outputs belong to the committed graphs)."""
    models = etd.build_models(preset, seed)
    with tempfile.TemporaryDirectory() as tmp:
        etd.write_tokenizer(models, tmp)
        if "background" in models:
            with open(os.path.join(tmp, "background.bin"), "wb") as f:
                f.write(models["background"].numpy().astype("<f4").tobytes())
        etd.export_graphs(models, preset, tmp)
        for name, rec in m["files"].items():
            with open(os.path.join(tmp, name), "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
            if got != rec["sha256"]:
                sys.exit(f"{model_dir}/{name}: rebuilt sha256 {got} != manifest {rec['sha256']}: re-run the export")
    return models


def print_summary(out, ref):
    """One line per reference file (proposals, margins) and one per fusion (its detections)."""
    print(f"{os.path.relpath(out, ROOT)}: {ref['proposals']['count']} proposals ({ref['rpn']['afterNms']} after NMS); margins {json.dumps(ref['margins'])}")
    for fusion, d in ref["detections"].items():
        print(f"  {fusion:9s} conf {d['conf']}: {d['candidates']} candidates -> {len(d['detections'])} detections: " + ", ".join(
            f"{x['label']} {x['score']:.3f} [{', '.join(f'{v:.1f}' for v in x['box'])}]" for x in d["detections"]))


def main():
    """--make-images, or every --model x --image (default: both tiny detectors x both fixture images)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-images", action="store_true")
    ap.add_argument("--model", action="append")
    ap.add_argument("--image", action="append")
    ap.add_argument("--dump", help="also write graph inputs / torch outputs as .bin under DUMP/<model>-<image>/ (ONNX cross-checks)")
    args = ap.parse_args()
    if args.make_images:
        make_images(os.path.join(ROOT, "fixtures/images"))
        return
    model_dirs = args.model or [os.path.join(ROOT, "fixtures/models/tiny-detector-features"), os.path.join(ROOT, "fixtures/models/tiny-detector-crop")]
    images = args.image or [os.path.join(ROOT, "fixtures/images/shapes.png"), os.path.join(ROOT, "fixtures/images/tiny.png")]
    import warnings
    warnings.filterwarnings("ignore")
    for md in model_dirs:
        md = os.path.abspath(md)
        m, preset, seed = read_manifest(md)
        models = rebuild_and_check(md, m, preset, seed)
        for ip in images:
            stem = os.path.splitext(os.path.basename(ip))[0]
            ref = run(md, os.path.abspath(ip), models, os.path.join(args.dump, f"{os.path.basename(md)}-{stem}") if args.dump else None)
            out = os.path.join(md, f"reference-{os.path.splitext(os.path.basename(ip))[0]}.json")
            with open(out, "w") as f:
                json.dump(ref, f)
            print_summary(out, ref)


if __name__ == "__main__":
    main()
