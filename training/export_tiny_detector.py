"""Export random-weight open-vocabulary detectors (RPN + region encoder + CLIP text tower) to ONNX with
manifests, as test fixtures and benchmark models (offline tooling: Debian's python3-torch 1.13 /
torchvision 0.14; never imported at run time).

    # the committed fixtures (about 3 s each on 2 CPU cores):
    /usr/bin/python3 training/export_tiny_detector.py --preset tiny-features --seed 0  --out fixtures/models/tiny-detector-features
    /usr/bin/python3 training/export_tiny_detector.py --preset tiny-crop     --seed 13 --out fixtures/models/tiny-detector-crop
    # then the reference outputs (training/reference_detect.py). The seeds were picked (from 0-25) so that
    # every discrete decision of the reference run (top-k cut, thresholds, NMS IoUs, score order) is at least
    # ~5e-5 from flipping; ONNX Runtime and torch eager differ by <1e-5 on these graphs.
    # benchmark models, never committed (about 2-5 min each on 2 idle cores; 350-650 MB):
    /usr/bin/python3 training/export_tiny_detector.py --preset rn50-features --out /tmp/regionclip-bench/rn50-features
    /usr/bin/python3 training/export_tiny_detector.py --preset vitb32-crop   --out /tmp/regionclip-bench/vitb32-crop

Graphs (all float32 unless noted; H, W dynamic, padded to image.sizeDivisibility):
  rpn.onnx       images [1,3,H,W] (rpn.input normalization) -> objectness_<i> [1,A,H/s_i,W/s_i],
                 deltas_<i> [1,4A,H/s_i,W/s_i] for levels i = 0 (stride 8), 1 (stride 16); torchvision
                 RPNHead layout (channel a of objectness = anchor a of the cell, deltas channels 4a..4a+3
                 = dx, dy, dw, dh of anchor a).
  backbone.onnx  images [1,3,H,W] (regionEncoder.input normalization) -> res4 [1,C,H/16,W/16]   (features)
  head.onnx      roi_features [R,C,14,14] -> region_embeds [R,D]: conv (res5) + CLIP-style attention
                 pool + projection, as RegionCLIP's res5 + attnpool                              (features)
  vision_model.onnx  pixel_values [B,3,S,S] -> image_embeds [B,D]   (crop; export_tiny_clip.VisionTower)
  text_model.onnx    input_ids int64 [B,L] -> text_embeds [B,D]      (export_tiny_clip.TextTower; L free, <= 77)
Embeddings are not normalized in the graphs. The crop preset also writes background.bin (D float32 LE),
the optional background embedding of `scoring`.

Presets: tiny-* (every file < 1 MiB; a 4-conv stem for the RPN, a 4-conv backbone with res4 of 24
channels, embed dim 16, tiny tokenizer learned from export_tiny_clip.WORDS + the fixture shape words);
rn50-features (RPN = ResNet-50 trunk, res3/res4 levels + 1x1 to 256 + RPNHead; backbone = ResNet-50 to
res4, 1024 ch, stride 16; head = res5 (ResNet-50 layer4) + attention pool 2048 -> 1024, CLIP RN50 sized
text tower 512x12); vitb32-crop (same RPN; ViT-B/32 vision tower 224/32, width 768, 12 layers; text 512x12).

Random weights are seeded (--seed, default 0) and built in a fixed order by build_models(), which
training/reference_detect.py calls to rebuild the very same modules (it checks the ONNX hashes).
The RPN's objectness logits are rescaled (from a seeded random image, not the fixtures) to a std of
about 2.5 so that proposals differ in score, and its deltas to a std of about 0.25.
"""
import argparse
import json
import os
import sys

import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.models.detection.rpn import RPNHead

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_tiny_clip import WORDS, Attention, TextTower, VisionTower, learn_bpe, sha256  # noqa: E402,F401
from detector_common import SimpleTokenizer, fill_template, fixture_images, normalize_pixels, output_shape, padded_size, to_u8  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
SHAPE_WORDS = "square circle triangle rectangle ellipse shape red green blue yellow orange".split()

