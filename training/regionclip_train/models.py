"""The built-in model's modules (RegionCLIP's structure, small). Sizes come from training/configs/models/<preset>.json.

  CLIP  image tower = a small ResNet: stem..res4 (stride 16) is the detector's `backbone`, res5 + a CLIP
        attention pool on 14x14 inputs is the `head`. For whole images the res4 map is resampled to 14x14
        exactly as RoIAlign(aligned, sampling ratio 0) does for the full-image box, so the `vision` graph
        (classify) and the region path (detect) are the same function. Text tower = a small causal
        transformer (export_tiny_clip.TextTower) mean-pooled over SOT..EOT; both towers end in a BatchNorm1d
        (a fixed affine map once exported), see Text.
  RPN   class-agnostic: its own small conv trunk (strides 8 and 16) + torchvision's RPNHead, trained with
        torchvision's AnchorGenerator / RegionProposalNetwork losses.

Glossary: B images, R regions, C4 / C5 res4 / res5 channels, D embedding dim, L token positions, A anchors per
location.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead

from export_tiny_clip import TextTower
from export_tiny_detector import AttentionPool2d

# anchor sizes in pixels and aspect ratios per RPN level (strides 8 and 16)
ANCHORS = dict(sizes=((12, 24, 40), (64, 112, 192)), ratios=((0.5, 1.0, 2.0), (0.5, 1.0, 2.0)))
ANCHORS_PER_LOCATION = len(ANCHORS["sizes"][0]) * len(ANCHORS["ratios"][0])


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class Backbone(nn.Module):
    """stem (stride 4) -> res2 -> res3 (8) -> res4 (16): the detector's `backbone` graph."""

    def __init__(self, p):
        super().__init__()
        w = p["widths"]
        self.stem = nn.Sequential(nn.Conv2d(3, w[0], 3, 2, 1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU(),
                                  nn.Conv2d(w[0], w[1], 3, 1, 1, bias=False), nn.BatchNorm2d(w[1]), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        self.res2 = BasicBlock(w[1], w[1], 1)
        self.res3 = BasicBlock(w[1], w[2], 2)
        self.res4 = nn.Sequential(BasicBlock(w[2], w[3], 2), *[BasicBlock(w[3], w[3], 1) for _ in range(p["res4_blocks"] - 1)])

    def forward(self, x):
        return self.res4(self.res3(self.res2(self.stem(x))))


class Head(nn.Module):
    """roi_features [R, C4, 14, 14] -> res5 (stride 2) [R, C5, 7, 7] -> attention pool -> [R, D]."""

    def __init__(self, p):
        super().__init__()
        w = p["widths"]
        self.res5 = nn.Sequential(BasicBlock(w[3], w[4], 2), *[BasicBlock(w[4], w[4], 1) for _ in range(p["res5_blocks"] - 1)])
        self.pool = AttentionPool2d(7, w[4], p["pool_heads"], p["embed_dim"])
        for lin in (self.pool.q, self.pool.k, self.pool.v, self.pool.c_proj):
            nn.init.zeros_(lin.bias)
        self.out_norm = nn.BatchNorm1d(p["embed_dim"])  # see Text

    def forward(self, roi_features):
        return self.out_norm(self.pool(self.res5(roi_features)))


def full_image_rois(res4):
    """res4 [B, C4, h, w] -> [B, C4, 14, 14]: == roi_align(res4, full box, 14x14, aligned=True, sampling_ratio=0)
    when the map is at most 14 wide (bilinear, half-pixel centres)."""
    return F.interpolate(res4, size=(14, 14), mode="bilinear", align_corners=False)


class Vision(nn.Module):
    """pixel_values [B, 3, S, S] -> image_embeds: backbone, the full-image box RoIAligned to 14x14, head."""

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, pixel_values):
        return self.head(full_image_rois(self.backbone(pixel_values)))


class Text(TextTower):
    """export_tiny_clip.TextTower, pooled by the mean of the tokens up to EOT (SOT..EOT, causal) instead of the
    EOT token alone (a tiny tower trained from scratch starts with every EOT output nearly alike, and the
    contrastive loss sits at chance), then a BatchNorm1d over the embedding (batch statistics in training,
    a fixed affine map in the exported graph) that removes the shared direction both towers start with."""

    def __init__(self, *args):
        super().__init__(*args)
        self.out_norm = nn.BatchNorm1d(self.text_projection.shape[1])

    def pooled(self, ids, L):
        x = self.token_embedding(ids) + self.positional_embedding[:L]
        for block in self.blocks:
            x = block(x, self.mask[:L, :L])
        x = self.ln_final(x)
        eot = ids.argmax(dim=-1)
        keep = (torch.arange(L, device=ids.device)[None, :] <= eot[:, None]).to(x.dtype)
        x = (x * keep[:, :, None]).sum(dim=1) / keep.sum(dim=1, keepdim=True)
        return self.out_norm(x @ self.text_projection)

    def forward(self, input_ids):
        return self.pooled(input_ids, input_ids.shape[1])

    def forward_trimmed(self, ids):
        """The same function on ids cut after the last EOT (causal mask: nothing before it changes)."""
        L = int(ids.argmax(dim=-1).max()) + 1
        return self.pooled(ids[:, :L], L)


def build_text(p, vocab_size):
    return Text(vocab_size, p["t_width"], p["t_layers"], p["t_heads"], p["embed_dim"])


class RpnTrunk(nn.Module):
    """images -> [stride 8, stride 16] features with rpn_channels each."""

    def __init__(self, p):
        super().__init__()
        w = p["rpn_widths"]
        c = [3, *w]
        layers = []
        for i in range(4):
            layers.append(nn.Sequential(nn.Conv2d(c[i], c[i + 1], 3, 2, 1, bias=False), nn.BatchNorm2d(c[i + 1]), nn.ReLU(),
                                        nn.Conv2d(c[i + 1], c[i + 1], 3, 1, 1, bias=False), nn.BatchNorm2d(c[i + 1]), nn.ReLU()))
        self.stages = nn.ModuleList(layers)
        ch = p["rpn_channels"]
        self.lat3, self.lat4 = nn.Conv2d(w[2], ch, 1), nn.Conv2d(w[3], ch, 1)

    def forward(self, x):
        for i in range(3):
            x = self.stages[i](x)
        c3 = x
        c4 = self.stages[3](c3)
        p4 = self.lat4(c4)
        p3 = self.lat3(c3) + F.interpolate(p4, size=c3.shape[-2:], mode="nearest")
        return [p3, p4]


class RpnGraph(nn.Module):
    """The exported `rpn` graph: images -> objectness_0, deltas_0 (stride 8), objectness_1, deltas_1 (stride 16)."""

    def __init__(self, trunk, head):
        super().__init__()
        self.trunk, self.head = trunk, head

    def forward(self, images):
        logits, deltas = self.head(self.trunk(images))
        return logits[0], deltas[0], logits[1], deltas[1]


class BoxHead(nn.Module):
    """(C)'s additions to the region head (RegionCLIP's FastRCNNOutputLayers with clip_cls_emb and
    CLS_AGNOSTIC_BBOX_REG): box_pred, a linear map of the head's output before L2 normalization to 4
    class-agnostic deltas (RegionCLIP's bbox_pred on the attention pool's output; normal(std 0.001) weights,
    zero bias), and the background embedding [D] (scored by its direction, like the runtime's
    scoring.backgroundEmbed)."""

    def __init__(self, D):
        super().__init__()
        self.box_pred = nn.Linear(D, 4)
        nn.init.normal_(self.box_pred.weight, std=0.001)
        nn.init.zeros_(self.box_pred.bias)
        # small (norm 0.01): only its direction is scored, and Adam's steps turn a short vector quickly
        self.background = nn.Parameter(torch.randn(D) * 0.01 / D ** 0.5)


class HeadWithDeltas(nn.Module):
    """The exported `head` graph of a (C) model: roi_features -> region_embeds [R, D], box_deltas [R, 4]."""

    def __init__(self, head, box_pred):
        super().__init__()
        self.head, self.box_pred = head, box_pred

    def forward(self, roi_features):
        embeds = self.head(roi_features)
        return embeds, self.box_pred(embeds)


def build(p):
    """The image tower: backbone and head, and the `vision` module that chains them for whole images."""
    backbone, head = Backbone(p), Head(p)
    return dict(backbone=backbone, head=head, vision=Vision(backbone, head))


def build_rpn(p):
    """(trunk, torchvision RegionProposalNetwork): IoU >= 0.7 positive, < 0.3 negative, 256 anchors per image
    half positive, 1000 pre-NMS and 500 (training) post-NMS proposals at NMS 0.7. The head is built (and
    initialized from the global RNG) before the trunk."""
    anchors = AnchorGenerator(ANCHORS["sizes"], ANCHORS["ratios"])
    head = RPNHead(p["rpn_channels"], ANCHORS_PER_LOCATION)
    trunk = RpnTrunk(p)
    rpn = RegionProposalNetwork(anchors, head, fg_iou_thresh=0.7, bg_iou_thresh=0.3, batch_size_per_image=256,
                                positive_fraction=0.5, pre_nms_top_n=dict(training=1000, testing=1000),
                                post_nms_top_n=dict(training=500, testing=1000), nms_thresh=0.7)
    return trunk, rpn
