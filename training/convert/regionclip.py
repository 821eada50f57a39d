"""Reading a RegionCLIP checkpoint's trees (real-weights.md §1): which prefix holds what, and the checks.

  backbone.* / teacher_backbone.*   CLIP ModifiedResNet with FrozenBN (the student, or OpenAI's visual)
  lang_encoder.*                    CLIP text transformer (pretrained files only; else --text-checkpoint)
  offline_backbone.* + offline_proposal_generator.*   detectron2 R50-FPN (rpn_lvis_866) or R50-C4 (rpn_coco_48)
  roi_heads.box_predictor.*         finetuned files: cls_score / test_cls_score (ignored: the vocabulary is the
                                    user's), cls_bg_score (must be zero: a constant background logit 0),
                                    bbox_pred (class-agnostic box regression, weights 10, 10, 5, 5)
A GeneralizedRCNN RPN file (rpn_lvis_866.pth, rpn_coco_48.pth) holds the same RPN under backbone.* and
proposal_generator.* (--rpn).
"""
import torch
from torch import nn

from .checkpoints import ConversionError, load_detectron2, load_openai, load_strict, subtree
from .cli import build_text_from
from .d2_modules import DetectronRpn, rpn_config

LSJ_KEY = "rpn_head.conv.conv0"


def rpn_tree(sd, prefix):
    """{backbone.*, proposal_generator.*} of the RPN under `prefix` ("offline_" or "")."""
    tree = {k[len(prefix):]: v for k, v in sd.items()
            if k.startswith(f"{prefix}backbone.") or k.startswith(f"{prefix}proposal_generator.")}
    if any(LSJ_KEY in k for k in tree):
        raise ConversionError(f"{prefix}proposal_generator.{LSJ_KEY}.*: this is the LSJ / SyncBN RPN variant (rpn_lvis_866_lsj: "
                              "SyncBN norms with num_batches_tracked, normalized FPN convs, a two-conv RPN head), which is not "
                              "supported; use rpn_lvis_866.pth (R50-FPN) or rpn_coco_48.pth (R50-C4)")
    return tree


def build_rpn(sd, prefix, label):
    tree = rpn_tree(sd, prefix)
    if not any(k.startswith("proposal_generator.rpn_head.") for k in tree):
        raise ConversionError(f"no {prefix}proposal_generator.rpn_head.* keys in {label}: it has no RPN. "
                              "Pass --rpn rpn_lvis_866.pth (or rpn_coco_48.pth)")
    try:
        config = rpn_config(tree)
    except KeyError as error:
        raise ConversionError(f"missing key {prefix}{error.args[0]} (needed to infer the RPN's architecture)") from None
    return load_strict(DetectronRpn(**config), tree, prefix)


TEXT_TOWER_TOLERANCE = 1e-3  # OpenAI's tower is stored in fp16; RegionCLIP froze a copy of it in fp32


def text_tower(sd, text_checkpoint):
    """lang_encoder.* of the checkpoint, else the text tower of --text-checkpoint (OpenAI .pt or RegionCLIP .pth).
    Given both, they must be the same tower (RegionCLIP freezes OpenAI's): a difference over fp16 rounding is refused."""
    if any(k.startswith("lang_encoder.") for k in sd):
        own = build_text_from(subtree(sd, "lang_encoder."), "lang_encoder.")
        if text_checkpoint is not None:
            diff = check_same_text(own, text_tower({}, text_checkpoint))
            if diff > TEXT_TOWER_TOLERANCE:
                raise ConversionError(f"the checkpoint's lang_encoder and --text-checkpoint's text tower differ (max |diff| {diff:.3g} > "
                                      f"{TEXT_TOWER_TOLERANCE}): drop --text-checkpoint, or convert from the file whose tower you want")
        return own
    if text_checkpoint is None:
        raise ConversionError("no lang_encoder.* keys (a finetuned checkpoint has no text tower): pass --text-checkpoint "
                              "RN50.pt or regionclip_pretrained-cc_rn50.pth (the tower is frozen, so they are the same)")
    if text_checkpoint.endswith(".pth"):
        return text_tower(load_detectron2(text_checkpoint), None)
    other = load_openai(text_checkpoint)
    return build_text_from({k: v for k, v in other.items() if not k.startswith("visual.") and k != "logit_scale"}, "")


def box_regressor(sd, D):
    """bbox_pred as a Linear(D, 4), or None; refuses a non-zero cls_bg_score (we score background as logit 0)."""
    bg = sd.get("roi_heads.box_predictor.cls_bg_score.weight")
    if bg is not None and bool(bg.abs().max() > 0):
        raise ConversionError("roi_heads.box_predictor.cls_bg_score.weight is not zero: RegionCLIP's background logit is "
                              "normalize(x)·w_bg without normalizing w_bg, which background.bin (normalized at run time) "
                              "cannot express; only the zero (frozen, never trained) background is supported")
    if "roi_heads.box_predictor.bbox_pred.weight" not in sd:
        return None
    pred = subtree(sd, "roi_heads.box_predictor.bbox_pred.")
    return load_strict(nn.Linear(D, 4), pred, "roi_heads.box_predictor.bbox_pred.")


def ignored_trees(sd, used):
    """Top-level trees the conversion does not read, for the summary line."""
    return sorted({k.split(".")[0] for k in sd} - set(used))


@torch.no_grad()
def check_same_text(a, b):
    """The largest difference between two text towers' weights (lang_encoder vs --text-checkpoint)."""
    sa, sb = a.state_dict(), b.state_dict()
    if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
        return float("inf")  # another architecture
    return max(float((sa[k].float() - sb[k].float()).abs().max()) for k in sa)