PRESETS = {
    "tiny-features": dict(mode="features", trunk="tiny", embed_dim=16, t_width=32, t_layers=1, t_heads=2, merges=220,
                          res4=24, res5=32, pool_heads=2, fixture=True),
    "tiny-crop": dict(mode="crop", trunk="tiny", embed_dim=16, t_width=32, t_layers=1, t_heads=2, merges=220,
                      image_size=32, patch=8, v_width=32, v_layers=1, v_heads=2, fixture=True),
    "rn50-features": dict(mode="features", trunk="resnet50", embed_dim=1024, t_width=512, t_layers=12, t_heads=8, merges=220,
                          fixture=False),
    "vitb32-crop": dict(mode="crop", trunk="resnet50", embed_dim=512, t_width=512, t_layers=12, t_heads=8, merges=220,
                        image_size=224, patch=32, v_width=768, v_layers=12, v_heads=12, fixture=False),
}

# Detector settings written to the manifest (and used by the reference).
TINY_SETTINGS = dict(
    image=dict(shortEdge=100, maxSize=200, sizeDivisibility=32),
    rpn_input=dict(channelOrder="BGR", pixelMean=[103.53, 116.28, 123.675], pixelStd=[57.375, 57.12, 58.395]),
    anchor_sizes=[[16], [32]], aspect_ratios=[[0.5, 1.0, 2.0], [0.5, 1.0, 2.0]],
    boxCoderWeights=[1.0, 1.0, 1.0, 1.0], preNmsTopK=300, postNmsTopK=40, nmsThreshold=0.7, minSize=1.0, scoreThreshold=0.05,
)
BENCH_SETTINGS = dict(
    image=dict(shortEdge=800, maxSize=1333, sizeDivisibility=32),
    rpn_input=dict(channelOrder="BGR", pixelMean=[103.53, 116.28, 123.675], pixelStd=[1.0, 1.0, 1.0]),
    anchor_sizes=[[32, 64], [128, 256]], aspect_ratios=[[0.5, 1.0, 2.0], [0.5, 1.0, 2.0]],
    boxCoderWeights=[1.0, 1.0, 1.0, 1.0], preNmsTopK=6000, postNmsTopK=1000, nmsThreshold=0.9, minSize=1e-3, scoreThreshold=0.0,
)
# RegionCLIP's features input: CLIP's mean/std in pixel units, RGB.
CLIP_PIXEL_NORM = dict(channelOrder="RGB", pixelMean=[m * 255 for m in CLIP_MEAN], pixelStd=[s * 255 for s in CLIP_STD])


def kaiming(module):
    """He-normal conv weights and zero biases, so activations keep their scale through the tiny stacks."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return module


class BiasedText(TextTower):
    """export_tiny_clip.TextTower plus an output bias (set by calibrate_embeddings)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.out_bias = nn.Parameter(torch.zeros(self.text_projection.shape[1]))

    def forward(self, input_ids):
        return super().forward(input_ids) + self.out_bias


