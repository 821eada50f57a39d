"""Key-name oracle: instantiate our full-size modules and compare their state-dict keys, shapes and dtypes with
the upstream key lists in fixtures/real-weights-keys/*.tsv (generated from openai/CLIP clip/model.py,
RegionCLIP detectron2/modeling/backbone/clip_backbone.py and detectron2's resnet.py / fpn.py / rpn.py naming).
Also checks that our SelfAttention and AttentionPool2d compute what torch's multi-head attention computes.
Instantiation only (initializers are skipped), a few seconds:

    cd training && /usr/bin/python3 -m convert.check_keys [--fixtures ../fixtures/real-weights-keys]

Prints one line per list and exits 1 on any difference.
"""
import argparse
import contextlib
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

from .clip_modules import ARCHS, AttentionPool2d, Clip, TextTransformer, build_visual
from .d2_modules import R50_STAGES, DetectronRpn
from .layers import SelfAttention


@contextlib.contextmanager
def skip_init():
    """Make torch.nn.init's fillers no-ops while modules are built (only names and shapes matter here)."""
    names = ["kaiming_uniform_", "uniform_", "normal_", "xavier_uniform_", "zeros_", "ones_", "constant_"]
    saved = {n: getattr(nn.init, n) for n in names}
    try:
        for n in names:
            setattr(nn.init, n, lambda tensor, *a, **k: tensor)
        yield
    finally:
        for n, f in saved.items():
            setattr(nn.init, n, f)


def rows(module, prefix=""):
    """{key: "shape\tdtype"} in the .tsv notation (dims joined by x, `scalar` for 0-d)."""
    out = {}
    for k, v in module.state_dict().items():
        shape = "x".join(str(d) for d in v.shape) or "scalar"
        out[prefix + k] = f"{shape}\t{str(v.dtype).replace('torch.', '')}"
    return out


def openai(arch):
    visual, text = ARCHS[arch]
    return Clip(build_visual(visual), text)


MODULES = {
    "openai_RN50": lambda: rows(openai("RN50")),
    "openai_RN50x4": lambda: rows(openai("RN50x4")),
    "openai_ViT-B-32": lambda: rows(openai("ViT-B/32")),
    "openai_ViT-B-16": lambda: rows(openai("ViT-B/16")),
    "regionclip_backbone_depth50": lambda: rows(build_visual(ARCHS["RN50"][0], frozen_bn=True), "backbone."),
    "regionclip_backbone_depth200": lambda: rows(build_visual(ARCHS["RN50x4"][0], frozen_bn=True), "backbone."),
    "regionclip_lang_encoder_depth50": lambda: rows(TextTransformer(**ARCHS["RN50"][1]), "lang_encoder."),
    "regionclip_lang_encoder_depth200": lambda: rows(TextTransformer(**ARCHS["RN50x4"][1]), "lang_encoder."),
    "detectron2_R50-FPN_rpn": lambda: rows(DetectronRpn("fpn", 64, R50_STAGES, 3)),
    "detectron2_R50-C4_rpn": lambda: rows(DetectronRpn("c4", 64, R50_STAGES[:3], 15)),
}


def read_tsv(path):
    with open(path) as f:
        return {line.split("\t")[0]: "\t".join(line.rstrip("\n").split("\t")[1:]) for line in f if line.strip()}


def compare(name, expected, actual):
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    shapes = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    ok = not (missing or extra or shapes)
    detail = "" if ok else f" missing {missing[:3]} extra {extra[:3]} mismatched {[(k, expected[k], actual[k]) for k in shapes[:3]]}"
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(expected)} keys expected, {len(actual)} built{detail}")
    return ok


@torch.no_grad()
def attention_matches_torch():
    """Our SelfAttention (causal mask) and AttentionPool2d vs torch's multi-head attention on the same weights."""
    torch.manual_seed(0)
    ours, ref = SelfAttention(64, 4), nn.MultiheadAttention(64, 4)
    ref.in_proj_weight.copy_(ours.in_proj_weight)
    ref.in_proj_bias.copy_(torch.randn(192))
    ours.in_proj_bias.copy_(ref.in_proj_bias)
    ref.out_proj.load_state_dict(ours.out_proj.state_dict())
    x = torch.randn(2, 7, 64)
    mask = torch.full((7, 7), float("-inf")).triu(1)
    a = ours(x, mask)
    b = ref(x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), attn_mask=mask, need_weights=False)[0].transpose(0, 1)
    pool = AttentionPool2d(3, 64, 4, 32)
    f = torch.randn(2, 64, 3, 3)
    seq = f.flatten(2).permute(2, 0, 1)
    seq = torch.cat([seq.mean(dim=0, keepdim=True), seq]) + pool.positional_embedding[:, None]
    c = F.multi_head_attention_forward(
        query=seq[:1], key=seq, value=seq, embed_dim_to_check=64, num_heads=4, q_proj_weight=pool.q_proj.weight,
        k_proj_weight=pool.k_proj.weight, v_proj_weight=pool.v_proj.weight, in_proj_weight=None,
        in_proj_bias=torch.cat([pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]), bias_k=None, bias_v=None,
        add_zero_attn=False, dropout_p=0.0, out_proj_weight=pool.c_proj.weight, out_proj_bias=pool.c_proj.bias,
        use_separate_proj_weight=True, training=False, need_weights=False)[0][0]
    diffs = float((a - b).abs().max()), float((pool(f) - c).abs().max())
    ok = max(diffs) < 1e-5
    print(f"{'ok  ' if ok else 'FAIL'} attention vs torch: self-attention {diffs[0]:.2e}, attention pool {diffs[1]:.2e}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "real-weights-keys"))
    args = ap.parse_args()
    ok = attention_matches_torch()
    for name, build in MODULES.items():
        with skip_init():
            actual = build()
        ok = compare(name, read_tsv(os.path.join(args.fixtures, f"{name}.tsv")), actual) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
