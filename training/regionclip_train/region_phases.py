"""RegionCLIP's learning half (issue 14) as two more stages: each runs through loop.run_steps, writes its model
file and its state file (checkpoint.py) for an exact --resume, and seeds its own streams from --seed (+5, +6).

  (A) CLIP     the phases of phases.py with the recipe world_clip_baseline.json (no box in the CLIP towers).
  (B) pretrain --stage pretrain (PretrainFastRCNN): teacher = a frozen (A) (image tower and text tower, from
               --teacher, default <work>/clip.pt); student region encoder (backbone + head, RoIAlign on res4,
               then res5 + attention pool) initialised from it. Per step, --pretrain-scenes scenes with their
               pseudo-labels (`regionclip mine --rule regionclip` over the world's captions, read by
               pseudo_labels.py) and --pretrain-random-boxes random boxes: region-concept cross-entropy of the
               labelled boxes over the concept pool's frozen text embeddings, KL distillation of the teacher's
               region-concept distribution on every box, and the image-text loss on --pretrain-batch singles
               (losses.region_concept, losses.image_text; temperature: the towers' own, RegionCLIP's 0.01 being
               CLIP RN50's). No human box enters (B).
               Writes pretrain.pt (clip.pt's layout: the text tower is (A)'s).
  (C) transfer --stage transfer (CLIPFastRCNN + CLIPRes5ROIHeads + FastRCNNOutputLayers with clip_cls_emb):
               initialised from --transfer-from (default <work>/pretrain.pt), fine-tuned on the world's base
               boxes only (novel concepts are never box-supervised): the classifier is the frozen text
               embeddings of the base class names (the runtime's prompts) plus a learned background
               embedding, cosine / temperature, cross-entropy with the background for RoIs of IoU < 0.5;
               class-agnostic box deltas (weights 10, 10, 5, 5) on the foreground RoIs. RoIs: the frozen RPN's
               proposals (<work>/rpn.pt), the base boxes and jittered copies, sampled as detectron2's RoI heads
               sample them. The stem and res2 stay frozen (RegionCLIP's FREEZE_AT 2; --transfer-freeze res4 freezes
               the backbone, all the whole tower). With --ignore-labels (not RegionCLIP's: its recipe teaches every
               unboxed object as background), a RoI that would be background but overlaps a pseudo-label of a
               non-base concept (IoU >= --transfer-ignore-iou; `regionclip mine` over the captions, no human box)
               is left out of the sample, as detectron2 leaves out its -1 labels. Writes transfer.pt.

In (B) and (C) every BatchNorm keeps its statistics (eval mode; RegionCLIP's towers use FrozenBN), so the
function trained is the one exported; their affine parameters still train.

Glossary: B scenes per step, R regions (RoIs), L pseudo-labelled boxes, C pool concepts, K base classes,
D embedding dim, S the detector's input side (DETECT shortEdge; the world's scenes are square).
"""
import os
import random
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.image_list import ImageList

from . import checkpoint, losses
from .config import ConfigError, expected
from .data import DETECT, augment_singles, hflip_boxes, jitter_boxes, log, name_prompts, normalize, random_boxes
from .loop import cosine_schedule, optimizer_step, run_steps
from .models import BoxHead, build, build_rpn, build_text
from .phases import resume_state, seed_all
from .pseudo_labels import read_pool, read_pseudo_labels, world_pool

BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)  # detectron2's ROI_BOX_HEAD.BBOX_REG_WEIGHTS (the manifest's boxDeltas.weights)
FG_IOU = 0.5  # detectron2's ROI_HEADS.IOU_THRESHOLDS: a RoI is its best GT's class at IoU >= 0.5, else background
CLIP_KEYS = ("backbone", "head", "text", "logit_scale", "steps")


def load_clip(path, flag):
    """A checkpoint with both towers (clip.pt, pretrain.pt or transfer.pt)."""
    try:
        ck = torch.load(path, map_location="cpu")
    except (OSError, RuntimeError) as e:
        raise expected("a checkpoint of both towers (clip.pt or pretrain.pt in a --work folder)", flag,
                       f"{path}: {type(e).__name__}: {e}") from e
    missing = [k for k in CLIP_KEYS if not isinstance(ck, dict) or k not in ck]
    if missing:
        raise expected("a checkpoint of both towers (clip.pt after phase 2, or pretrain.pt)", flag,
                       f"{path} without {', '.join(missing)}")
    return ck