class BiasedVision(VisionTower):
    """export_tiny_clip.VisionTower plus an output bias (set by calibrate_embeddings)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.out_bias = nn.Parameter(torch.zeros(self.proj.shape[1]))

    def forward(self, pixel_values):
        return super().forward(pixel_values) + self.out_bias


class TinyTrunk(nn.Module):
    """Four 3x3 stride-2 convs: features at strides 8 and 16."""

    def __init__(self, widths=(8, 16, 16, 16)):
        super().__init__()
        c = [3, *widths]
        self.convs = nn.ModuleList([nn.Conv2d(c[i], c[i + 1], 3, stride=2, padding=1) for i in range(4)])
        kaiming(self)

    def forward(self, x):
        feats = []
        for i, conv in enumerate(self.convs):
            x = torch.relu(conv(x))
            if i >= 2:
                feats.append(x)
        return feats  # stride 8, stride 16


class ResNetTrunk(nn.Module):
    """torchvision ResNet-50 up to res4; returns [res3 (stride 8, 512), res4 (stride 16, 1024)]."""

    def __init__(self):
        super().__init__()
        r = torchvision.models.resnet50(weights=None)
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1)
        self.layer2, self.layer3 = r.layer2, r.layer3

    def forward(self, x):
        c3 = self.layer2(self.stem(x))
        return [c3, self.layer3(c3)]


class RpnGraph(nn.Module):
    """images -> (objectness_0, deltas_0, objectness_1, deltas_1), torchvision RPNHead per level."""

    def __init__(self, trunk, num_anchors):
        super().__init__()
        if trunk == "tiny":
            self.trunk, channels = TinyTrunk(), 16
            self.lateral = nn.ModuleList([nn.Identity(), nn.Identity()])
        else:
            self.trunk, channels = ResNetTrunk(), 256
            self.lateral = nn.ModuleList([nn.Conv2d(512, 256, 1), nn.Conv2d(1024, 256, 1)])
        self.head = RPNHead(channels, num_anchors)
        nn.init.normal_(self.head.conv[0][0].weight, std=(2.0 / (9 * channels)) ** 0.5)

    def forward(self, images):
        feats = [lat(f) for lat, f in zip(self.lateral, self.trunk(images))]
        logits, deltas = self.head(feats)
        return logits[0], deltas[0], logits[1], deltas[1]


class TinyBackbone(nn.Module):
    """images -> res4 [1, C, H/16, W/16]."""

    def __init__(self, channels):
        super().__init__()
        c = [3, 8, 12, 16, channels]
        self.convs = nn.ModuleList([nn.Conv2d(c[i], c[i + 1], 3, stride=2, padding=1) for i in range(4)])
        kaiming(self)

    def forward(self, x):
        for conv in self.convs:
            x = torch.relu(conv(x))
        return x


class ResNetBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        r = torchvision.models.resnet50(weights=None)
        self.body = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3)

    def forward(self, x):
        return self.body(x)


class AttentionPool2d(nn.Module):
    """CLIP's AttentionPool2d: mean token + positional embedding, one query (the mean), projection."""

    def __init__(self, spatial, width, heads, out_dim):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(spatial * spatial + 1, width) * 0.1 / width ** 0.5)
        self.q, self.k, self.v = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.c_proj = nn.Linear(width, out_dim)
        self.heads = heads

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        x = x.flatten(2).transpose(1, 2)  # N, HW, C
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1) + self.pos
        hd = c // self.heads
        q = self.q(x[:, :1]).reshape(n, 1, self.heads, hd).transpose(1, 2)
        k = self.k(x).reshape(n, -1, self.heads, hd).transpose(1, 2)
        v = self.v(x).reshape(n, -1, self.heads, hd).transpose(1, 2)
        att = ((q @ k.transpose(-2, -1)) * hd ** -0.5).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(n, c)
        return self.c_proj(y)


class TinyHead(nn.Module):
    """roi_features [R, C, 14, 14] -> conv stride 2 (a tiny res5) -> [R, C5, 7, 7] -> attention pool -> [R, D]."""

    def __init__(self, in_ch, width, heads, out_dim):
        super().__init__()
        self.res5 = kaiming(nn.Conv2d(in_ch, width, 3, stride=2, padding=1))
        self.pool = AttentionPool2d(7, width, heads, out_dim)

    def forward(self, roi_features):
        return self.pool(torch.relu(self.res5(roi_features)))


class ResNetHead(nn.Module):
    """RegionCLIP RN50: res5 (ResNet-50 layer4, stride 2: 14x14 -> 7x7, 2048 ch) + attention pool -> 1024."""

    def __init__(self, out_dim):
        super().__init__()
        self.res5 = torchvision.models.resnet50(weights=None).layer4
        self.pool = AttentionPool2d(7, 2048, 32, out_dim)

    def forward(self, roi_features):
        return self.pool(self.res5(roi_features))


def settings_for(preset):
    return TINY_SETTINGS if PRESETS[preset]["fixture"] else BENCH_SETTINGS


def build_models(preset, seed, calibrate=True):
    """The preset's modules (eval mode), built in a fixed order from one seed. Returns a dict.
    calibrate=False skips calibrate_embeddings (output biases only; bench/detect_torch.py: speed does not
    depend on weight values, and Debian's torch has no optimized BLAS, so calibrating the big towers is slow)."""
    p = PRESETS[preset]
    s = settings_for(preset)
    torch.manual_seed(seed)
    vocab, merges = learn_bpe(WORDS + SHAPE_WORDS, p["merges"])
    models = {"vocab": vocab, "merges": merges}
    models["text"] = BiasedText(len(vocab), p["t_width"], p["t_layers"], p["t_heads"], p["embed_dim"]).eval()
    num_anchors = len(s["anchor_sizes"][0]) * len(s["aspect_ratios"][0])
    rpn = RpnGraph(p["trunk"], num_anchors).eval()
    calibrate_rpn(rpn, s, seed)
    models["rpn"] = rpn
    if p["mode"] == "features":
        if p["trunk"] == "tiny":
            models["backbone"] = TinyBackbone(p["res4"]).eval()
            models["head"] = TinyHead(p["res4"], p["res5"], p["pool_heads"], p["embed_dim"]).eval()
        else:
            models["backbone"] = ResNetBackbone().eval()
            models["head"] = ResNetHead(p["embed_dim"]).eval()
    else:
        models["vision"] = BiasedVision(p["image_size"], p["patch"], p["v_width"], p["v_layers"], p["v_heads"], p["embed_dim"]).eval()
        gen = torch.Generator().manual_seed(seed + 7)
        models["background"] = torch.randn(p["embed_dim"], generator=gen)
    if calibrate:
        calibrate_embeddings(models, preset, seed)
    return models


