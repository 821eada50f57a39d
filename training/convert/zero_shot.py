"""RegionCLIP's zero-shot inference in PyTorch on a converted folder's torch modules (not its ONNX files): the
reference that src/pipelines/detect.ts must match on a converted folder (training/reference_zero_shot.py runs it;
test/training/zero-shot-parity.test.ts and bench/convert-full.sh compare). Offline tooling: Debian's torch 1.13.

 a. decode with PIL -> RGB uint8; detectron2 ResizeShortestEdge (image.shortEdge / maxSize), PIL BILINEAR;
    scaleX = neww / w, scaleY = newh / h;
 b. RPN branch: rpn.input (BGR, detectron2 means), zero-padded to rpn.sizeDivisibility; the RPN module; detectron2
    DefaultAnchorGenerator (levels' strides) + find_top_rpn_proposals (training/d2_rpn_reference.py): top-k logits
    per level, clip, strict nonempty, NMS per level on the logits; scores = sigmoid(logit) in float32;
 c. regions, features mode (RegionCLIP clip_roi_heads): regionEncoder.input (RGB, CLIP mean / std in pixel units),
    padded to regionEncoder.sizeDivisibility (1: none); visual.res4 -> roi_align(res4, proposals, P x P, 1/16,
    sampling 0, aligned) -> visual.head (layer4 + attnpool) [-> bbox_pred on the raw embedding];
    crop mode (src/models/crop-encoder.ts): proposals / scale, enlarged by contextScale, roi_align on the ORIGINAL
    image normalized by the tower's mean / std at S x S (scale 1, aligned) -> the whole visual tower;
 d. text: each phrase in every template (articles fixed to the phrase's sound, or verbatim as RegionCLIP does),
    CLIP tokens, text tower; "average-normalize" (RegionCLIP's get_lang_emb: mean of raw rows, then L2) or
    "normalize-average-normalize";
 e. scores: cosine of L2-normalized rows with the phrases and the background column (D zeros: logit 0),
    / temperature, softmax, background dropped (RegionCLIP FastRCNNOutputLayers, fusion "none");
 f. boxes: with bbox_pred, Box2BoxTransform(10, 10, 5, 5) on the proposals, clipped to the resized image; then
    / scale (float64, rounded to float32); candidates score > threshold (region-major), batched_nms by phrase,
    keep[:maxDetections] (fast_rcnn_inference_single_image).

Glossary: R regions (proposals), P phrases, T templates, D embedding size, S the tower's input size.
"""
import json
import os
from types import SimpleNamespace

import torch
from PIL import Image
from torchvision.ops import batched_nms, roi_align

import d2_rpn_reference as d2
from detector_common import SimpleTokenizer, fill_template, normalize_pixels, output_shape, padded_size, to_u8

REGION_BATCH = 64
TEMPLATES_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "text", "prompt-templates.json")


def load_image(m, path):
    """Step a: the original and resized RGB uint8 images [H, W, 3] and the scale factors."""
    pil = Image.open(path).convert("RGB")
    w, h = pil.size
    newh, neww = output_shape(h, w, m["image"]["shortEdge"], m["image"]["maxSize"])
    resized = pil if (neww, newh) == (w, h) else pil.resize((neww, newh), Image.BILINEAR)
    return SimpleNamespace(orig=to_u8(pil), resized=to_u8(resized), w=w, h=h, newh=newh, neww=neww, scale_x=neww / w, scale_y=newh / h)


def _padded(img, div):
    return padded_size(img.newh, img.neww, div or 1)


