"""Train regionclip's built-in model on the synthetic world and export it (offline tooling: Debian's
python3-torch 1.13 / torchvision 0.14 / Pillow; never imported at run time).

    # the world (training/world; see README "Synthetic world") and more single-object images, on 2 CPU cores:
    npx tsx training/world/generate.ts --out /tmp/wt/train --split train --images 3000 --size 256 \
        --singles 7000 --single-size 80 --seed 1 --concurrency 2 --quiet                        # 3.6 min
    npx tsx training/world/generate.ts --out /tmp/wt/singles2 --split train --images 0 \
        --singles 24000 --single-size 80 --seed 2 --concurrency 2 --quiet                       # 3.1 min
    # models/world-rn-small (README "Built-in model"; with Debian's libopenblas0-pthread installed):
    T="--world /tmp/wt/train --extra-singles /tmp/wt/singles2 --work /tmp/wt/run"
    /usr/bin/python3 training/train_world.py $T --stage clip-image --clip-steps 3000                # 51 min
    cp /tmp/wt/run/clip-image.pt /tmp/wt/run/clip-image-3000.pt
    /usr/bin/python3 training/train_world.py $T --stage clip-image --init /tmp/wt/run/clip-image-3000.pt \
        --clip-steps 4000 --region-from 0                                                          # 50 min
    cp /tmp/wt/run/clip-image.pt /tmp/wt/run/clip-image-7000.pt
    /usr/bin/python3 training/train_world.py $T --stage clip-image --init /tmp/wt/run/clip-image-7000.pt \
        --clip-steps 3500 --lr 5e-4 --region-from 0                                                # 39 min
    /usr/bin/python3 training/train_world.py $T --stage clip-text           # 800 steps, 11.6 min
    /usr/bin/python3 training/train_world.py $T --stage rpn --threads 1     # 800 steps, 20.4 min
    /usr/bin/python3 training/train_world.py $T --stage export --out models/world-rn-small  # 6 s
    # (--stage clip: the CLIP phases; --stage all: everything in turn). The other defaults are the built-in
    # model's settings; phase 1 took the three runs above (--init continues a checkpoint).

What it builds (RegionCLIP's structure, small):
  tokenizer  byte-level BPE in the Hugging Face CLIP layout (vocab.json + merges.txt; 512 byte symbols,
             the learned merges, then <|startoftext|> and <|endoftext|> last) learned from the world's
             captions, concept names and synonyms, and the prompt templates.
  CLIP       image tower = a small ResNet: stem..res4 (stride 16) is the detector's `backbone`, res5 + a
             CLIP attention pool on 14x14 inputs is the `head`. For whole images the res4 map is resampled
             to 14x14 exactly as RoIAlign(aligned, sampling ratio 0) does for the full-image box, so the
             `vision` graph (classify) and the region path (detect) are the same function.
             Text tower = a small causal transformer (export_tiny_clip.TextTower) mean-pooled over SOT..EOT;
             both towers end in a BatchNorm1d (a fixed affine map once exported), see Text.
             Trained in phases (train_clip, train_text): the image tower against learned per-concept
             embeddings (singles of base and novel concepts + RoIAlign regions of base boxes), then the text
             tower onto the frozen image tower's concept centroids; optionally the image tower back onto
             the frozen text embeddings (--align-steps).
  RPN        class-agnostic: its own small conv trunk (strides 8 and 16) + torchvision RPNHead, trained
             with torchvision's AnchorGenerator / RegionProposalNetwork losses on base boxes only.
Graphs: text_model.onnx, vision_model.onnx, backbone.onnx, head.onnx, rpn.onnx (the signatures of
training/export_tiny_detector.py). Seeds are fixed (--seed); torch.set_num_threads(--threads).
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter, OrderedDict

import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export_tiny_clip import TextTower, learn_bpe  # noqa: E402
from export_tiny_detector import AttentionPool2d, export_features, export_rpn, export_text, export_vision, sha256  # noqa: E402
from detector_common import SimpleTokenizer, fill_template  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
PIXEL_NORM = dict(channelOrder="RGB", pixelMean=[m * 255 for m in CLIP_MEAN], pixelStd=[s * 255 for s in CLIP_STD])

PRESETS = {
    # the built-in model
    "small": dict(widths=(24, 32, 64, 128, 128), res4_blocks=2, res5_blocks=1, pool_heads=4, embed_dim=128,
                  t_width=128, t_layers=3, t_heads=4, merges=1500, rpn_widths=(16, 32, 64, 96), rpn_channels=64),
    # the CI smoke test
    "tiny": dict(widths=(8, 8, 16, 24, 32), res4_blocks=1, res5_blocks=1, pool_heads=2, embed_dim=16,
                 t_width=32, t_layers=1, t_heads=2, merges=100, rpn_widths=(8, 8, 16, 16), rpn_channels=16),
}
CLIP_SIZE = 80  # classify input (world singles are generated at 80 px)
DETECT = dict(shortEdge=256, maxSize=512, sizeDivisibility=32)
ANCHORS = dict(sizes=((12, 24, 40), (64, 112, 192)), ratios=((0.5, 1.0, 2.0), (0.5, 1.0, 2.0)))
FALLBACK_TEMPLATES = ["a photo of a {}.", "a drawing of a {}.", "a photo of the {}.", "{}.", "a cartoon {}.", "art of a {}."]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def seed_all(seed):
    random.seed(seed)
    torch.manual_seed(seed)


def ensemble_templates():
    """The 81 templates from src/text/prompts.ts (what `detect` embeds phrases with), or a fallback."""
    try:
        with open(os.path.join(HERE, "..", "src", "text", "prompts.ts"), encoding="utf-8") as f:
            src = f.read()
        body = src[src.index("ENSEMBLE_TEMPLATES"):]
        body = body[:body.index("]);")]
        t = re.findall(r"'([^']*\{\}[^']*)'", body)
        return t if len(t) > 10 else FALLBACK_TEMPLATES
    except (OSError, ValueError):
        return FALLBACK_TEMPLATES


# ---------------------------------------------------------------- models
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


class Vision(nn.Module):
    """pixel_values [B, 3, S, S] -> image_embeds: backbone, the full-image box RoIAligned to 14x14, head."""

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, pixel_values):
        f = self.backbone(pixel_values)
        # == roi_align(f, full box, 14x14, aligned=True, sampling_ratio=0) when the map is at most 14 wide
        return self.head(F.interpolate(f, size=(14, 14), mode="bilinear", align_corners=False))


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
        keep = (torch.arange(L)[None, :] <= eot[:, None]).to(x.dtype)
        x = (x * keep[:, :, None]).sum(dim=1) / keep.sum(dim=1, keepdim=True)
        return self.out_norm(x @ self.text_projection)

    def forward(self, input_ids):
        return self.pooled(input_ids, input_ids.shape[1])

    def forward_trimmed(self, ids):
        """The same function on ids cut after the last EOT (causal mask: nothing before it changes)."""
        L = int(ids.argmax(dim=-1).max()) + 1
        return self.pooled(ids[:, :L], L)


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
    def __init__(self, trunk, head):
        super().__init__()
        self.trunk, self.head = trunk, head

    def forward(self, images):
        logits, deltas = self.head(self.trunk(images))
        return logits[0], deltas[0], logits[1], deltas[1]


def build(p):
    backbone, head = Backbone(p), Head(p)
    return dict(backbone=backbone, head=head, vision=Vision(backbone, head))


# ---------------------------------------------------------------- data
def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_u8(path, size=None):
    img = Image.open(path).convert("RGB")
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).reshape(img.height, img.width, 3).permute(2, 0, 1).clone()


def normalize(u8):
    """uint8 [B, 3, H, W] -> float (x - mean) / std with CLIP's mean/std (== PIXEL_NORM in pixel units)."""
    mean = torch.tensor(PIXEL_NORM["pixelMean"])[None, :, None, None]
    std = torch.tensor(PIXEL_NORM["pixelStd"])[None, :, None, None]
    return (u8.float() - mean) / std