def embed_names(text, tok, names, templates, which):
    """[N, D] the runtime's phrase embeddings of names: each prompt's embedding L2-normalized, averaged over the
    name's prompts, renormalized (the default preset's normalize-average-normalize), by the frozen text tower."""
    prompts, per_name = name_prompts(names, templates, which)
    dev = next(text.parameters()).device
    with torch.no_grad():
        raw = torch.cat([text.forward_trimmed(tok(prompts[i:i + 512]).to(dev)) for i in range(0, len(prompts), 512)])
    return F.normalize(F.normalize(raw, dim=-1).reshape(len(names), per_name, -1).mean(dim=1), dim=-1)


def temperature(value, ck, flag):
    """The recipe's temperature, or (null) 1 / the checkpoint's logit scale: the towers' own, as RegionCLIP's
    0.01 is CLIP RN50's (logit scale 100)."""
    T = value if value is not None else 1 / float(ck["logit_scale"])
    log(f"{flag}: {T:.6g}" + ("" if value is not None else f" (1 / the logit scale {float(ck['logit_scale']):.4g})"))
    return T


def frozen_text(p, tok, ck):
    text = build_text(p, len(tok.encoder))
    text.load_state_dict(ck["text"])
    text.eval()
    return text


def tower(p, ck, trainable):
    """The image tower of checkpoint ck with its BatchNorm statistics frozen (eval mode); its parameters frozen
    too unless trainable."""
    m = build(p)
    m["backbone"].load_state_dict(ck["backbone"])
    m["head"].load_state_dict(ck["head"])
    m["vision"].eval()
    for q in m["vision"].parameters():
        q.requires_grad_(trainable)
    return m


def region_embeds(m, x, rois):
    """The head's raw outputs [R, D] for rois [R, 5] (batch index, XYXY in x's pixels): RoIAlign on res4 (stride
    16, 14 x 14, aligned, adaptive sampling: the runtime's regionEncoder), then res5 + attention pool."""
    return m["head"](torchvision.ops.roi_align(m["backbone"](x), rois, (14, 14), 1 / 16, 0, True))


def with_batch_index(b, boxes):
    return torch.cat([torch.full((len(boxes), 1), float(b), device=boxes.device), boxes], dim=1)


# ---------------------------------------------------------------- (B) region-text pretraining
def _pool_singles(world, pool):
    """The singles whose concept is in the pool, and their pool indices (others are left out, logged)."""
    index = {name: i for i, name in enumerate(pool)}
    singles, cids = world.load_singles()
    keep = [i for i, c in enumerate(cids) if world.words(c)[0] in index]
    if not keep:
        raise ConfigError("Expected single-object images of the pool's concepts for (B)'s image-text loss but "
                          f"received none of {len(cids)}; set --pretrain-batch 0 to train without it.")
    if len(keep) < len(cids):
        log(f"image-text: {len(cids) - len(keep)} of {len(cids)} singles show concepts outside the pool; left out")
    return singles[keep], torch.tensor([index[world.words(cids[i])[0]] for i in keep])


