"""Random checkpoints with exactly the structure of the real ones, for tests and benchmarks.

  openai-jit             a TorchScript archive like OpenAI's `RN50.pt`: Clip's state dict, conv / linear /
                         attention / text_projection / proj weights in fp16 (as CLIP's convert_weights leaves
                         them), plus `input_resolution`, `context_length`, `vocab_size`; read back with
                         torch.jit.load (the traced forward only returns the logit scale: CPU torch has no fp16
                         convolutions, and the converters read the state dict, as build_model does).
  regionclip-pretrained  detectron2 {"model": sd, "iteration": 0}, fp32: `backbone.*` (ModifiedResNet, FrozenBN),
                         `lang_encoder.*`, `teacher_backbone.*`, `offline_backbone.*` + `offline_proposal_generator.*`
                         (R50-FPN RPN like rpn_lvis_866: 5 levels x 3 anchors).
  regionclip-finetuned   `backbone.*`, an R50-C4 offline RPN (15 anchors), `roi_heads.box_predictor.{cls_score,
                         test_cls_score, cls_bg_score (zeros), bbox_pred}`; no `lang_encoder` (RegionCLIP builds it
                         only with GET_CONCEPT_EMB).
  rpn-fpn, rpn-c4        a standalone GeneralizedRCNN checkpoint like RegionCLIP's rpn_lvis_866.pth (R50-FPN) /
                         rpn_coco_48.pth (R50-C4): {"model": sd} with `backbone.*`, `proposal_generator.rpn_head.*` and
                         a few `roi_heads.*` keys of the Mask R-CNN it was trained in (the converters ignore them).

Normalization layers get random gammas / betas and running statistics set from a seeded random image's own
activations (so each layer's output is ~unit scale), unlike OpenAI's init, which zeroes every bn3 weight and
would make the residual branches invisible to parity tests. The RPN head is scaled so that its logits and deltas
spread like a trained one's (RPN_LOGIT_STD, RPN_DELTA_STD).
"""
import torch
from torch import nn
import torch.nn.functional as F

from .clip_modules import ARCHS, Clip, TextTransformer, build_visual
from .d2_modules import R50_STAGES, TINY_STAGES, DetectronRpn
from .layers import FrozenBatchNorm2d, SelfAttention

NORMS = (nn.BatchNorm2d, FrozenBatchNorm2d)


@torch.no_grad()
def calibrate_norms(module, forward, x, gen):
    """One forward pass in which each norm layer first takes its input's per-channel mean (plus noise) and
    variance (times 0.5..2) as running statistics, then random gamma (0.5..1.5) and beta (N(0, 0.1))."""
    def pre_hook(layer, inputs):
        t = inputs[0]
        mean, var = t.mean(dim=(0, 2, 3)), t.var(dim=(0, 2, 3)) + 1e-3
        n = mean.shape[0]
        layer.running_mean.copy_(mean + 0.1 * var.sqrt() * torch.randn(n, generator=gen))
        layer.running_var.copy_(var * (0.5 + 1.5 * torch.rand(n, generator=gen)))
        layer.weight.copy_(0.5 + torch.rand(n, generator=gen))
        layer.bias.copy_(0.1 * torch.randn(n, generator=gen))
    hooks = [m.register_forward_pre_hook(pre_hook) for m in module.modules() if isinstance(m, NORMS)]
    module.eval()
    forward(x)
    for h in hooks:
        h.remove()


def random_visual(config, frozen_bn, gen):
    visual = build_visual(config, frozen_bn=frozen_bn)
    if config["kind"] == "resnet":
        S = config["input_resolution"]
        calibrate_norms(visual, visual, torch.randn(2, 3, S, S, generator=gen), gen)
    return visual.eval()