class World:
    def __init__(self, root, limit_scenes=None, limit_singles=None, extra_singles=()):
        self.root = root
        # (folder, records) of each --extra-singles world
        self.extra_singles = [(r, read_jsonl(os.path.join(r, "singles.jsonl"))) for r in extra_singles]
        with open(os.path.join(root, "concepts.json"), encoding="utf-8") as f:
            c = json.load(f)
        self.concepts = {x["id"]: x for x in (c["concepts"] if isinstance(c, dict) else c)}
        self.captions = read_jsonl(os.path.join(root, "captions.jsonl"))[:limit_scenes]
        self.singles = read_jsonl(os.path.join(root, "singles.jsonl"))[:limit_singles]
        with open(os.path.join(root, "gt.json"), encoding="utf-8") as f:
            gt = json.load(f)
        self.cat_names = {c["id"]: c["name"] for c in gt["categories"]}
        with open(os.path.join(root, "world.json"), encoding="utf-8") as f:
            self.size = json.load(f)["args"]["size"]  # scene side in pixels (boxes are in these pixels)
        self.boxes = {}
        for a in gt["annotations"]:
            x, y, w, h = a["bbox"]
            if w >= 2 and h >= 2:
                self.boxes.setdefault(a["image_id"], []).append((x, y, x + w, y + h, a["category_id"]))

    def words(self, cid):
        c = self.concepts.get(cid)
        if c is None:
            return [self.cat_names[cid]]
        return [c["name"]] + [s for s in c.get("synonyms", []) if s]

    def load_scenes(self, size):
        t = time.time()
        imgs = torch.stack([load_u8(os.path.join(self.root, c["image"]), size) for c in self.captions])
        log(f"loaded {len(imgs)} scenes at {size}px in {time.time() - t:.0f}s")
        return imgs

    def load_singles(self):
        """uint8 [N, 3, 80, 80] and the concept id of each: this world's singles, then --extra-singles worlds'."""
        t = time.time()
        imgs = [load_u8(os.path.join(self.root, s["image"]), CLIP_SIZE) for s in self.singles]
        cids = [s["category_id"] for s in self.singles]
        for root, extra in self.extra_singles:
            imgs += [load_u8(os.path.join(root, s["image"]), CLIP_SIZE) for s in extra]
            cids += [s["category_id"] for s in extra]
        log(f"loaded {len(imgs)} singles in {time.time() - t:.0f}s")
        return torch.stack(imgs), cids