def train_pretrain(opts, p, world, tok, templates):
    """(B) --stage pretrain: see the module docstring; pretrain.pt and pretrain-state.pt in --work."""
    rec, state, finished = resume_state(opts, "pretrain", "(B) pretrain")
    if finished:
        return
    seed_all(opts.seed + 5)
    ck = load_clip(opts.teacher, "--teacher")
    pool = read_pool(opts.concepts) if opts.concepts else world_pool(world)
    labels, skipped, outside = read_pseudo_labels(opts.labels, world, pool, skip_unknown=opts.limit_scenes is not None,
                                                  outside_pool=opts.pretrain_outside_pool)
    n_concepts = len(torch.unique(torch.cat(list(labels.concepts.values()))))
    log(f"pseudo-labels: {labels.count} boxes of {n_concepts} concepts on {len(labels.scenes)} of "
        f"{len(world.captions)} scenes, from {opts.labels}"
        + (f" ({skipped} records of scenes past --limit-scenes skipped)" if skipped else "")
        + (f" ({outside} labels of concepts outside the pool left out, --pretrain-outside-pool skip)" if outside else ""))
    t0 = time.time()
    pool_embeds = embed_names(frozen_text(p, tok, ck), tok, pool, templates, opts.prompt_templates)
    log(f"concept pool: {len(pool)} concepts ({opts.prompt_templates} prompts) embedded in {time.time() - t0:.0f}s")
    teacher = tower(p, ck, trainable=False)
    student = tower(p, ck, trainable=True)
    params = list(student["vision"].parameters())
    opt = torch.optim.AdamW(params, lr=opts.pretrain_lr, weight_decay=0.05)
    steps, T = opts.pretrain_steps, temperature(opts.pretrain_temperature, ck, "--pretrain-temperature")
    sched = cosine_schedule(opt, steps)
    S = DETECT["shortEdge"]
    scale = S / world.size
    scenes = world.load_scenes(S)
    use_singles = opts.pretrain_batch > 0 and opts.pretrain_image_weight > 0
    singles, single_labels = _pool_singles(world, pool) if use_singles else (None, None)
    rng = random.Random(opts.seed + 5)
    gen = torch.Generator().manual_seed(opts.seed + 5)
    parts = dict(backbone=student["backbone"], head=student["head"])
    if state is not None:
        checkpoint.restore(state, parts, opt, sched, rng, gen)
        log(f"(B) pretrain resumes {checkpoint.state_path(opts.work, 'pretrain')} at step {state['step']}")

    def step_fn(step):
        pick = [labels.scenes[int(j)] for j in torch.randint(0, len(labels.scenes), (opts.pretrain_scenes,), generator=gen)]
        labelled, extra, concept = [], [], []
        for b, si in enumerate(pick):
            boxes, cids = labels.boxes[si], labels.concepts[si]
            if len(boxes) > opts.pretrain_regions:
                take = torch.randperm(len(boxes), generator=gen)[:opts.pretrain_regions]
                boxes, cids = boxes[take], cids[take]
            labelled.append(with_batch_index(b, boxes * scale))
            concept.append(cids)
            extra.append(with_batch_index(b, random_boxes(opts.pretrain_random_boxes, S, gen)))
        rois, concept = torch.cat(labelled + extra), torch.cat(concept)
        x = normalize(scenes[pick])
        embeds = F.normalize(region_embeds(student, x, rois), dim=-1)
        with torch.no_grad():
            teacher_embeds = F.normalize(region_embeds(teacher, x, rois), dim=-1)
        contrastive, distill, logits = losses.region_concept(embeds, teacher_embeds, pool_embeds, concept, T)
        loss = opts.pretrain_concept_weight * contrastive + opts.pretrain_distill_weight * distill
        loss_i = torch.zeros(())
        if use_singles:
            idx = torch.randint(0, len(singles), (opts.pretrain_batch,), generator=gen)
            single_embeds = F.normalize(student["vision"](augment_singles(singles[idx], opts.single_sizes, gen, rng)), dim=-1)
            loss_i = losses.image_text(single_embeds, pool_embeds, single_labels[idx], T)
            loss = loss + opts.pretrain_image_weight * loss_i
        optimizer_step(opt, sched, loss, params, 5.0)
        top1 = (logits[:len(concept)].argmax(1) == concept).float().mean().item()
        return lambda prog: (f"loss {loss.item():.3f} (concept {contrastive.item():.3f} distill {distill.item():.4f} "
                             f"image-text {loss_i.item():.3f}) {len(concept)} labelled + {len(rois) - len(concept)} "
                             f"random boxes, pseudo-label top-1 {top1:.2f} {prog}")

    def save(n):
        checkpoint.save({**ck, "backbone": student["backbone"].state_dict(), "head": student["head"].state_dict(),
                         "steps": {**ck["steps"], "pretrain": n}, "worlds": {**ck.get("worlds", {}), "pretrain": opts.world_desc}},
                        os.path.join(opts.work, "pretrain.pt"))
        checkpoint.save(checkpoint.training_state("pretrain", rec, n, steps, parts, opt, sched, rng, gen),
                        checkpoint.state_path(opts.work, "pretrain"))

    t0 = run_steps("pretrain", steps, state["step"] if state else 0, step_fn, save, opts)
    log(f"(B) pretrain done in {time.time() - t0:.0f}s")


