"""detectron2's region proposal networks re-implemented with detectron2's parameter names and shapes
(detectron2 modeling/backbone/resnet.py, fpn.py; modeling/proposal_generator/rpn.py), as RegionCLIP's
offline RPNs use them (rpn_lvis_866: R50-FPN, 5 levels x 3 anchors; rpn_coco_48: R50-C4, 15 anchors).

  ResNet      MSRA R-50: BasicStem (7x7/2 conv + FrozenBN + ReLU, max-pool 3/2 pad 1), BottleneckBlocks with
              the stride in the 1x1 conv1 (STRIDE_IN_1X1), FrozenBN, `shortcut` when channels change. Every conv
              is a Conv2d with a `.norm` child (keys `res2.0.conv1.weight`, `res2.0.conv1.norm.running_mean`).
  FPN         lateral 1x1 + output 3x3 convs with bias (`fpn_lateral{2..5}`, `fpn_output{2..5}`), nearest x2
              top-down sum, P6 = max_pool2d(P5, kernel 1, stride 2): levels p2..p6, strides 4..64.
  RpnHead     StandardRPNHead: shared 3x3 conv + ReLU, `objectness_logits` (A channels) and `anchor_deltas`
              (4A channels, anchor a's dx, dy, dw, dh at 4a..4a+3), one head for every level.
  DetectronRpn  `backbone` + `proposal_generator.rpn_head`: a GeneralizedRCNN's RPN state dict, which
              RegionCLIP stores under `offline_backbone.` / `offline_proposal_generator.`.
              forward(images) -> (objectness_0, deltas_0, objectness_1, ...), the graph layout of rpn.onnx.

Glossary: A anchors per location, L levels, C channels.
"""
import torch
from torch import nn
import torch.nn.functional as F

from .layers import FrozenBatchNorm2d

STAGES = ("res2", "res3", "res4", "res5")


class NormConv(nn.Conv2d):
    """detectron2's Conv2d with a FrozenBN `norm` child and no bias."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.norm = FrozenBatchNorm2d(cout)

    def forward(self, x):
        return self.norm(super().forward(x))


class BasicStem(nn.Module):
    def __init__(self, out_channels):
        super().__init__()
        self.conv1 = NormConv(3, out_channels, 7, stride=2, padding=3)

    def forward(self, x):
        return F.max_pool2d(torch.relu(self.conv1(x)), kernel_size=3, stride=2, padding=1)


class BottleneckBlock(nn.Module):
    def __init__(self, cin, cout, bottleneck, stride):
        super().__init__()
        self.shortcut = NormConv(cin, cout, 1, stride=stride) if cin != cout else None
        self.conv1 = NormConv(cin, bottleneck, 1, stride=stride)  # MSRA: stride in the 1x1
        self.conv2 = NormConv(bottleneck, bottleneck, 3, padding=1)
        self.conv3 = NormConv(bottleneck, cout, 1)

    def forward(self, x):
        out = self.conv3(torch.relu(self.conv2(torch.relu(self.conv1(x)))))
        return torch.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """stages: [(name, blocks, bottleneck, out_channels)] from res2 on; res2 has stride 1, the others 2."""

    def __init__(self, stem_channels, stages):
        super().__init__()
        self.stem = BasicStem(stem_channels)
        self.stage_names = [s[0] for s in stages]
        cin = stem_channels
        for name, blocks, bottleneck, cout in stages:
            first = BottleneckBlock(cin, cout, bottleneck, 1 if name == "res2" else 2)
            self.add_module(name, nn.Sequential(first, *[BottleneckBlock(cout, cout, bottleneck, 1) for _ in range(blocks - 1)]))
            cin = cout

    def forward(self, x):
        x = self.stem(x)
        out = {}
        for name in self.stage_names:
            x = getattr(self, name)(x)
            out[name] = x
        return out


class FPN(nn.Module):
    def __init__(self, bottom_up, in_channels, out_channels):
        super().__init__()
        self.bottom_up = bottom_up
        for stage, cin in zip((2, 3, 4, 5), in_channels):
            self.add_module(f"fpn_lateral{stage}", nn.Conv2d(cin, out_channels, 1))
            self.add_module(f"fpn_output{stage}", nn.Conv2d(out_channels, out_channels, 3, padding=1))

    def forward(self, x):
        feats = self.bottom_up(x)
        prev = self.fpn_lateral5(feats["res5"])
        results = [self.fpn_output5(prev)]
        for stage in (4, 3, 2):
            prev = getattr(self, f"fpn_lateral{stage}")(feats[f"res{stage}"]) + F.interpolate(prev, scale_factor=2.0, mode="nearest")
            results.insert(0, getattr(self, f"fpn_output{stage}")(prev))
        return results + [F.max_pool2d(results[-1], kernel_size=1, stride=2, padding=0)]  # p2..p5, P6


class RpnHead(nn.Module):
    def __init__(self, channels, num_anchors):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.objectness_logits = nn.Conv2d(channels, num_anchors, 1)
        self.anchor_deltas = nn.Conv2d(channels, num_anchors * 4, 1)

    def forward(self, x):
        t = torch.relu(self.conv(x))
        return self.objectness_logits(t), self.anchor_deltas(t)


class DetectronRpn(nn.Module):
    """style "fpn": ResNet res2..res5 under backbone.bottom_up + FPN; "c4": ResNet res2..res4 under backbone."""

    def __init__(self, style, stem_channels, stages, num_anchors, fpn_channels=256):
        super().__init__()
        self.style = style
        resnet = ResNet(stem_channels, stages)
        if style == "fpn":
            self.backbone = FPN(resnet, [s[3] for s in stages], fpn_channels)
            head_channels = fpn_channels
        else:
            self.backbone = resnet
            head_channels = stages[-1][3]
        self.proposal_generator = nn.Module()
        self.proposal_generator.rpn_head = RpnHead(head_channels, num_anchors)

    def forward(self, images):
        feats = self.backbone(images) if self.style == "fpn" else [self.backbone(images)["res4"]]
        outputs = []
        for f in feats:
            outputs.extend(self.proposal_generator.rpn_head(f))
        return tuple(outputs)

    @property
    def strides(self):
        return [4, 8, 16, 32, 64] if self.style == "fpn" else [16]


R50_STAGES = [("res2", 3, 64, 256), ("res3", 4, 128, 512), ("res4", 6, 256, 1024), ("res5", 3, 512, 2048)]
TINY_STAGES = [("res2", 1, 8, 16), ("res3", 1, 8, 32), ("res4", 1, 16, 48), ("res5", 1, 16, 64)]


def rpn_config(sd):
    """DetectronRpn arguments from an RPN state dict (keys `backbone.*`, `proposal_generator.*`)."""
    style = "fpn" if any(k.startswith("backbone.bottom_up.") for k in sd) else "c4"
    trunk = "backbone.bottom_up." if style == "fpn" else "backbone."
    stages = []
    for name in STAGES:
        blocks = {k[len(trunk + name) + 1:].split(".")[0] for k in sd if k.startswith(f"{trunk}{name}.")}
        if blocks:
            stages.append((name, len(blocks), sd[f"{trunk}{name}.0.conv1.weight"].shape[0], sd[f"{trunk}{name}.0.conv3.weight"].shape[0]))
    config = {"style": style, "stem_channels": sd[f"{trunk}stem.conv1.weight"].shape[0], "stages": stages,
              "num_anchors": sd["proposal_generator.rpn_head.objectness_logits.weight"].shape[0]}
    if style == "fpn":
        config["fpn_channels"] = sd["backbone.fpn_output2.weight"].shape[0]
    return config
