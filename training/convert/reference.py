"""Torch-eager reference outputs of converted graphs on fixed seeded inputs, for the parity checks that run
the ONNX files (test/training/convert.test.ts, bench/convert-parity.ts):

  {role: {"inputs": {name: {"dims", "data"}}, "outputs": {name: {"dims", "data"}}}}   roles as in manifest.graphs

text: 3 id rows (SOT, random ids, EOT at positions 5, 12 and 77); vision: 2 random images at S x S; backbone
and rpn: one random image (FPN: a multiple of 32; C4: a size that is not); head: 3 random RoI feature maps.
"""
import json

import torch

from .graphs import rpn_output_names


def _t(x):
    return {"dims": list(x.shape), "data": x.flatten().tolist()}


def text_case(text, gen):
    vocab, ctx = text.token_embedding.weight.shape[0], text.positional_embedding.shape[0]
    ids = torch.zeros(3, ctx, dtype=torch.int64)
    for row, length in enumerate((5, 12, ctx)):
        ids[row, 0] = vocab - 2
        ids[row, 1:length - 1] = torch.randint(0, vocab - 2, (length - 2,), generator=gen)
        ids[row, length - 1] = vocab - 1
    return {"inputs": {"input_ids": _t(ids)}, "outputs": {"text_embeds": _t(text.encode_text(ids))}}


@torch.no_grad()
def write_reference(path, modules, seed=1234):
    """modules: text, visual (S), and optionally split (visual, P, bbox_pred or None) and rpn."""
    gen = torch.Generator().manual_seed(seed)
    ref = {"text": text_case(modules["text"], gen)}
    visual, S = modules["visual"], modules["S"]
    pixels = torch.randn(2, 3, S, S, generator=gen)
    ref["vision"] = {"inputs": {"pixel_values": _t(pixels)}, "outputs": {"image_embeds": _t(visual(pixels))}}
    if modules.get("split"):
        P, bbox_pred = modules["split"]
        image = torch.randn(1, 3, S + 32, S + 64, generator=gen)
        ref["backbone"] = {"inputs": {"images": _t(image)}, "outputs": {"res4": _t(visual.res4(image))}}
        C = visual.layer4[0].conv1.in_channels
        rois = torch.randn(3, C, P, P, generator=gen).relu()
        emb = visual.head(rois)
        outputs = {"region_embeds": _t(emb)}
        if bbox_pred is not None:
            outputs["box_deltas"] = _t(bbox_pred(emb))
        ref["head"] = {"inputs": {"roi_features": _t(rois)}, "outputs": outputs}
    if modules.get("rpn") is not None:
        rpn = modules["rpn"]
        h, w = (128, 160) if rpn.style == "fpn" else (120, 150)
        image = 50 * torch.randn(1, 3, h, w, generator=gen)
        outs = rpn(image)
        ref["rpn"] = {"inputs": {"images": _t(image)}, "outputs": {n: _t(o) for n, o in zip(rpn_output_names(len(rpn.strides)), outs)}}
    with open(path, "w") as f:
        json.dump(ref, f)
