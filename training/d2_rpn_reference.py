"""detectron2's RPN bookkeeping, re-implemented for golden tables: DefaultAnchorGenerator (cell
anchors, grid) and find_top_rpn_proposals, as RegionCLIP's offline RPNs run them at test time
(ANCHOR_GENERATOR.OFFSET 0.0, RPN.MIN_SIZE 0, BBOX_REG_WEIGHTS (1, 1, 1, 1)). Offline tooling: Debian's
python3-torch 1.13 / torchvision 0.14; never imported at run time. Written from the semantics of
detectron2's modeling/anchor_generator.py, proposal_generator/{rpn,proposal_utils}.py,
structures/boxes.py and box_regression.py, not copied.

    /usr/bin/python3 training/d2_rpn_reference.py --check     # hand-computed cases only (<1 s)
    /usr/bin/python3 training/d2_rpn_reference.py             # checks, then fixtures/golden/d2-rpn/*.json
                                                               # (anchors, proposals, box-deltas: RegionCLIP's
                                                               # finetuned-head regression, `box_deltas_case`)

Semantics (src/geometry/anchors.ts `anchorStyle: "detectron2"` and src/proposals/filter.ts
`style: "detectron2"` implement exactly this):
 a. cell anchors, size-major (for each size, for each ratio a = h / w): w = sqrt(size^2 / a), h = a * w
    in float64, [-w/2, -h/2, w/2, h/2], then ONE rounding to float32; no integer rounding;
 b. grid: per level a fixed stride s; shifts x * s, y * s (float32, offset 0); anchor = shift + cell in
    float32, ordered y, then x, then cell anchor; levels concatenated;
 c. graph outputs [1, A, h, w] objectness and [1, 4A, h, w] deltas (viewed as [1, A, 4, h, w]) are both
    reordered to (y, x, a);
 d. proposals = Box2BoxTransform(weights).apply_deltas(deltas, anchors) (dw, dh clamped at log(1000/16));
 e. per level, the pre_nms_topk highest LOGITS (torch.topk, sorted); levels concatenated;
 f. rows with a non-finite box or logit dropped; boxes clipped to the UNPADDED image (h, w);
 g. Boxes.nonempty(min_size): width > min_size and height > min_size (strict);
 h. torchvision batched_nms by level on the LOGITS (iou > nms_thresh suppresses), keep[:post_nms_topk];
 i. returned: the boxes and their raw logits (detectron2's `objectness_logits`); our TS returns
    sigmoid(logit) as `scores` and the logits beside them.
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import torchvision

SCALE_CLAMP = math.log(1000.0 / 16)
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "golden", "d2-rpn")


# ---------------------------------------------------------------------------------------------
# The reference (steps a-i)

def cell_anchors(sizes, ratios):
    """Step a: A x 4 float32, size-major, float64 maths then one float32 rounding."""
    rows = []
    for size in sizes:
        for ratio in ratios:
            width = math.sqrt(float(size) ** 2 / ratio)
            height = ratio * width
            rows.append([-width / 2, -height / 2, width / 2, height / 2])
    return torch.tensor(rows, dtype=torch.float64).to(torch.float32)


def grid_anchors(feature_sizes, strides, cells):
    """Step b: per level (h * w * A) x 4 float32 anchors, (y, x, a) order."""
    out = []
    for (h, w), stride, cell in zip(feature_sizes, strides, cells):
        xs = torch.arange(0, w * stride, step=stride, dtype=torch.float32)
        ys = torch.arange(0, h * stride, step=stride, dtype=torch.float32)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        shifts = torch.stack([grid_x.flatten(), grid_y.flatten()] * 2, dim=1)  # x, y, x, y
        out.append((shifts[:, None, :] + cell[None, :, :]).reshape(-1, 4))
    return out


def to_anchor_order(objectness, deltas):
    """Step c: [1, A, h, w] -> (h*w*A,), [1, 4A, h, w] -> (h*w*A, 4)."""
    _, A, h, w = objectness.shape
    logits = objectness.permute(0, 2, 3, 1).reshape(-1)
    rows = deltas.reshape(1, A, 4, h, w).permute(0, 3, 4, 1, 2).reshape(-1, 4)
    return logits, rows


def apply_deltas(deltas, boxes, weights=(1.0, 1.0, 1.0, 1.0)):
    """Step d: R-CNN box decoding in float32."""
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    cx = boxes[:, 0] + 0.5 * widths
    cy = boxes[:, 1] + 0.5 * heights
    wx, wy, ww, wh = weights
    dx, dy = deltas[:, 0] / wx, deltas[:, 1] / wy
    dw = torch.clamp(deltas[:, 2] / ww, max=SCALE_CLAMP)
    dh = torch.clamp(deltas[:, 3] / wh, max=SCALE_CLAMP)
    pcx, pcy = dx * widths + cx, dy * heights + cy
    pw, ph = torch.exp(dw) * widths, torch.exp(dh) * heights
    return torch.stack([pcx - 0.5 * pw, pcy - 0.5 * ph, pcx + 0.5 * pw, pcy + 0.5 * ph], dim=1)


def top_proposals(levels, anchors, image_hw, pre_nms_topk, post_nms_topk, nms_thresh, min_size):
    """Steps d-i. `levels` holds (objectness [1,A,h,w], deltas [1,4A,h,w]) per level.
    Returns (boxes K x 4, logits K, kept [(level, index in level)])."""
    boxes, logits, level_ids, index_in_level = [], [], [], []
    for level, ((objectness, deltas), level_anchors) in enumerate(zip(levels, anchors)):
        level_logits, level_deltas = to_anchor_order(objectness, deltas)
        proposals = apply_deltas(level_deltas, level_anchors)
        k = min(level_logits.numel(), pre_nms_topk)
        top_logits, top_idx = level_logits.topk(k)
        boxes.append(proposals[top_idx])
        logits.append(top_logits)
        level_ids.append(torch.full((k,), level, dtype=torch.int64))
        index_in_level.append(top_idx)
    boxes, logits = torch.cat(boxes), torch.cat(logits)
    level_ids, index_in_level = torch.cat(level_ids), torch.cat(index_in_level)

    valid = torch.isfinite(boxes).all(dim=1) & torch.isfinite(logits)
    boxes, logits, level_ids, index_in_level = boxes[valid], logits[valid], level_ids[valid], index_in_level[valid]
    height, width = image_hw
    boxes = torch.stack([boxes[:, 0].clamp(0, width), boxes[:, 1].clamp(0, height),
                         boxes[:, 2].clamp(0, width), boxes[:, 3].clamp(0, height)], dim=1)
    nonempty = ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)
    boxes, logits, level_ids, index_in_level = boxes[nonempty], logits[nonempty], level_ids[nonempty], index_in_level[nonempty]

    keep = torchvision.ops.batched_nms(boxes, logits, level_ids, nms_thresh)[:post_nms_topk]
    kept = [[int(level_ids[i]), int(index_in_level[i])] for i in keep]
    return boxes[keep], logits[keep], kept


# ---------------------------------------------------------------------------------------------
# Hand-computed checks: values a reader can verify on paper

def check_hand_computed():
    cells = cell_anchors([32], [0.5, 1.0, 2.0])
    half_long, half_short = math.sqrt(2048) / 2, math.sqrt(512) / 2  # 22.627..., 11.313...
    expected = [[-half_long, -half_short, half_long, half_short], [-16, -16, 16, 16], [-half_short, -half_long, half_short, half_long]]
    assert torch.equal(cells, torch.tensor(expected, dtype=torch.float32)), cells
    assert abs(float(cells[0, 2]) - 22.627417) < 1e-5, "unrounded, not torchvision's 23"

    c4 = cell_anchors([32, 64, 128, 256, 512], [0.5, 1.0, 2.0])
    assert c4.shape == (15, 4)
    assert c4[1].tolist() == [-16, -16, 16, 16], "anchor 1 = (size 32, ratio 1), size-major"
    assert c4[4].tolist() == [-32, -32, 32, 32], "anchor 4 = (size 64, ratio 1)"
    assert c4[14].tolist()[1] == -float(np.float32(math.sqrt(512 ** 2 / 2.0)))  # (512, 2): h/2 = sqrt(2)*256

    # P6 on an 800 x 1216 padded input: 13 x 19 map, fixed stride 64 (torchvision infers 800 // 13 = 61).
    (p6,) = grid_anchors([(13, 19)], [64], [cell_anchors([512], [1.0])])
    last = p6[-1].tolist()
    assert last == [18 * 64 - 256, 12 * 64 - 256, 18 * 64 + 256, 12 * 64 + 256], last  # centre (1152, 768)

    # Strict nonempty: a box clipped to zero width is dropped with min_size 0.
    objectness = torch.tensor([[[[3.0]], [[2.0]]]])  # A = 2, 1 x 1 map
    deltas = torch.tensor([[[[-40.0]], [[0.0]], [[0.0]], [[0.0]], [[0.0]], [[0.0]], [[0.0]], [[0.0]]]])
    anchors = [torch.tensor([[0.0, 0.0, 8.0, 8.0], [0.0, 0.0, 8.0, 8.0]])]
    boxes, logits, kept = top_proposals([(objectness, deltas)], anchors, (8, 8), 10, 10, 0.7, 0.0)
    assert kept == [[0, 1]] and boxes.tolist() == [[0, 0, 8, 8]] and logits.tolist() == [2.0], (kept, boxes)
    print("hand-computed checks: ok (cell anchors +-22.627417, size-major C4 order, P6 stride 64, strict w > 0)")


# ---------------------------------------------------------------------------------------------
# Golden tables

def f32_list(tensor):
    """Shortest decimals that round-trip to the same float32; NaN/Inf -> null."""
    return [float(repr(np.float32(v))) if math.isfinite(v) else None for v in tensor.reshape(-1).tolist()]


def random_level(gen, A, h, w):
    """Objectness ~ N(0, 2) rounded to 5 decimals and deltas ~ N(0, 0.4) rounded to 3 (short in JSON)."""
    objectness = torch.round(torch.randn(1, A, h, w, generator=gen, dtype=torch.float64) * 2e5) / 1e5
    deltas = torch.round(torch.randn(1, 4 * A, h, w, generator=gen, dtype=torch.float64) * 400) / 1000
    return objectness.to(torch.float32), deltas.to(torch.float32)


def make_distinct(levels):
    """Nudges repeated logits (over all levels) up by 1e-5 until every one is distinct: torch's topk and
    NMS sorts break ties in no documented order, so a golden must not contain any."""
    seen = set()
    for objectness, _ in levels:
        flat = objectness.view(-1)
        for i in range(flat.numel()):
            value = float(flat[i])
            while value in seen:
                value = float(np.float32(round(value + 1e-5, 5)))
            seen.add(value)
            flat[i] = value


def plant_edge_cases(level, h, w, a_sat):
    """In a level with w >= 4: (1) two saturating logits (sigmoid = 1 in float32) for cell anchor
    `a_sat` on neighbouring cells, the higher one later, with IoU 0.78 (detectron2 keeps the later one;
    sorting by sigmoid would keep the earlier); (2) a top-scoring box pushed off the left edge, clipped to
    zero width (strict nonempty drops it); (3) a NaN delta on a high logit (dropped as non-finite)."""
    objectness, deltas = level
    deltas4 = deltas.view(1, -1, 4, h, w)
    objectness[0, a_sat, 1, 1], objectness[0, a_sat, 1, 2] = 18.0, 20.0
    deltas4[0, a_sat, :, 1, 1] = 0.0
    deltas4[0, a_sat, :, 1, 2] = 0.0
    objectness[0, 0, 0, 0] = 16.0
    deltas4[0, 0, :, 0, 0] = torch.tensor([-40.0, 0.0, 0.0, 0.0])
    objectness[0, 0, h - 1, w - 1] = 15.0
    deltas4[0, 0, 0, h - 1, w - 1] = float("nan")


def proposal_case(case_id, seed, image_hw, padded_hw, feature_sizes, strides, sizes, ratios, runs):
    gen = torch.Generator().manual_seed(seed)
    A = len(sizes[0]) * len(ratios[0])
    levels = [random_level(gen, A, h, w) for h, w in feature_sizes]
    # P2 (stride 4): anchor 1 = (32, ratio 1), IoU 28*32 / (2*32*32 - 28*32) = 0.78 one cell over;
    # C4 (stride 16): anchor 7 = (128, ratio 1), IoU 112*128 / (2*128*128 - 112*128) = 0.78.
    plant_edge_cases(levels[0], *feature_sizes[0], a_sat=1 if A == 3 else 7)
    make_distinct(levels)
    cells = [cell_anchors(s, r) for s, r in zip(sizes, ratios)]
    anchors = grid_anchors(feature_sizes, strides, cells)
    results = []
    for pre, post, nms, min_size in runs:
        boxes, logits, kept = top_proposals(levels, anchors, image_hw, pre, post, nms, min_size)
        results.append(dict(pre_nms_topk=pre, post_nms_topk=post, nms_thresh=nms, min_size=min_size,
                            kept=kept, boxes=f32_list(boxes), logits=f32_list(logits)))
    return dict(id=case_id, image_size_hw=list(image_hw), padded_size_hw=list(padded_hw),
                feature_sizes_hw=[list(s) for s in feature_sizes], strides=strides, anchor_sizes=sizes,
                aspect_ratios=ratios, anchors_per_location=A,
                objectness=[f32_list(o) for o, _ in levels], deltas=[f32_list(d) for _, d in levels], runs=results)


def anchor_case(case_id, padded_hw, feature_sizes, strides, sizes, ratios, samples_per_level=24):
    """Cell anchors, counts, and sampled rows (first, last, and random indices) of each level."""
    gen = torch.Generator().manual_seed(7)
    cells = [cell_anchors(s, r) for s, r in zip(sizes, ratios)]
    anchors = grid_anchors(feature_sizes, strides, cells)
    samples = []
    for level in anchors:
        n = level.shape[0]
        idx = sorted(set([0, 1, n - 1] + torch.randint(0, n, (samples_per_level,), generator=gen).tolist()))
        samples.append(dict(indices=idx, rows=f32_list(level[idx])))
    return dict(id=case_id, padded_size_hw=list(padded_hw), feature_sizes_hw=[list(s) for s in feature_sizes],
                strides=strides, anchor_sizes=sizes, aspect_ratios=ratios,
                cell_anchors=[f32_list(c) for c in cells], anchors_per_level=[a.shape[0] for a in anchors], samples=samples)


def box_deltas_case(seed=3, count=40):
    """RegionCLIP's class-agnostic box regression at inference (fast_rcnn.py predict_boxes with
    Box2BoxTransform(10, 10, 5, 5), then Boxes.clip(image_size) in fast_rcnn_inference_single_image) on
    proposals of a 70 x 100 resized image, then back to a 140 x 201 original (x / scale, float32)."""
    gen = torch.Generator().manual_seed(seed)
    image_hw, scale_x, scale_y = (70, 100), 100 / 201, 70 / 140
    xy = torch.rand(count, 2, generator=gen) * torch.tensor([90.0, 60.0])
    wh = torch.rand(count, 2, generator=gen) * torch.tensor([40.0, 30.0]) + 2
    proposals = torch.round(torch.cat([xy, xy + wh], dim=1) * 100) / 100
    deltas = torch.round(torch.randn(count, 4, generator=gen) * torch.tensor([3.0, 3.0, 2.0, 2.0]) * 1000) / 1000
    deltas[0] = torch.tensor([0.0, 0.0, 30.0, 30.0])  # dw / 5 = 6 > log(1000/16): clamped, then clipped to the image
    deltas[1] = torch.tensor([-500.0, 0.0, 0.0, 0.0])  # 50 widths left: clipped to x1 = x2 = 0
    weights = (10.0, 10.0, 5.0, 5.0)
    decoded = apply_deltas(deltas, proposals, weights)
    h, w = image_hw
    clipped = torch.stack([decoded[:, 0].clamp(0, w), decoded[:, 1].clamp(0, h), decoded[:, 2].clamp(0, w), decoded[:, 3].clamp(0, h)], dim=1)
    original = (clipped.double() / torch.tensor([scale_x, scale_y, scale_x, scale_y], dtype=torch.float64)).float()
    return dict(source=SOURCE, semantics=box_deltas_case.__doc__.strip(), image_size_hw=list(image_hw), scale_xy=[scale_x, scale_y],
                weights=list(weights), proposals=f32_list(proposals), deltas=f32_list(deltas), clipped=f32_list(clipped), original=f32_list(original))


FPN_SIZES, FPN_RATIOS = [[32], [64], [128], [256], [512]], [[0.5, 1.0, 2.0]] * 5
C4_SIZES, C4_RATIOS = [[32, 64, 128, 256, 512]], [[0.5, 1.0, 2.0]]
SOURCE = f"training/d2_rpn_reference.py (detectron2 DefaultAnchorGenerator + find_top_rpn_proposals, re-implemented) on torch {torch.__version__}, torchvision {torchvision.__version__}"


def write_goldens():
    os.makedirs(OUT_DIR, exist_ok=True)
    anchors = dict(source=SOURCE, semantics="steps a-b of the module docstring; rows are flat XYXY float32", cases=[
        # 800 x 1216 padded (FPN pads to 32): P2..P6, P6 = 13 x 19 at stride 64.
        anchor_case("fpn-800x1216", (800, 1216), [(200, 304), (100, 152), (50, 76), (25, 38), (13, 19)], [4, 8, 16, 32, 64], FPN_SIZES, FPN_RATIOS),
        # C4, unpadded 800 x 1201: res4 is 50 x 76 at stride 16 (torchvision would infer 1201 // 76 = 15).
        anchor_case("c4-800x1201", (800, 1201), [(50, 76)], [16], C4_SIZES, C4_RATIOS),
    ])
    proposals = dict(source=SOURCE, semantics="steps a-i of the module docstring; objectness [A,h,w] and deltas [4A,h,w] flat per level; kept = [level, index in the level's (y, x, a) order]; boxes K x 4 and raw logits K", cases=[
        # FPN: 70 x 100 image padded to 96 x 128; P5 3 x 4 (odd), P6 2 x 2 (stride 64, not 96 // 2 = 48).
        proposal_case("fpn-70x100", 1, (70, 100), (96, 128), [(24, 32), (12, 16), (6, 8), (3, 4), (2, 2)], [4, 8, 16, 32, 64],
                      FPN_SIZES, FPN_RATIOS, runs=[(1000, 1000, 0.7, 0.0), (40, 25, 0.5, 0.0), (1000, 300, 0.9, 2.0)]),
        # C4: 40 x 1201 unpadded; res4 3 x 76 at stride 16, 15 anchors.
        proposal_case("c4-40x1201", 2, (40, 1201), (40, 1201), [(3, 76)], [16], C4_SIZES, C4_RATIOS,
                      runs=[(6000, 1000, 0.7, 0.0), (300, 50, 0.5, 0.0)]),
    ])
    for name, data in (("anchors.json", anchors), ("proposals.json", proposals), ("box-deltas.json", box_deltas_case())):
        path = os.path.join(OUT_DIR, name)
        with open(path, "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the hand-computed checks only")
    args = parser.parse_args()
    check_hand_computed()
    if not args.check:
        write_goldens()