OBJ_STD, OBJ_MEAN = 1.2, -0.5
GAMMA = 4.0  # shared-direction size relative to the spread of the embeddings (see calibrate_embeddings)


@torch.no_grad()
def calibrate_embeddings(models, preset, seed):
    """Random towers map everything to nearly one direction (cosines ~0.999), which makes a useless test of
    the scoring. Re-centre each tower's outputs with its output bias: y' = y - mean + GAMMA * rms * u, where
    mean / rms are measured on calibration inputs (prompts from export_tiny_clip.WORDS; random boxes of the
    generated shapes image) and u is one seeded unit vector shared by all towers (and the background
    embedding), so that cosines spread over a few hundredths: softmax(cos / 0.01) then gives confident and
    unsure regions alike."""
    p, s = PRESETS[preset], settings_for(preset)
    D = p["embed_dim"]
    gen = torch.Generator().manual_seed(seed + 5)
    u = torch.randn(D, generator=gen)
    u = u / u.norm()

    def recentre(bias, outputs):
        mean = outputs.mean(dim=0)
        rms = (outputs - mean).norm(dim=1).pow(2).mean().sqrt()
        bias.add_(-mean + GAMMA * rms * u)
        return float(rms)

    tok = SimpleTokenizer(encoder=models["vocab"], merges=models["merges"])
    from regionclip_train.data import load_templates  # here, not at the top: regionclip_train imports this module

    prompts = [fill_template(load_templates().single[0], w) for w in WORDS + SHAPE_WORDS]
    recentre(models["text"].out_bias, models["text"](tok(prompts)))

    pil = fixture_images()["shapes"]
    w, h = pil.size
    boxes = []
    for _ in range(64):
        x1, y1 = float(torch.rand((), generator=gen)) * w * 0.8, float(torch.rand((), generator=gen)) * h * 0.8
        bw, bh = 4 + float(torch.rand((), generator=gen)) * w * 0.4, 4 + float(torch.rand((), generator=gen)) * h * 0.4
        boxes.append([0.0, x1, y1, min(w, x1 + bw), min(h, y1 + bh)])
    boxes = torch.tensor(boxes)
    if p["mode"] == "features":
        newh, neww = output_shape(h, w, s["image"]["shortEdge"], s["image"]["maxSize"])
        res = to_u8(pil.resize((neww, newh), Image.BILINEAR))
        x = normalize_pixels(res, CLIP_PIXEL_NORM, padded_size(newh, neww, s["image"]["sizeDivisibility"]))
        rois = boxes * torch.tensor([1, neww / w, newh / h, neww / w, newh / h])
        feats = torchvision.ops.roi_align(models["backbone"](x), rois, (14, 14), 1 / 16, 0, True)
        recentre(models["head"].pool.c_proj.bias, models["head"](feats))
    else:
        img = to_u8(pil).permute(2, 0, 1).float() / 255
        img = (img - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None]
        S = p["image_size"]
        crops = torchvision.ops.roi_align(img[None], boxes, (S, S), 1.0, 2, True)
        rms = recentre(models["vision"].out_bias, models["vision"](crops))
        bg = models["background"]
        models["background"] = bg / bg.norm() * rms + GAMMA * rms * u