def propose(m, rpn, img, overrides):
    """Step b: K proposals (resized pixels, decreasing logit), their logits and sigmoid scores."""
    spec = m["rpn"]
    if spec.get("anchorStyle") != "detectron2" or spec.get("minSizeRule") != "gt" or spec["boxCoderWeights"] != [1.0, 1.0, 1.0, 1.0]:
        raise ValueError("this reference covers detectron2 RPNs (anchorStyle detectron2, minSizeRule gt, box coder weights 1); "
                         "training/reference_detect.py covers the torchvision style")
    images = normalize_pixels(img.resized, spec["input"], _padded(img, spec.get("sizeDivisibility", m["image"]["sizeDivisibility"])))
    outputs = rpn(images)
    levels = [(outputs[2 * i], outputs[2 * i + 1]) for i in range(len(spec["levels"]))]
    sizes = [tuple(o.shape[2:]) for o, _ in levels]
    strides = [lv.get("stride", images.shape[2] // hw[0]) for lv, hw in zip(spec["levels"], sizes)]
    cells = [d2.cell_anchors(lv["anchorSizes"], lv["aspectRatios"]) for lv in spec["levels"]]
    anchors = d2.grid_anchors(sizes, strides, cells)
    setting = lambda key: overrides.get(key, spec[key])  # noqa: E731
    boxes, logits, _ = d2.top_proposals(levels, anchors, (img.newh, img.neww), setting("preNmsTopK"), setting("postNmsTopK"),
                                        setting("nmsThreshold"), setting("minSize"))
    return SimpleNamespace(boxes=boxes, logits=logits, scores=torch.sigmoid(logits))


def _in_batches(count, fn):
    return torch.cat([fn(s, min(count, s + REGION_BATCH)) for s in range(0, count, REGION_BATCH)]) if count else None


def embed_features(m, modules, img, proposals):
    """Step c, features mode: raw R x D embeddings and R x 4 box deltas (or None)."""
    enc = m["regionEncoder"]
    images = normalize_pixels(img.resized, enc["input"], _padded(img, enc.get("sizeDivisibility", m["image"]["sizeDivisibility"])))
    res4 = modules.visual.res4(images)
    rois = torch.cat([torch.zeros(len(proposals), 1), proposals], dim=1)

    def head(start, end):
        pooled = roi_align(res4, rois[start:end], tuple(enc["outputSize"]), enc["spatialScale"], enc["samplingRatio"], enc["aligned"])
        return modules.visual.head(pooled)

    raw = _in_batches(len(proposals), head)
    deltas = modules.bbox_pred(raw) if modules.bbox_pred is not None and enc.get("boxDeltas") and raw is not None else None
    return raw, deltas


def to_original(boxes, img):
    """Resized pixels -> original pixels, divided in float64 and rounded to float32 (Boxes.unscale)."""
    scale = torch.tensor([img.scale_x, img.scale_y, img.scale_x, img.scale_y], dtype=torch.float64)
    return (boxes.double() / scale).float()


def embed_crops(m, modules, img, proposals, context_scale):
    """Step c, crop mode: raw R x D embeddings of roi_align crops of the original image at S x S."""
    pre = m["preprocess"]
    S = pre["size"]
    mean = torch.tensor(pre["mean"], dtype=torch.float32)[:, None, None]
    std = torch.tensor(pre["std"], dtype=torch.float32)[:, None, None]
    image = ((img.orig.permute(2, 0, 1).to(torch.float32) / 255 - mean) / std)[None]
    ob = to_original(proposals, img)
    cx, cy = (ob[:, 0] + ob[:, 2]) / 2, (ob[:, 1] + ob[:, 3]) / 2
    bw, bh = (ob[:, 2] - ob[:, 0]) * context_scale, (ob[:, 3] - ob[:, 1]) * context_scale
    rois = torch.cat([torch.zeros(len(ob), 1), torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=1)], dim=1)
    crops = lambda s, e: modules.visual(roi_align(image, rois[s:e], (S, S), 1.0, m["regionEncoder"].get("samplingRatio", 0), True))  # noqa: E731
    return _in_batches(len(ob), crops), None


def read_templates(name):
    with open(TEMPLATES_JSON) as f:
        return json.load(f)[name]


def l2(x):
    """Rows scaled to unit norm; a zero row stays zero (src/matching/scores.ts normalizeRows)."""
    norm = x.norm(dim=-1, keepdim=True)
    return torch.where(norm > 0, x / norm.clamp_min(1e-30), torch.zeros_like(x))


def embed_phrases(model_dir, text, phrases, settings):
    """Step d: P x D L2-normalized phrase embeddings."""
    templates = read_templates(settings.get("templates", "single"))
    articles = settings.get("articles", True)
    prompts = [fill_template(t, p) if articles else t.replace("{}", p) for p in phrases for t in templates]
    ids = SimpleTokenizer(model_dir)(prompts)
    raw = torch.cat([text.encode_text(ids[s:s + 128]) for s in range(0, len(ids), 128)]).reshape(len(phrases), len(templates), -1)
    if settings.get("ensemble", "normalize-average-normalize") == "average-normalize":
        return l2(raw.mean(dim=1))
    return l2(l2(raw).mean(dim=1))


def read_background(model_dir, m):
    name = m["scoring"].get("backgroundEmbed")
    if not name:
        return None
    with open(os.path.join(model_dir, name), "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).clone()


def label_scores(m, region_raw, phrase_embeds, background):
    """Step e: R x P probabilities, softmax(cos / temperature) with the background column dropped."""
    cols = phrase_embeds if background is None else torch.cat([phrase_embeds, l2(background)[None]])
    probs = torch.softmax(l2(region_raw) @ cols.T / m["scoring"]["temperature"], dim=1)
    return probs[:, :len(phrase_embeds)]


def final_boxes(m, img, proposals, deltas):
    """Step f, boxes: the proposals, regressed by the head's deltas when it has them, in original pixels."""
    if deltas is not None:
        proposals = d2.apply_deltas(deltas, proposals, tuple(m["regionEncoder"]["boxDeltas"]["weights"]))
        proposals = torch.stack([proposals[:, 0].clamp(0, img.neww), proposals[:, 1].clamp(0, img.newh),
                                 proposals[:, 2].clamp(0, img.neww), proposals[:, 3].clamp(0, img.newh)], dim=1)
    return to_original(proposals, img)


def select(scores, boxes, detect):
    """Step f, selection: (region, phrase) pairs over the threshold, per-phrase NMS, top-k; with the margins
    of the decisions (smallest |score - threshold|, smallest gap between kept scores)."""
    regions, phrases = torch.nonzero(scores > detect["scoreThreshold"], as_tuple=True)
    cand_scores = scores[regions, phrases]
    keep = batched_nms(boxes[regions], cand_scores, phrases, detect["iouThreshold"])[:detect["maxDetections"]]
    kept = cand_scores[keep]
    margins = {"scoreThreshold": float((scores - detect["scoreThreshold"]).abs().min()) if scores.numel() else None,
               "keptScoreGap": float((kept[:-1] - kept[1:]).abs().min()) if len(kept) > 1 else None}
    return [{"phrase": int(phrases[k]), "score": float(cand_scores[k]), "box": [float(v) for v in boxes[regions[k]]], "region": int(regions[k])}
            for k in keep.tolist()], int(len(regions)), margins


@torch.no_grad()
def run(model_dir, modules, image_path, phrases, settings):
    """Steps a-f; returns the record that reference_zero_shot.py writes."""
    with open(os.path.join(model_dir, "manifest.json")) as f:
        m = json.load(f)
    detect = {"scoreThreshold": 0.3, "iouThreshold": 0.5, "maxDetections": 100, "fusion": "none", **settings.get("detect", {})}
    if detect["fusion"] != "none":
        raise ValueError("the reference scores as RegionCLIP does: detect.fusion must be \"none\"")
    img = load_image(m, image_path)
    props = propose(m, modules.rpn, img, settings.get("proposals", {}))
    if m["regionEncoder"]["mode"] == "features":
        raw, deltas = embed_features(m, modules, img, props.boxes)
    else:
        raw, deltas = embed_crops(m, modules, img, props.boxes, detect.get("contextScale", m["regionEncoder"].get("contextScale", 1.0)))
    phrase_embeds = embed_phrases(model_dir, modules.text, phrases, settings.get("text", {}))
    scores = label_scores(m, raw, phrase_embeds, read_background(model_dir, m)) if raw is not None else torch.zeros(0, len(phrases))
    detections, candidates, margins = select(scores, final_boxes(m, img, props.boxes, deltas), detect)
    for d in detections:
        d["label"] = phrases[d["phrase"]]
    return {"image": {"path": image_path, "width": img.w, "height": img.h}, "resize": {"height": img.newh, "width": img.neww},
            "phrases": phrases, "settings": settings,
            "proposals": {"count": len(props.boxes), "boxes": d2.f32_list(props.boxes), "scores": d2.f32_list(props.scores),
                          "logits": d2.f32_list(props.logits)},
            "candidates": candidates, "detections": detections, "margins": margins}