# ---------------------------------------------------------------- (C) transfer
def base_boxes(world, class_of, scale):
    """{scene index: (boxes [G, 4] at the detector's size, class indices [G])} of the scenes with base boxes,
    and the number of GT boxes of other (novel) concepts left out."""
    out, novel = {}, 0
    for si, c in enumerate(world.captions):
        rows = world.boxes.get(c["id"], [])
        kept = [r for r in rows if r[4] in class_of]
        novel += len(rows) - len(kept)
        if kept:
            out[si] = (torch.tensor([r[:4] for r in kept], dtype=torch.float32) * scale,
                       torch.tensor([class_of[r[4]] for r in kept], dtype=torch.int64))
    return out, novel


IGNORE = -1  # a RoI label: neither foreground nor background (detectron2's -1 in subsample_labels)


def ignored_boxes(labels, world, class_of, scale):
    """{scene index: boxes [L, 4] at the detector's size} of the pseudo-labels (PseudoLabels over world_pool,
    whose order is the sorted concept ids) whose concept is not a base class (class_of): (C)'s --ignore-labels."""
    non_base = torch.tensor([cid not in class_of for cid in sorted(world.concepts)])  # [C], by pool index
    keep = {si: non_base[labels.concepts[si]] for si in labels.scenes}
    return {si: labels.boxes[si][k] * scale for si, k in keep.items() if k.any()}


def ignore_background(lab, candidates, ignored, bg_class, iou):
    """RoI labels with those background RoIs (lab == bg_class) whose IoU with any box of `ignored` [L, 4] is at
    least `iou` set to IGNORE (left out of the sample and the loss); lab [R], candidates [R, 4]."""
    if ignored is None or len(ignored) == 0:
        return lab
    near = torchvision.ops.box_iou(candidates, ignored).max(dim=1).values >= iou
    return torch.where((lab == bg_class) & near, torch.full_like(lab, IGNORE), lab)


def sample_rois(labels, bg_class, n, fg_fraction, gen):
    """detectron2's subsample_labels: at most int(n * fg_fraction) foreground RoIs, background for the rest of
    n, each drawn at random (labels IGNORE are never drawn); indices into labels."""
    fg = torch.nonzero((labels != bg_class) & (labels != IGNORE)).flatten()
    bg = torch.nonzero(labels == bg_class).flatten()
    n_fg = min(int(n * fg_fraction), len(fg))
    n_bg = min(n - n_fg, len(bg))
    return torch.cat([fg[torch.randperm(len(fg), generator=gen)[:n_fg]], bg[torch.randperm(len(bg), generator=gen)[:n_bg]]])