@torch.no_grad()
def calibrate_rpn(rpn, s, seed):
    """Rescale cls_logits / bbox_pred so that, on the generated shapes image (tiny presets) or a seeded random
    image (benchmark presets), objectness logits have std 1.2 around -0.5 (spread, yet unsaturated sigmoids:
    float32 sigmoid near 1 would tie scores) and deltas a std of 0.25."""
    if s is TINY_SETTINGS:
        pil = fixture_images()["shapes"]
        newh, neww = output_shape(pil.height, pil.width, s["image"]["shortEdge"], s["image"]["maxSize"])
        img = normalize_pixels(to_u8(pil.resize((neww, newh), Image.BILINEAR)), s["rpn_input"],
                               padded_size(newh, neww, s["image"]["sizeDivisibility"]))
    else:
        img = torch.randn(1, 3, 320, 320, generator=torch.Generator().manual_seed(seed + 99)) * 50
    rpn.head.cls_logits.bias.zero_()
    rpn.head.bbox_pred.bias.zero_()
    o0, d0, o1, d1 = rpn(img)
    obj = torch.cat([o0.flatten(), o1.flatten()])
    dl = torch.cat([d0.flatten(), d1.flatten()])
    rpn.head.cls_logits.weight.mul_(OBJ_STD / float(obj.std()))
    rpn.head.cls_logits.bias.fill_(OBJ_MEAN - float(obj.mean()) * OBJ_STD / float(obj.std()))
    rpn.head.bbox_pred.weight.mul_(0.25 / float(dl.std()))


def spec(name, dtype, dims):
    return {"name": name, "dtype": dtype, "dims": dims}


# One function per graph, each writing <out>/<file> and returning its manifest entry (also used by
# training/train_world.py). RPN outputs are in graph order: objectness_0, deltas_0, objectness_1, deltas_1.
DETECTOR_IMAGE = torch.zeros(1, 3, 64, 96)  # trace input of the image graphs (height and width are dynamic)


def export_text(text, ids, out, D):
    """A causal text tower pooled at EOT (or mean-pooled up to it), with a free sequence axis: the runtime feeds each
    batch cut after its last EOT (manifest tokenizer.padding "longest")."""
    with torch.no_grad():
        torch.onnx.export(text, (ids,), os.path.join(out, "text_model.onnx"), input_names=["input_ids"],
                          output_names=["text_embeds"], dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "text_embeds": {0: "batch"}},
                          opset_version=14)
    return {"file": "text_model.onnx", "inputs": [spec("input_ids", "int64", ["batch", "sequence"])],
            "outputs": [spec("text_embeds", "float32", ["batch", D])]}