def tokenizer_words(world, templates):
    """Word list (with frequencies) the BPE is learned from: captions, concept names/synonyms, templates."""
    pat = SimpleTokenizer.PAT
    words = []
    for c in world.captions:
        words += pat.findall(c["caption"].lower())
    for cid in world.concepts:
        for w in world.words(cid):
            words += pat.findall(w.lower()) * 3
    for t in templates:
        words += pat.findall(t.replace("{}", "").lower()) * 5
    return words


# ---------------------------------------------------------------- CLIP training
def optimizer_step(opt, sched, loss, params, max_norm):
    """Backward, gradient-norm clip, step and schedule step: every training loop's update."""
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    opt.step()
    sched.step()


def progress(t0, step, steps):
    """"<elapsed>s eta <remaining>s" after step (0-based) of steps."""
    el = time.time() - t0
    return f"{el:.0f}s eta {el / (step + 1) * (steps - step - 1):.0f}s"


def cosine_schedule(opt, steps):
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, steps // 20)) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))


def augment_singles(u8, sizes, gen, rng):
    """uint8 [B, 3, S, S] -> normalized [B, 3, s, s] (s drawn from sizes): a random crop of 75-100% of the side
    at a random place, mirrored half the time, resampled bilinearly (one affine grid per image)."""
    B = len(u8)
    sc = 0.75 + 0.25 * torch.rand(B, generator=gen)
    tx = (torch.rand(B, generator=gen) * 2 - 1) * (1 - sc)
    ty = (torch.rand(B, generator=gen) * 2 - 1) * (1 - sc)
    flip = torch.where(torch.rand(B, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2] = sc * flip, sc, tx, ty
    size = rng.choice(sizes)
    grid = F.affine_grid(theta, (B, 3, size, size), align_corners=False)
    return F.grid_sample(normalize(u8), grid, mode="bilinear", padding_mode="border", align_corners=False)


def region_batch(args, world, scenes, scene_ids, boxed, gen):
    """RoIAlign inputs for --region-scenes random scenes with base boxes: (images, rois [R, 5], concept ids [R]).
    Boxes are jittered by up to 7.5% of their sides, as proposals are not exact."""
    pick = [boxed[int(j)] for j in torch.randint(0, len(boxed), (args.region_scenes,), generator=gen)]
    rois, rc = [], []
    S = args.scene_size / world.size
    for b, si in enumerate(pick):
        for (x1, y1, x2, y2, cid) in world.boxes[scene_ids[si]]:
            bw, bh = x2 - x1, y2 - y1
            j = [float(v) for v in (torch.rand(4, generator=gen) - 0.5) * 0.15]
            rois.append([b, (x1 + j[0] * bw) * S, (y1 + j[1] * bh) * S, (x2 + j[2] * bw) * S, (y2 + j[3] * bh) * S])
            rc.append(cid)
    return normalize(scenes[pick]), torch.tensor(rois, dtype=torch.float32).reshape(-1, 5), rc


def train_clip(args, p, world, tok, templates, phase="image"):
    """Phase 1, phase="image" (--clip-steps): the image tower against one learned embedding per concept (its
    "prototype"): InfoNCE of each single-object image (base and novel concepts) against every concept's
    prototype, plus RoIAlign regions of the scenes' base boxes (the detection path; novel concepts are never
    box-supervised) against the same prototypes, from --region-from of the steps on (joining at step 0 it
    held both losses at chance for 250 steps), in the same head batch as the singles. This is CLIP's loss
    with each caption reduced to its concept; it converges in minutes on 2 CPU cores where the joint
    image-text loss sat at chance for hundreds of steps.
    Phase 3, phase="align" (--align-steps): the same loss with the prototypes replaced by the trained text
    tower's embeddings of each concept's prompts (frozen; a bank of --align-variants prompts per concept, one
    drawn per step: "a photo of a {name}." and template/synonym variants), so image embeddings land where
    the text tower puts the names (LiT: locked text)."""
    seed_all(args.seed + (0 if phase == "image" else 3))
    m = build(p)
    vision, backbone, head = m["vision"], m["backbone"], m["head"]
    if phase == "image":
        concept_ids = sorted(world.concepts) if world.concepts else sorted(world.cat_names)
        prototypes = nn.Parameter(torch.randn(len(concept_ids), p["embed_dim"]) * 0.1)
        logit_scale = nn.Parameter(torch.tensor(math.log(args.init_scale)))
        done_before = 0
        if args.init:  # continue an earlier phase 1 (a fresh schedule over --clip-steps more steps)
            ck = torch.load(args.init)
            if ck["concept_ids"] != concept_ids:
                raise SystemExit(f"--init {args.init}: its concepts differ from this world's")
            backbone.load_state_dict(ck["backbone"])
            head.load_state_dict(ck["head"])
            with torch.no_grad():
                prototypes.copy_(ck["prototypes"])
                logit_scale.fill_(math.log(ck["logit_scale"]))
            done_before = ck["step"]
            log(f"phase 1 continues {args.init} (after {done_before} steps)")
        params = list(vision.parameters()) + [prototypes, logit_scale]
        lr, steps, region_from = args.lr, args.clip_steps, args.region_from
    else:
        ck = torch.load(os.path.join(args.work, "clip.pt"))
        backbone.load_state_dict(ck["backbone"])
        head.load_state_dict(ck["head"])
        text = Text(len(tok.encoder), p["t_width"], p["t_layers"], p["t_heads"], p["embed_dim"])
        text.load_state_dict(ck["text"])
        text.eval()
        concept_ids = ck["concept_ids"]
        brng = random.Random(args.seed + 4)
        V = args.align_variants
        prompts = [fill_template("a photo of a {}.", world.words(c)[0]) for c in concept_ids]
        for _ in range(V - 1):
            prompts += text_prompts(world, concept_ids, templates, brng, args)
        with torch.no_grad():
            bank = torch.cat([F.normalize(text.forward_trimmed(tok(prompts[i:i + 512])), dim=-1) for i in range(0, len(prompts), 512)])
        bank = bank.reshape(V, len(concept_ids), -1)  # [variant, concept, D]
        logit_scale = nn.Parameter(torch.tensor(math.log(ck["logit_scale"])))
        params = list(vision.parameters()) + [logit_scale]
        lr, steps, region_from = args.align_lr, args.align_steps, 0.0
        log(f"align: text bank of {V} prompts x {len(concept_ids)} concepts")
    index = {c: i for i, c in enumerate(concept_ids)}
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    sched = cosine_schedule(opt, steps)
    singles, single_cids = world.load_singles()
    single_labels = torch.tensor([index[c] for c in single_cids])
    scenes = world.load_scenes(args.scene_size) if args.region_scenes > 0 else None
    scene_ids = [c["id"] for c in world.captions]
    boxed = [i for i, sid in enumerate(scene_ids) if sid in world.boxes]
    rng = random.Random(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    vision.train()
    for step in range(steps):
        idx = torch.randint(0, len(singles), (args.clip_batch,), generator=gen)
        scale = logit_scale.exp().clamp(max=100)
        if phase == "image":
            protos = F.normalize(prototypes, dim=-1)
        else:
            protos = bank[torch.randint(0, V, (len(concept_ids),), generator=gen), torch.arange(len(concept_ids))]
        # one head batch for singles and regions: the head's BatchNorms see both kinds (regions alone are a
        # handful per step; their own batch statistics held the region loss at chance)
        roi_feats = [F.interpolate(backbone(augment_singles(singles[idx], args.single_sizes, gen, rng)), size=(14, 14),
                                   mode="bilinear", align_corners=False)]  # == Vision.forward's resampling
        region_labels = None
        if scenes is not None and boxed and step >= region_from * steps:
            xs, rois, rc = region_batch(args, world, scenes, scene_ids, boxed, gen)
            if len(rois):
                roi_feats.append(torchvision.ops.roi_align(backbone(xs), rois, (14, 14), 1 / 16, 0, True))
                region_labels = torch.tensor([index[c] for c in rc])
        embeds = F.normalize(head(torch.cat(roi_feats)), dim=-1)
        logits = scale * embeds[:len(idx)] @ protos.t()
        loss_s = F.cross_entropy(logits, single_labels[idx])
        loss = loss_s
        loss_r = torch.zeros(())
        if region_labels is not None:
            loss_r = F.cross_entropy(scale * embeds[len(idx):] @ protos.t(), region_labels)
            loss = loss + args.region_weight * loss_r
        optimizer_step(opt, sched, loss, params, 5.0)
        if step % args.log_every == 0 or step == steps - 1:
            acc = (logits.argmax(1) == single_labels[idx]).float().mean().item()
            log(f"clip step {step + 1}/{steps} loss {loss.item():.3f} (singles {loss_s.item():.3f} regions {loss_r.item():.3f}) "
                f"batch top-1 {acc:.2f} scale {scale.item():.1f} {progress(t0, step, steps)}")
        if (step + 1) % args.save_every == 0 or step == steps - 1:
            state = {"backbone": backbone.state_dict(), "head": head.state_dict(), "concept_ids": concept_ids,
                     "logit_scale": float(logit_scale.exp().clamp(max=100)), "step": step + 1}
            if phase == "image":
                torch.save({**state, "step": done_before + step + 1, "prototypes": prototypes.detach().clone()},
                           os.path.join(args.work, "clip-image.pt"))
            else:
                torch.save({**ck, **state, "steps": {**ck["steps"], "align": step + 1}}, os.path.join(args.work, "clip.pt"))
    log(f"clip ({phase}) done in {time.time() - t0:.0f}s" + (f" ({done_before + steps} phase-1 steps in all)" if phase == "image" else ""))


def text_prompts(world, cids, templates, rng, args):
    """One prompt per concept id: a template (--template-mix of the 81 ensemble ones, else "a photo of a {}.")
    filled with the concept's name or (--synonym-mix) one of its synonyms."""
    out = []
    for cid in cids:
        ws = world.words(cid)
        w = ws[0] if rng.random() >= args.synonym_mix or len(ws) == 1 else rng.choice(ws[1:])
        t = rng.choice(templates) if rng.random() < args.template_mix else "a photo of a {}."
        out.append(fill_template(t, w))
    return out


def train_text(args, p, world, tok, templates):
    """Phase 2 (--text-steps): the text tower learns where the frozen image tower puts each concept (LiT's
    recipe with the towers' roles swapped). Targets: each concept's centroid, the normalized mean eval-mode
    embedding of its training singles (--text-targets centroids; or phase 1's prototypes). Loss per batch of
    --text-batch concepts, one prompt each (names, synonyms, the 81 templates): InfoNCE of the prompts against
    every target, + --text-align x (1 - cosine to the own target) (InfoNCE alone stops once a prompt is
    nearest its own target, at cosine ~0.5: too far off for images to find it), + InfoNCE of --text-images
    embedded singles per concept against the batch's prompts (the classification the model is used for)."""
    seed_all(args.seed + 2)
    ck = torch.load(os.path.join(args.work, "clip-image.pt"))
    concept_ids, scale = ck["concept_ids"], ck["logit_scale"]
    index = {c: i for i, c in enumerate(concept_ids)}
    targets = F.normalize(ck["prototypes"], dim=-1)
    m = build(p)
    m["backbone"].load_state_dict(ck["backbone"])
    m["head"].load_state_dict(ck["head"])
    m["vision"].eval()
    singles, single_cids = world.load_singles()
    t0 = time.time()
    with torch.no_grad():
        single_embeds = torch.cat([F.normalize(m["vision"](normalize(singles[i:i + 256])), dim=-1) for i in range(0, len(singles), 256)])
    single_labels = torch.tensor([index[c] for c in single_cids])
    by_concept = [[] for _ in concept_ids]
    for i, k in enumerate(single_labels.tolist()):
        by_concept[k].append(i)
    if args.text_targets == "centroids":
        for k, rows in enumerate(by_concept):
            if rows:
                targets[k] = F.normalize(single_embeds[rows].mean(dim=0), dim=-1)
    proto_top1 = ((single_embeds @ targets.t()).argmax(1) == single_labels).float().mean().item()
    log(f"embedded {len(singles)} training singles in {time.time() - t0:.0f}s; their top-1 against the {args.text_targets}: {proto_top1:.3f}")
    text = Text(len(tok.encoder), p["t_width"], p["t_layers"], p["t_heads"], p["embed_dim"])
    opt = torch.optim.AdamW(text.parameters(), lr=args.text_lr, weight_decay=0.05)
    steps = args.text_steps
    sched = cosine_schedule(opt, steps)
    rng = random.Random(args.seed + 2)
    gen = torch.Generator().manual_seed(args.seed + 2)
    canonical = tok([fill_template("a photo of a {}.", world.words(c)[0]) for c in concept_ids])
    probe = torch.randperm(len(singles), generator=gen)[:3000]
    t0 = time.time()
    text.train()
    for step in range(steps):
        idx = torch.randperm(len(concept_ids), generator=gen)[:args.text_batch]
        prompts = text_prompts(world, [concept_ids[i] for i in idx.tolist()], templates, rng, args)
        txt = F.normalize(text.forward_trimmed(tok(prompts)), dim=-1)
        align = (1 - (txt * targets[idx]).sum(dim=-1)).mean()
        loss = F.cross_entropy(scale * txt @ targets.t(), idx) + args.text_align * align
        rows, labels = [], []
        for j, k in enumerate(idx.tolist()):
            for _ in range(args.text_images if by_concept[k] else 0):
                rows.append(by_concept[k][int(torch.randint(0, len(by_concept[k]), (1,), generator=gen))])
                labels.append(j)
        if rows:
            loss = loss + F.cross_entropy(scale * single_embeds[rows] @ txt.t(), torch.tensor(labels))
        optimizer_step(opt, sched, loss, text.parameters(), 5.0)
        if step % args.log_every == 0 or step == steps - 1:
            msg = f"text step {step + 1}/{steps} loss {loss.item():.3f} (1 - cosine to own target {align.item():.3f}) {progress(t0, step, steps)}"
            if step % (args.log_every * 4) == 0 or step == steps - 1:
                text.eval()
                with torch.no_grad():
                    names = F.normalize(text.forward_trimmed(canonical), dim=-1)
                text.train()
                hit = (single_embeds[probe] @ names.t()).argmax(1) == single_labels[probe]
                msg += f" (training singles vs \"a photo of a {{name}}.\": top-1 {hit.float().mean().item():.3f})"
            log(msg)
    torch.save({"backbone": ck["backbone"], "head": ck["head"], "text": text.state_dict(), "logit_scale": scale,
                "concept_ids": concept_ids, "steps": {"image": ck["step"], "text": steps}}, os.path.join(args.work, "clip.pt"))
    log(f"clip (text tower) done in {time.time() - t0:.0f}s")


# ---------------------------------------------------------------- RPN training
def build_rpn(p, training):
    anchors = AnchorGenerator(ANCHORS["sizes"], ANCHORS["ratios"])
    head = RPNHead(p["rpn_channels"], len(ANCHORS["sizes"][0]) * len(ANCHORS["ratios"][0]))
    trunk = RpnTrunk(p)
    rpn = RegionProposalNetwork(anchors, head, fg_iou_thresh=0.7, bg_iou_thresh=0.3, batch_size_per_image=256,
                                positive_fraction=0.5, pre_nms_top_n=dict(training=1000, testing=1000),
                                post_nms_top_n=dict(training=500, testing=1000), nms_thresh=0.7)
    return trunk, rpn


def train_rpn(args, p, world):
    seed_all(args.seed + 1)
    trunk, rpn = build_rpn(p, True)
    params = list(trunk.parameters()) + list(rpn.parameters())
    opt = torch.optim.AdamW(params, lr=args.rpn_lr, weight_decay=1e-4)
    steps = args.rpn_steps
    sched = cosine_schedule(opt, steps)
    size = DETECT["shortEdge"]
    scenes = world.load_scenes(size)
    scene_ids = [c["id"] for c in world.captions]
    scale = size / world.size
    gen = torch.Generator().manual_seed(args.seed + 1)
    trunk.train()
    rpn.train()
    t0 = time.time()
    for step in range(steps):
        idx = torch.randint(0, len(scenes), (args.rpn_batch,), generator=gen).tolist()
        flip = (torch.rand(len(idx), generator=gen) < 0.5).tolist()
        x = scenes[idx].clone()
        targets = []
        for b, (i, fl) in enumerate(zip(idx, flip)):
            bx = torch.tensor([bb[:4] for bb in world.boxes.get(scene_ids[i], [])], dtype=torch.float32).reshape(-1, 4) * scale
            if fl:
                x[b] = x[b].flip(-1)
                bx = torch.stack([size - bx[:, 2], bx[:, 1], size - bx[:, 0], bx[:, 3]], dim=1) if len(bx) else bx
            targets.append({"boxes": bx})
        x = normalize(x)
        feats = OrderedDict((str(i), f) for i, f in enumerate(trunk(x)))
        _, losses = rpn(ImageList(x, [(size, size)] * len(idx)), feats, targets)
        loss = losses["loss_objectness"] + losses["loss_rpn_box_reg"]
        optimizer_step(opt, sched, loss, params, 10.0)
        if step % args.log_every == 0 or step == steps - 1:
            log(f"rpn step {step + 1}/{steps} objectness {losses['loss_objectness'].item():.4f} "
                f"box {losses['loss_rpn_box_reg'].item():.4f} {progress(t0, step, steps)}")
    torch.save({"trunk": trunk.state_dict(), "head": rpn.head.state_dict(), "steps": args.rpn_steps}, os.path.join(args.work, "rpn.pt"))
    log(f"rpn done in {time.time() - t0:.0f}s")


# ---------------------------------------------------------------- export
def export(args, p, tok, vocab, merges):
    out = args.out
    os.makedirs(out, exist_ok=True)
    ck = torch.load(os.path.join(args.work, "clip.pt"))
    rk = torch.load(os.path.join(args.work, "rpn.pt"))
    m = build(p)
    m["backbone"].load_state_dict(ck["backbone"])
    m["head"].load_state_dict(ck["head"])
    text = Text(len(vocab), p["t_width"], p["t_layers"], p["t_heads"], p["embed_dim"])
    text.load_state_dict(ck["text"])
    trunk, rpn = build_rpn(p, False)
    trunk.load_state_dict(rk["trunk"])
    rpn.head.load_state_dict(rk["head"])
    rpn_graph = RpnGraph(trunk, rpn.head)
    for mod in (m["vision"], text, rpn_graph):
        mod.eval()
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    D, C4 = p["embed_dim"], p["widths"][3]
    A = len(ANCHORS["sizes"][0]) * len(ANCHORS["ratios"][0])
    graphs = {"text": export_text(text, tok(["a photo of a dog.", "a bicycle"]), out, D),
              "vision": export_vision(m["vision"], out, CLIP_SIZE, D), "rpn": export_rpn(rpn_graph, out, A),
              **export_features(m["backbone"], m["head"], out, C4, D)}
    scale = float(ck["logit_scale"])
    levels = [{"objectness": f"objectness_{i}", "deltas": f"deltas_{i}", "anchorSizes": list(ANCHORS["sizes"][i]),
               "aspectRatios": list(ANCHORS["ratios"][i])} for i in range(2)]
    manifest = {
        "name": args.name or os.path.basename(os.path.normpath(out)),
        "kind": "detector",
        "description": (f"regionclip's built-in model: a small CLIP (ResNet image tower split into backbone/head, RegionCLIP's "
                        f"features mode; transformer text tower with a BPE vocab learned from the world's captions) and a "
                        f"class-agnostic RPN trained on base boxes only, trained on the synthetic world ({args.world_desc}); "
                        f"made by training/train_world.py --preset {args.preset} --seed {args.seed}: phase 1 (image tower) "
                        f"{ck['steps']['image']} steps, phase 2 (text tower) {ck['steps']['text']}, phase 3 (align) "
                        f"{ck['steps'].get('align', 0)}, RPN {rk['steps']} steps. Training images: see NOTICE."),
        "license": "MIT",
        "source": "training/train_world.py (regionclip); training data: training/world (see NOTICE)",
        "embedDim": D,
        "logitScale": round(scale, 4),
        "tokenizer": {"vocab": "vocab.json", "merges": "merges.txt", "contextLength": 77},
        "preprocess": {"size": CLIP_SIZE, "mean": CLIP_MEAN, "std": CLIP_STD, "channelOrder": "RGB",
                       "interpolation": "bicubic", "crop": "center"},
        "image": dict(DETECT),
        "rpn": {"input": dict(PIXEL_NORM), "levels": levels, "boxCoderWeights": [1.0, 1.0, 1.0, 1.0],
                "preNmsTopK": 2000, "postNmsTopK": 1000, "nmsThreshold": 0.7, "minSize": 1.0, "scoreThreshold": 0.0},
        "regionEncoder": {"mode": "features", "input": dict(PIXEL_NORM), "featureOutput": "res4", "spatialScale": 1 / 16,
                          "outputSize": [14, 14], "samplingRatio": 0, "aligned": True},
        "scoring": {"temperature": round(1 / scale, 6)},
        "graphs": graphs,
    }
    notice = os.path.join(out, "NOTICE")
    with open(notice, "w", encoding="utf-8") as f:
        f.write("regionclip built-in model (MIT). Weights were trained by training/train_world.py on images rendered from\n"
                "the icon sets and word lists listed in training/world/NOTICE (with their licences); the held-out\n"
                "twemoji style was not used for training.\n")
    files = [g["file"] for g in graphs.values()] + ["vocab.json", "merges.txt"]
    manifest["files"] = {f: {"sha256": sha256(os.path.join(out, f))} for f in files}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    total = 0
    for name in sorted(os.listdir(out)):
        size = os.path.getsize(os.path.join(out, name))
        total += size
        log(f"{name:20s} {size:>12,d} bytes")
    log(f"total {total / 2**20:.2f} MiB in {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", required=True, help="a generated train world (training/world/generate.ts --split train)")
    ap.add_argument("--work", required=True, help="checkpoints and tokenizer")
    ap.add_argument("--out", help="model folder to export to")
    ap.add_argument("--name", help="manifest name (default: the --out folder's name)")
    ap.add_argument("--stage", default="all", choices=["all", "clip", "clip-image", "clip-text", "clip-align", "rpn", "export"])
    ap.add_argument("--preset", default="small", choices=PRESETS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--extra-singles", nargs="*", default=[], help="more generated worlds whose single-object images join the CLIP training")
    ap.add_argument("--clip-steps", type=int, default=2400, help="phase 1: image tower against concept prototypes")
    ap.add_argument("--init", help="phase 1 continues this clip-image.pt (a new schedule over --clip-steps more steps)")
    ap.add_argument("--clip-batch", type=int, default=128)
    ap.add_argument("--single-sizes", type=int, nargs="+", default=[48, 56, 64, 72, 80], help="random input sizes of single-object images")
    ap.add_argument("--region-scenes", type=int, default=2, help="scenes per step whose base boxes train the region path")
    ap.add_argument("--region-weight", type=float, default=1.0)
    ap.add_argument("--region-from", type=float, default=0.4, help="share of --clip-steps before the region loss joins (from the start it keeps the singles at chance)")
    ap.add_argument("--scene-size", type=int, default=256, help="scene resolution for the region loss")
    ap.add_argument("--init-scale", type=float, default=1 / 0.07, help="initial logit scale (learned)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--text-steps", type=int, default=800, help="phase 2: text tower onto the frozen image tower's --text-targets (400 steps: 69.7%% / 66.3%% top-1 base / novel, 800: 76.5%% / 74.6%%)")
    ap.add_argument("--text-batch", type=int, default=256)
    ap.add_argument("--text-lr", type=float, default=1e-3)
    ap.add_argument("--text-align", type=float, default=10.0, help="weight of the cosine pull of each prompt onto its target")
    ap.add_argument("--text-targets", default="centroids", choices=["centroids", "prototypes"])
    ap.add_argument("--text-images", type=int, default=2, help="embedded singles per concept in phase 2's image-to-text loss (0: none)")
    ap.add_argument("--align-steps", type=int, default=0, help="phase 3 (optional): image tower onto the frozen text tower's embeddings; 400 steps measured worse top-1 (README)")
    ap.add_argument("--align-lr", type=float, default=3e-4)
    ap.add_argument("--align-variants", type=int, default=8, help="prompts per concept in phase 3's text bank")
    ap.add_argument("--template-mix", type=float, default=0.5, help="share of prompts from the 81 templates (else \"a photo of a {}.\")")
    ap.add_argument("--synonym-mix", type=float, default=0.2, help="share of prompts naming a synonym")
    ap.add_argument("--rpn-steps", type=int, default=800)
    ap.add_argument("--rpn-batch", type=int, default=8)
    ap.add_argument("--rpn-lr", type=float, default=2e-3)
    ap.add_argument("--limit-scenes", type=int)
    ap.add_argument("--limit-singles", type=int)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--save-every", type=int, default=100, help="CLIP checkpoint interval (steps)")
    args = ap.parse_args()
    if args.init and args.stage not in ("all", "clip", "clip-image"):
        ap.error("--init continues phase 1: use it with --stage clip-image, clip or all")
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    p = PRESETS[args.preset]
    world = World(args.world, args.limit_scenes, args.limit_singles, args.extra_singles)
    n_singles = len(world.singles) + sum(len(records) for _, records in world.extra_singles)
    args.world_desc = f"{len(world.captions)} scenes, {n_singles} single-object images"
    templates = ensemble_templates()
    tok = vocab = merges = None
    if args.stage != "rpn":
        tok_path = os.path.join(args.work, "tokenizer.json")
        # later stages, and phase 1 continuing a checkpoint (--init), reuse the tokenizer phase 1 learned
        if (args.stage in ("export", "clip-text", "clip-align") or args.init) and os.path.exists(tok_path):
            with open(tok_path, encoding="utf-8") as f:
                t = json.load(f)
            vocab, merges = t["vocab"], [tuple(m) for m in t["merges"]]
        else:
            t0 = time.time()
            vocab, merges = learn_bpe(tokenizer_words(world, templates), p["merges"])
            with open(tok_path, "w", encoding="utf-8") as f:
                json.dump({"vocab": vocab, "merges": merges}, f)
            log(f"BPE: {len(vocab)} tokens ({len(merges)} merges) in {time.time() - t0:.0f}s")
        tok = SimpleTokenizer(encoder=vocab, merges=merges)
    if args.stage in ("all", "clip", "clip-image"):
        train_clip(args, p, world, tok, templates)
    if args.stage in ("all", "clip", "clip-text"):
        train_text(args, p, world, tok, templates)
    if args.stage == "clip-align" or (args.stage in ("all", "clip") and args.align_steps > 0):
        train_clip(args, p, world, tok, templates, phase="align")
    if args.stage in ("all", "rpn"):
        train_rpn(args, p, world)
    if args.stage in ("all", "export"):
        if not args.out:
            ap.error("--out is needed to export")
        export(args, p, tok, vocab, merges)


if __name__ == "__main__":
    main()
