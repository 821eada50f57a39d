"""The synthetic world as training data (training/world's generate.ts output), image loading and normalization,
the augmentations and batches of each phase, and the prompt templates.

Glossary: N images, B batch, S side in pixels, R regions (boxes), C concepts, D embedding dim. Images are
uint8 [N, 3, S, S] until `normalize`; boxes are XYXY in the world's scene pixels (world.json's size).
"""
import json
import os
import time
from collections import namedtuple

import torch
import torch.nn.functional as F
from PIL import Image

from .config import TRAINING_DIR, expected, read_json
from export_tiny_detector import CLIP_PIXEL_NORM
from detector_common import SimpleTokenizer, fill_template

PIXEL_NORM = CLIP_PIXEL_NORM  # both graphs take CLIP's RGB mean/std in pixel units
CLIP_SIZE = 80  # classify input (world singles are generated at 80 px)
DETECT = dict(shortEdge=256, maxSize=512, sizeDivisibility=32)  # detector input; the RPN trains at the short edge
TEMPLATES_PATH = os.path.join(os.path.dirname(TRAINING_DIR), "src", "text", "prompt-templates.json")
Templates = namedtuple("Templates", "single ensemble")


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def load_templates(path=TEMPLATES_PATH):
    """The prompt templates `detect` and `classify` use (src/text/prompt-templates.json, which
    src/text/prompts.ts imports): "single" (its first is "a photo of a {}.") and "ensemble" (81)."""
    raw = read_json(path, "prompt templates")
    lists = []
    for key in ("single", "ensemble"):
        value = raw.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(t, str) and "{}" in t for t in value):
            raise expected('a non-empty list of templates containing "{}"', f"{key} in {path}", json.dumps(value))
        lists.append(value)
    return Templates(*lists)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_u8(path, size=None):
    img = Image.open(path).convert("RGB")
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).reshape(img.height, img.width, 3).permute(2, 0, 1).clone()


def normalize(u8):
    """uint8 [B, 3, H, W] -> float (x - mean) / std with CLIP's mean/std (== PIXEL_NORM in pixel units), on u8's
    device."""
    mean = torch.tensor(PIXEL_NORM["pixelMean"], device=u8.device)[None, :, None, None]
    std = torch.tensor(PIXEL_NORM["pixelStd"], device=u8.device)[None, :, None, None]
    return (u8.float() - mean) / std


class World:
    """One generated world: concepts, captions, single-object images and base boxes (boxes under 2 px dropped)."""

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

    def describe(self):
        n_singles = len(self.singles) + sum(len(records) for _, records in self.extra_singles)
        return f"{len(self.captions)} scenes, {n_singles} single-object images"

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


def region_batch(world, scenes, scene_ids, boxed, n_scenes, scene_size, gen):
    """RoIAlign inputs for n_scenes random scenes with base boxes: (images, rois [R, 5], concept ids [R]).
    Boxes are jittered by up to 7.5% of their sides, as proposals are not exact."""
    pick = [boxed[int(j)] for j in torch.randint(0, len(boxed), (n_scenes,), generator=gen)]
    rois, rc = [], []
    S = scene_size / world.size
    for b, si in enumerate(pick):
        for (x1, y1, x2, y2, cid) in world.boxes[scene_ids[si]]:
            bw, bh = x2 - x1, y2 - y1
            j = [float(v) for v in (torch.rand(4, generator=gen) - 0.5) * 0.15]
            rois.append([b, (x1 + j[0] * bw) * S, (y1 + j[1] * bh) * S, (x2 + j[2] * bw) * S, (y2 + j[3] * bh) * S])
            rc.append(cid)
    return normalize(scenes[pick]), torch.tensor(rois, dtype=torch.float32).reshape(-1, 5), rc


def rpn_batch(world, scenes, scene_ids, n, size, gen):
    """n random scenes (uint8 at size x size), each mirrored half the time, normalized, with their base boxes
    scaled to size: (images [n, 3, size, size], torchvision RPN targets [{"boxes": [R, 4]}])."""
    idx = torch.randint(0, len(scenes), (n,), generator=gen).tolist()
    flip = (torch.rand(len(idx), generator=gen) < 0.5).tolist()
    scale = size / world.size
    x = scenes[idx].clone()
    targets = []
    for b, (i, fl) in enumerate(zip(idx, flip)):
        bx = torch.tensor([bb[:4] for bb in world.boxes.get(scene_ids[i], [])], dtype=torch.float32).reshape(-1, 4) * scale
        if fl:
            x[b] = x[b].flip(-1)
            bx = hflip_boxes(bx, size)
        targets.append({"boxes": bx})
    return normalize(x), targets


def hflip_boxes(boxes, width):
    """XYXY boxes [N, 4] of an image `width` pixels wide, mirrored as the image is by .flip(-1)."""
    if len(boxes) == 0:
        return boxes
    return torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1)


def text_prompts(world, cids, templates, rng, template_mix, synonym_mix):
    """One prompt per concept id: a template (template_mix of the ensemble ones, else the first single one,
    "a photo of a {}.") filled with the concept's name or (synonym_mix) one of its synonyms."""
    out = []
    for cid in cids:
        ws = world.words(cid)
        w = ws[0] if rng.random() >= synonym_mix or len(ws) == 1 else rng.choice(ws[1:])
        t = rng.choice(templates.ensemble) if rng.random() < template_mix else templates.single[0]
        out.append(fill_template(t, w))
    return out


def canonical_prompts(world, concept_ids, templates):
    """Each concept's name in the first single template: "a photo of a {name}." (articles fixed)."""
    return [fill_template(templates.single[0], world.words(c)[0]) for c in concept_ids]


def name_prompts(names, templates, which):
    """The prompts of each name, name-major: "a photo of a {name}." (which "single") or the 81 ensemble
    templates (which "ensemble"), filled as the runtime fills them (articles fixed)."""
    chosen = templates.single[:1] if which == "single" else templates.ensemble
    return [fill_template(t, name) for name in names for t in chosen], len(chosen)


def random_boxes(n, size, gen):
    """n random boxes [n, 4] XYXY inside a size x size image, sides 10-100% of it (RegionCLIP's RANDOM regions,
    without its 8-pixel grid)."""
    wh = size * (0.1 + 0.9 * torch.rand(n, 2, generator=gen))
    xy = (size - wh) * torch.rand(n, 2, generator=gen)
    return torch.cat([xy, xy + wh], dim=1)


def jitter_boxes(boxes, copies, size, gen, amount=0.15):
    """copies jittered versions of each box [G, 4] (each side moved by up to `amount` of the box's width or
    height), clipped to the image; boxes narrower or lower than 1 px after clipping are dropped."""
    if copies == 0 or len(boxes) == 0:
        return boxes.new_zeros((0, 4))
    b = boxes.repeat(copies, 1)
    wh = (b[:, 2:] - b[:, :2]).repeat(1, 2)
    out = (b + (torch.rand(b.shape, generator=gen) * 2 - 1) * amount * wh).clamp(0, size)
    keep = ((out[:, 2] - out[:, 0]) >= 1) & ((out[:, 3] - out[:, 1]) >= 1)
    return out[keep]