def export_vision(vision, out, S, D):
    with torch.no_grad():
        torch.onnx.export(vision, (torch.zeros(2, 3, S, S),), os.path.join(out, "vision_model.onnx"),
                          input_names=["pixel_values"], output_names=["image_embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, opset_version=14)
    return {"file": "vision_model.onnx", "inputs": [spec("pixel_values", "float32", ["batch", 3, S, S])],
            "outputs": [spec("image_embeds", "float32", ["batch", D])]}


def export_rpn(rpn, out, A):
    outs, dyn, specs = [], {"images": {2: "height", 3: "width"}}, []
    for i, stride in enumerate((8, 16)):
        for name, channels in ((f"objectness_{i}", A), (f"deltas_{i}", 4 * A)):
            outs.append(name)
            dyn[name] = {2: f"height_{stride}", 3: f"width_{stride}"}
            specs.append(spec(name, "float32", [1, channels, f"height_{stride}", f"width_{stride}"]))
    with torch.no_grad():
        torch.onnx.export(rpn, (DETECTOR_IMAGE,), os.path.join(out, "rpn.onnx"), input_names=["images"], output_names=outs,
                          dynamic_axes=dyn, opset_version=14)
    return {"file": "rpn.onnx", "inputs": [spec("images", "float32", [1, 3, "height", "width"])], "outputs": specs}


def export_features(backbone, head, out, C, D, box_deltas=False):
    """The features-mode pair: backbone (images -> res4, stride 16) and head (14x14 RoI features -> embeddings,
    and with box_deltas a second output, box_deltas [R, 4]: the head returns both)."""
    heads = [("region_embeds", D)] + ([("box_deltas", 4)] if box_deltas else [])
    with torch.no_grad():
        torch.onnx.export(backbone, (DETECTOR_IMAGE,), os.path.join(out, "backbone.onnx"), input_names=["images"],
                          output_names=["res4"], dynamic_axes={"images": {2: "height", 3: "width"}, "res4": {2: "height_16", 3: "width_16"}},
                          opset_version=14)
        torch.onnx.export(head, (torch.zeros(2, C, 14, 14),), os.path.join(out, "head.onnx"), input_names=["roi_features"],
                          output_names=[n for n, _ in heads],
                          dynamic_axes={"roi_features": {0: "regions"}, **{n: {0: "regions"} for n, _ in heads}},
                          opset_version=14)
    return {
        "backbone": {"file": "backbone.onnx", "inputs": [spec("images", "float32", [1, 3, "height", "width"])],
                     "outputs": [spec("res4", "float32", [1, C, "height_16", "width_16"])]},
        "head": {"file": "head.onnx", "inputs": [spec("roi_features", "float32", ["regions", C, 14, 14])],
                 "outputs": [spec(n, "float32", ["regions", d]) for n, d in heads]},
    }


def export_graphs(models, preset, out):
    """Writes the ONNX graphs (and tokenizer / background files) into `out`; returns the graph specs."""
    p = PRESETS[preset]
    D = p["embed_dim"]
    A = len(settings_for(preset)["anchor_sizes"][0]) * len(settings_for(preset)["aspect_ratios"][0])
    vocab = models["vocab"]
    ids = torch.zeros(2, 77, dtype=torch.int64)
    ids[:, 0] = vocab["<|startoftext|>"]
    ids[:, 1] = vocab["<|endoftext|>"]
    graphs = {"text": export_text(models["text"], ids, out, D), "rpn": export_rpn(models["rpn"], out, A)}
    if p["mode"] == "features":
        graphs.update(export_features(models["backbone"], models["head"], out, p.get("res4", 1024), D))
    else:
        graphs["vision"] = export_vision(models["vision"], out, p["image_size"], D)
    return graphs


def build_manifest(preset, seed, graphs, out):
    p = PRESETS[preset]
    s = settings_for(preset)
    levels = [{"objectness": f"objectness_{i}", "deltas": f"deltas_{i}", "anchorSizes": s["anchor_sizes"][i],
               "aspectRatios": s["aspect_ratios"][i]} for i in range(2)]
    manifest = {
        "name": f"{preset}-detector-random",
        "kind": "detector",
        "description": f"Random-weight detector ({preset}, region encoder mode {p['mode']}) with real I/O signatures; "
                       f"made by training/export_tiny_detector.py --preset {preset} --seed {seed}",
        "license": "MIT",
        "source": "training/export_tiny_detector.py",
        "embedDim": p["embed_dim"],
        "logitScale": 100.0,
        "tokenizer": {"vocab": "vocab.json", "merges": "merges.txt", "contextLength": 77, "padding": "longest"},
        "preprocess": {"size": p.get("image_size", 224), "mean": CLIP_MEAN, "std": CLIP_STD, "channelOrder": "RGB",
                       "interpolation": "bicubic", "crop": "center"},
        "image": dict(s["image"]),
        "rpn": {"input": dict(s["rpn_input"]), "levels": levels, "boxCoderWeights": s["boxCoderWeights"],
                "preNmsTopK": s["preNmsTopK"], "postNmsTopK": s["postNmsTopK"], "nmsThreshold": s["nmsThreshold"],
                "minSize": s["minSize"], "scoreThreshold": s["scoreThreshold"]},
    }
    if p["mode"] == "features":
        manifest["regionEncoder"] = {"mode": "features", "input": dict(CLIP_PIXEL_NORM), "featureOutput": "res4",
                                     "spatialScale": 1 / 16, "outputSize": [14, 14], "samplingRatio": 0, "aligned": True}
        manifest["scoring"] = {"temperature": 0.01}
    else:
        manifest["regionEncoder"] = {"mode": "crop", "contextScale": 1.2, "samplingRatio": 2 if p["fixture"] else 0}
        manifest["scoring"] = {"temperature": 0.01, "backgroundEmbed": "background.bin"}
    manifest["graphs"] = graphs
    files = [g["file"] for g in graphs.values()] + ["vocab.json", "merges.txt"]
    if p["mode"] == "crop":
        files.append("background.bin")
    manifest["files"] = {f: {"sha256": sha256(os.path.join(out, f))} for f in files}
    return manifest


def write_tokenizer(models, out):
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(models["vocab"], f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in models["merges"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--preset", default="tiny-features", choices=PRESETS)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    models = build_models(args.preset, args.seed)
    write_tokenizer(models, args.out)
    if "background" in models:
        with open(os.path.join(args.out, "background.bin"), "wb") as f:
            f.write(models["background"].to(torch.float32).numpy().astype("<f4").tobytes())
    graphs = export_graphs(models, args.preset, args.out)
    manifest = build_manifest(args.preset, args.seed, graphs, args.out)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    for name in manifest["files"]:
        size = os.path.getsize(os.path.join(args.out, name))
        print(f"{name:20s} {size:>12,d} bytes")


if __name__ == "__main__":
    main()