def half_like_openai(model):
    """fp16 for what CLIP's convert_weights halves: conv / linear weights and biases, attention in_proj,
    text_projection and proj. Norms, embeddings and positional embeddings stay fp32."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.half()
        if isinstance(m, SelfAttention):
            m.in_proj_weight.data = m.in_proj_weight.data.half()
            m.in_proj_bias.data = m.in_proj_bias.data.half()
        for name in ("text_projection", "proj"):
            p = getattr(m, name, None)
            if isinstance(p, nn.Parameter):
                p.data = p.data.half()
    return model


class _JitArchive(nn.Module):
    def __init__(self, clip, visual_config, text_config):
        super().__init__()
        self.clip = clip
        clip.register_buffer("input_resolution", torch.tensor(visual_config["input_resolution"]))
        clip.register_buffer("context_length", torch.tensor(text_config["context_length"]))
        clip.register_buffer("vocab_size", torch.tensor(text_config["vocab_size"]))

    def forward(self, x):
        return self.clip.logit_scale.exp() * x


def openai_jit(arch, gen, out):
    visual_config, text_config = ARCHS[arch]
    clip = Clip(random_visual(visual_config, False, gen), text_config).eval()
    wrapper = _JitArchive(half_like_openai(clip), visual_config, text_config)
    traced = torch.jit.trace_module(wrapper, {"forward": (torch.ones(1),)})
    torch.jit.save(traced.clip, out)


def fpn_rpn(stages, gen, anchors=3):
    rpn = DetectronRpn("fpn", stages[0][2] if stages is TINY_STAGES else 64, stages, anchors, 32 if stages is TINY_STAGES else 256)
    return _calibrated_rpn(rpn, gen)


def c4_rpn(stages, gen, anchors=15):
    rpn = DetectronRpn("c4", stages[0][2] if stages is TINY_STAGES else 64, stages[:3], anchors)
    return _calibrated_rpn(rpn, gen)


def calibration_images(gen, h, w, scale=50.0):
    """Two images in detectron2's pixel units (mean-subtracted, std 1): white noise, and smooth noise (an (h/64) x
    (w/64) grid upsampled, plus a little noise) like a photograph's large flat areas. Statistics from white noise alone
    leave a deep random network unnormalized on smooth images: a full-size RPN's logits then reach the hundreds and
    its deltas the clamp (an 800-px image: logits std 12-30; with these two, 2-3.5 and deltas 0.2-0.3)."""
    smooth = F.interpolate(torch.randn(1, 3, h // 64, w // 64, generator=gen), size=(h, w), mode="bilinear", align_corners=False)
    return scale * torch.cat([torch.randn(1, 3, h, w, generator=gen), smooth + 0.1 * torch.randn(1, 3, h, w, generator=gen)])


# Spread of the RPN head's outputs on the calibration image. detectron2 initializes both 1x1 convs with std 0.01,
# which leaves every logit within ~1e-2 of the others: top-k and NMS would then order near-ties that float noise
# between runtimes flips. A trained RPN's logits span several units and its deltas tenths.
RPN_LOGIT_STD, RPN_DELTA_STD = 2.0, 0.2


@torch.no_grad()
def _calibrated_rpn(rpn, gen):
    head = rpn.proposal_generator.rpn_head
    for name in ("objectness_logits", "anchor_deltas"):
        nn.init.normal_(getattr(head, name).weight, std=0.01)
    image = calibration_images(gen, 256, 320)
    calibrate_norms(rpn, rpn, image, gen)
    outputs = rpn(image)
    for conv, level_outputs, target in ((head.objectness_logits, outputs[0::2], RPN_LOGIT_STD), (head.anchor_deltas, outputs[1::2], RPN_DELTA_STD)):
        std = torch.cat([o.flatten() for o in level_outputs]).std()
        conv.weight.mul_(target / float(std))
        conv.bias.mul_(target / float(std))
    return rpn.eval()


def prefixed(module, prefix):
    return {prefix + k: v.clone() for k, v in module.state_dict().items()}


def regionclip(kind, size, gen, out):
    arch = "RN50" if size == "full" else "tiny-RN"
    visual_config, text_config = ARCHS[arch]
    stages = R50_STAGES if size == "full" else TINY_STAGES
    sd = prefixed(random_visual(visual_config, True, gen), "backbone.")
    D = visual_config["output_dim"]
    if kind == "regionclip-pretrained":
        sd.update(prefixed(TextTransformer(**text_config), "lang_encoder."))
        sd.update(prefixed(random_visual(visual_config, True, gen), "teacher_backbone."))
        rpn = fpn_rpn(stages, gen)
    else:
        rpn = c4_rpn(stages, gen)
        K = 48 if size == "full" else 4
        sd["roi_heads.box_predictor.cls_score.weight"] = torch.randn(K, D, generator=gen)
        sd["roi_heads.box_predictor.test_cls_score.weight"] = torch.randn(K + 17, D, generator=gen)
        sd["roi_heads.box_predictor.cls_bg_score.weight"] = torch.zeros(1, D)
        sd["roi_heads.box_predictor.bbox_pred.weight"] = 0.02 * torch.randn(4, D, generator=gen)
        sd["roi_heads.box_predictor.bbox_pred.bias"] = 0.1 * torch.randn(4, generator=gen)
    sd.update(prefixed(rpn.backbone, "offline_backbone."))
    sd.update(prefixed(rpn.proposal_generator, "offline_proposal_generator."))
    torch.save({"model": sd, "iteration": 0}, out)


def detectron2_rpn(kind, size, gen, out):
    """rpn-fpn / rpn-c4: the RPN of a GeneralizedRCNN checkpoint without RegionCLIP's `offline_` prefix."""
    stages = R50_STAGES if size == "full" else TINY_STAGES
    rpn = fpn_rpn(stages, gen) if kind == "rpn-fpn" else c4_rpn(stages, gen)
    sd = prefixed(rpn.backbone, "backbone.")
    sd.update(prefixed(rpn.proposal_generator, "proposal_generator."))
    # The second stage of the detector the RPN was trained in: present in the real files, unused by RegionCLIP.
    width = 1024 if size == "full" else 16
    sd["roi_heads.box_predictor.cls_score.weight"] = torch.randn(81, width, generator=gen)
    sd["roi_heads.box_predictor.cls_score.bias"] = torch.zeros(81)
    sd["roi_heads.box_predictor.bbox_pred.weight"] = 0.01 * torch.randn(320, width, generator=gen)
    sd["roi_heads.box_predictor.bbox_pred.bias"] = torch.zeros(320)
    torch.save({"model": sd, "__author__": "Detectron2 Model Zoo"}, out)