def train_transfer(opts, p, world, tok, templates):
    """(C) --stage transfer: see the module docstring; transfer.pt and transfer-state.pt in --work."""
    rec, state, finished = resume_state(opts, "transfer", "(C) transfer")
    if finished:
        return
    seed_all(opts.seed + 6)
    ck = load_clip(opts.transfer_from, "--transfer-from")
    base = sorted(cid for cid, c in world.concepts.items() if c.get("split") == "base")
    if not base:
        raise ConfigError(f"Expected base concepts (split \"base\") in {world.root}/concepts.json for (C) but received none.")
    class_of = {cid: k for k, cid in enumerate(base)}
    names = [world.concepts[cid]["name"] for cid in base]
    K = len(names)
    S = DETECT["shortEdge"]
    gt, novel = base_boxes(world, class_of, S / world.size)
    if not gt:
        raise ConfigError(f"Expected scenes with base boxes in {world.root}/gt.json for (C) but received none.")
    log(f"transfer: {K} base classes, {sum(len(g[0]) for g in gt.values())} base boxes on {len(gt)} scenes"
        + (f"; {novel} boxes of novel concepts left out (never box-supervised)" if novel else ""))
    ignored = {}
    if opts.ignore_labels:
        mined, skipped, outside = read_pseudo_labels(opts.ignore_labels, world, world_pool(world),
                                                     skip_unknown=opts.limit_scenes is not None, outside_pool="skip",
                                                     flag="--ignore-labels")
        ignored = {si: b for si, b in ignored_boxes(mined, world, class_of, S / world.size).items() if si in gt}
        if not ignored:
            raise ConfigError(f"Expected pseudo-labels of concepts outside the base classes on scenes with base boxes "
                              f"for --ignore-labels but received none among the {mined.count} of {opts.ignore_labels} "
                              "(the option would change nothing).")
        log(f"--ignore-labels: {sum(len(b) for b in ignored.values())} of {mined.count} pseudo-labels name a concept "
            f"outside the base classes, on {len(ignored)} scenes with base boxes: background RoIs with IoU >= "
            f"{opts.transfer_ignore_iou} with them are left out of the RoI sample"
            + (f" ({outside} outside the pool skipped)" if outside else "")
            + (f" ({skipped} records of scenes past --limit-scenes skipped)" if skipped else ""))
    dev = torch.device(opts.device)
    if dev.type == "cuda":
        log(f"--device {opts.device}: {torch.cuda.get_device_name(dev)}")
    t0 = time.time()
    class_embeds = embed_names(frozen_text(p, tok, ck).to(dev), tok, names, templates, opts.prompt_templates)
    log(f"classifier: {K} base class names ({opts.prompt_templates} prompts) embedded in {time.time() - t0:.0f}s")
    rpn_path = os.path.join(opts.work, "rpn.pt")
    if not os.path.exists(rpn_path):
        raise expected("the RPN of --stage rpn (its proposals are (C)'s RoIs)", "--work", f"no {rpn_path}")
    rk = torch.load(rpn_path, map_location="cpu")
    trunk, rpn = build_rpn(p)
    trunk.load_state_dict(rk["trunk"])
    rpn.head.load_state_dict(rk["head"])
    trunk.eval().to(dev)
    rpn.eval().to(dev)
    student = tower(p, ck, trainable=True)
    student["vision"].to(dev)
    bb = student["backbone"]
    frozen = {"res2": (bb.stem, bb.res2), "res4": (bb,), "all": (student["vision"],)}[opts.transfer_freeze]
    for part in frozen:
        for q in part.parameters():
            q.requires_grad_(False)
    extra = BoxHead(p["embed_dim"]).to(dev)
    params = [q for q in student["vision"].parameters() if q.requires_grad] + list(extra.box_pred.parameters())
    opt = torch.optim.AdamW([{"params": params}, {"params": [extra.background], "weight_decay": 0.0}],
                            lr=opts.transfer_lr, weight_decay=0.05)
    steps, T = opts.transfer_steps, temperature(opts.transfer_temperature, ck, "--transfer-temperature")
    sched = cosine_schedule(opt, steps)
    scenes = world.load_scenes(S)
    boxed = sorted(gt)
    coder = BoxCoder(BOX_WEIGHTS)
    rng = random.Random(opts.seed + 6)
    gen = torch.Generator().manual_seed(opts.seed + 6)
    parts = dict(backbone=student["backbone"], head=student["head"], box_pred=extra.box_pred, background=extra.background)
    if state is not None:
        checkpoint.restore(state, parts, opt, sched, rng, gen)
        log(f"(C) transfer resumes {checkpoint.state_path(opts.work, 'transfer')} at step {state['step']}")

    def propose(x):
        """The frozen RPN's top --transfer-proposals boxes per scene (after its NMS, best first)."""
        if opts.transfer_proposals == 0:
            return [torch.zeros((0, 4), device=dev) for _ in range(len(x))]
        with torch.no_grad():
            feats = OrderedDict((str(i), f) for i, f in enumerate(trunk(x)))
            boxes, _ = rpn(ImageList(x, [(S, S)] * len(x)), feats)
        return [b[:opts.transfer_proposals] for b in boxes]

    def step_fn(step):
        pick = [boxed[int(j)] for j in torch.randint(0, len(boxed), (opts.transfer_scenes,), generator=gen)]
        flip = (torch.rand(len(pick), generator=gen) < 0.5).tolist()
        x = scenes[pick].clone()
        targets, ignore = [], []
        for b, (si, fl) in enumerate(zip(pick, flip)):
            boxes, classes = gt[si]
            skip = ignored.get(si)
            if fl:
                x[b] = x[b].flip(-1)
                boxes = hflip_boxes(boxes, S)
                skip = None if skip is None else hflip_boxes(skip, S)
            targets.append((boxes, classes))
            ignore.append(None if skip is None else skip.to(dev))
        x = normalize(x.to(dev))  # uint8 to the device, a quarter of the float bytes
        rois, labels, deltas_target, left_out = [], [], [], 0
        for b, (proposals, (boxes, classes)) in enumerate(zip(propose(x), targets)):
            # the boxes' random jitter and the RoI sample are drawn on the CPU (gen), so a GPU run draws the same
            jittered = jitter_boxes(boxes, opts.transfer_jitter, S, gen)
            boxes, classes = boxes.to(dev), classes.to(dev)
            candidates = torch.cat([proposals, boxes, jittered.to(dev)])
            best, match = torchvision.ops.box_iou(candidates, boxes).max(dim=1)
            lab = torch.where(best >= FG_IOU, classes[match], torch.full_like(match, K))
            lab = ignore_background(lab, candidates, ignore[b], K, opts.transfer_ignore_iou)
            left_out += int((lab == IGNORE).sum())
            take = sample_rois(lab.cpu(), K, opts.transfer_rois, opts.transfer_fg_fraction, gen).to(dev)
            rois.append(with_batch_index(b, candidates[take]))
            labels.append(lab[take])
            deltas_target.append(coder.encode_single(boxes[match[take]], candidates[take]))
        rois, labels, deltas_target = torch.cat(rois), torch.cat(labels), torch.cat(deltas_target)
        if len(labels) == 0:  # a loss over no RoI is NaN, and would reach the weights
            raise ConfigError(f"Expected RoIs to train on at (C) step {step} but received none: every background RoI "
                              "was left out by --ignore-labels and --transfer-fg-fraction allows no foreground.")
        raw = region_embeds(student, x, rois)
        deltas = extra.box_pred(raw)
        loss_cls, loss_box, logits = losses.transfer(raw, deltas, class_embeds, extra.background, labels, deltas_target,
                                                     T, opts.transfer_bg_weight)
        loss = loss_cls + opts.transfer_box_weight * loss_box
        optimizer_step(opt, sched, loss, params + [extra.background], 5.0)
        fg = labels < K
        pred = logits.argmax(1)
        fg_top1 = (pred[fg] == labels[fg]).float().mean().item() if fg.any() else float("nan")
        bg_right = (pred[~fg] == K).float().mean().item() if (~fg).any() else float("nan")
        return lambda prog: (f"loss {loss.item():.3f} (cls {loss_cls.item():.3f} box {loss_box.item():.4f}) "
                             f"{len(labels)} RoIs ({int(fg.sum())} fg{f', {left_out} left out' if ignored else ''}): fg top-1 {fg_top1:.2f}, bg as bg {bg_right:.2f} {prog}")

    def save(n):
        checkpoint.save({**ck, "backbone": student["backbone"].state_dict(), "head": student["head"].state_dict(),
                         "box_pred": extra.box_pred.state_dict(),
                         "background": F.normalize(extra.background.detach(), dim=0).clone(),
                         "temperature": T, "classes": names, "steps": {**ck["steps"], "transfer": n},
                         "worlds": {**ck.get("worlds", {}), "transfer": opts.world_desc}},
                        os.path.join(opts.work, "transfer.pt"))
        checkpoint.save(checkpoint.training_state("transfer", rec, n, steps, parts, opt, sched, rng, gen),
                        checkpoint.state_path(opts.work, "transfer"))

    t0 = run_steps("transfer", steps, state["step"] if state else 0, step_fn, save, opts)
    log(f"(C) transfer done in {time.time() - t0:.0f}s")
