"""Writes fixtures/golden/rpn-filter.json: random RPN outputs post-processed by torchvision's own
RegionProposalNetwork.filter_proposals (Debian python3-torchvision 0.14), the reference for
src/proposals/filter.ts.

    /usr/bin/python3 tools/rpn_filter_fixtures.py
"""
import json

import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork, concat_box_prediction_layers

torch.manual_seed(3)
cases = []
for case_id, (padded, resized, maps, sizes, ratios, pre, post, nms, min_size, score) in enumerate([
    ((64, 96), (60, 90), [(8, 12), (4, 6)], ((16,), (32,)), ((0.5, 1.0, 2.0),) * 2, 50, 40, 0.7, 1e-3, 0.0),
    ((64, 96), (64, 81), [(8, 12), (4, 6)], ((16,), (32,)), ((0.5, 1.0, 2.0),) * 2, 1000, 1000, 0.9, 1e-3, 0.0),
    ((32, 32), (20, 14), [(4, 4), (2, 2)], ((16,), (32,)), ((0.5, 1.0, 2.0),) * 2, 30, 10, 0.5, 4.0, 0.3),
]):
    gen = AnchorGenerator(sizes, ratios)
    A = gen.num_anchors_per_location()[0]
    feats = [torch.zeros(1, 1, h, w) for h, w in maps]
    images = ImageList(torch.zeros(1, 3, *padded), [resized])
    anchors = gen(images, feats)
    objectness = [torch.randn(1, A, h, w) * 2 for h, w in maps]
    deltas = [torch.randn(1, 4 * A, h, w) * 0.5 for h, w in maps]
    rpn = RegionProposalNetwork(gen, None, 0.7, 0.3, 256, 0.5, dict(training=pre, testing=pre), dict(training=post, testing=post), nms, score)
    rpn.min_size = min_size
    rpn.eval()
    num_anchors_per_level = [o[0].numel() for o in objectness]
    obj, pred = concat_box_prediction_layers(objectness, deltas)
    proposals = rpn.box_coder.decode(pred.detach(), anchors).view(1, -1, 4)
    boxes, scores = rpn.filter_proposals(proposals, obj.detach(), images.image_sizes, num_anchors_per_level)
    cases.append({
        "id": f"case{case_id}", "padded_size_hw": list(padded), "image_size_hw": list(resized), "feature_sizes_hw": [list(m) for m in maps],
        "anchor_sizes": [list(s) for s in sizes], "aspect_ratios": [list(r) for r in ratios], "anchors_per_location": A,
        "pre_nms_top_n": pre, "post_nms_top_n": post, "nms_thresh": nms, "min_size": min_size, "score_thresh": score,
        "objectness": [o.flatten().tolist() for o in objectness], "deltas": [d.flatten().tolist() for d in deltas],
        "boxes": boxes[0].flatten().tolist(), "scores": scores[0].tolist(),
    })
with open("fixtures/golden/rpn-filter.json", "w") as f:
    json.dump({"source": "torchvision 0.14 RegionProposalNetwork.filter_proposals (eval mode)", "cases": cases}, f)
print([len(c["scores"]) for c in cases])
