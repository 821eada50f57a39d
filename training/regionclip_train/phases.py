"""The training phases (the joint image-text InfoNCE sat at chance for hundreds of steps on 2 CPU cores, so the
towers are trained in turn, LiT-style):

  phase 1  clip-image  the image tower against one learned embedding per concept (its "prototype"): InfoNCE of
                       each single-object image (base and novel concepts) against every concept's prototype, plus
                       RoIAlign regions of the scenes' base boxes (the detection path; novel concepts are never
                       box-supervised) against the same prototypes, from region_from of the run's steps on
                       (joining at step 0 of a fresh tower it held both losses at chance for 250 steps), in the
                       same head batch as the singles. This is CLIP's loss with each caption reduced to its
                       concept. One or more runs (config.clip_runs), each continuing the last.
  phase 2  clip-text   the text tower learns where the frozen image tower puts each concept (LiT with the towers'
                       roles swapped), see train_text.
  phase 3  clip-align  (optional) phase 1's loss with the prototypes replaced by the frozen text tower's
                       embeddings of each concept's prompts, so image embeddings land where the text tower puts
                       the names (LiT: locked text).
  RPN      rpn         class-agnostic, on base boxes only, with torchvision's RegionProposalNetwork losses.

Every phase seeds its own streams from --seed (phase 1 +0, RPN +1, phase 2 +2, phase 3 +3 and +4), so a phase
gives the same result whether it runs alone or in --stage all, and runs through loop.run_steps, which writes
the phase's model file and its state file (checkpoint.py) for --resume.
"""
import math
import os
import random
import time
from argparse import Namespace
from collections import OrderedDict

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.detection.image_list import ImageList

from . import checkpoint, losses
from .config import ConfigError, clip_runs, recipe
from .data import (DETECT, augment_singles, canonical_prompts, log, normalize, region_batch, rpn_batch,
                   text_prompts)
from .loop import cosine_schedule, optimizer_step, run_steps
from .models import build, build_rpn, build_text, full_image_rois


def seed_all(seed):
    random.seed(seed)
    torch.manual_seed(seed)


# ---------------------------------------------------------------- phases 1 and 3: the image tower
def image_checkpoint(m, prototypes, logit_scale, concept_ids, step):
    """clip-image.pt: the tower, the prototypes, the logit scale (clamped exp) and phase 1's steps in all."""
    return {"backbone": m["backbone"].state_dict(), "head": m["head"].state_dict(), "concept_ids": concept_ids,
            "logit_scale": float(logit_scale.exp().clamp(max=100)), "step": step, "prototypes": prototypes.detach().clone()}


def _image_tower(opts, p, world, init=None, init_label=None):
    """Phase 1's trained parts, freshly initialized (from the seed) or continuing `init` (a clip-image.pt dict:
    its weights, prototypes and logit scale; a new schedule; its step count carried on)."""
    seed_all(opts.seed)
    m = build(p)
    concept_ids = sorted(world.concepts) if world.concepts else sorted(world.cat_names)
    prototypes = nn.Parameter(torch.randn(len(concept_ids), p["embed_dim"]) * 0.1)
    logit_scale = nn.Parameter(torch.tensor(math.log(opts.init_scale)))
    done_before = 0
    if init is not None:
        if init["concept_ids"] != concept_ids:
            raise ConfigError(f"Expected a checkpoint of this world's concepts for {init_label} but received one of "
                              f"{len(init['concept_ids'])} other concepts.")
        m["backbone"].load_state_dict(init["backbone"])
        m["head"].load_state_dict(init["head"])
        with torch.no_grad():
            prototypes.copy_(init["prototypes"])
            logit_scale.fill_(math.log(init["logit_scale"]))
        done_before = init["step"]
        log(f"phase 1 continues {init_label} (after {done_before} steps)")
    return m, concept_ids, prototypes, logit_scale, done_before


def resume_state(opts, stage, label):
    """The stage's recipe and, with --resume, its saved state; finished is True (and logged) when that
    state is a completed run."""
    rec = recipe(opts, stage)
    state = checkpoint.resumable(opts, stage, rec)
    finished = state is not None and state["step"] == state["steps"]
    if finished:
        log(f"{label}: {checkpoint.state_path(opts.work, stage)} is complete; nothing to resume")
    return rec, state, finished


def train_image(opts, p, world):
    """Phase 1 (--stage clip-image): every run of config.clip_runs; with --resume from its state file."""
    runs = clip_runs(opts)
    rec = recipe(opts, "clip-image")
    state = checkpoint.resumable(opts, "clip-image", rec)
    first, init, init_label = 0, None, None
    if state is None and opts.init:
        init, init_label = torch.load(opts.init, map_location="cpu"), opts.init
    elif state is not None and state["step"] == state["steps"]:  # a finished run
        if state["run"] == len(runs) - 1:
            log(f"phase 1: {checkpoint.state_path(opts.work, 'clip-image')} is complete; nothing to resume")
            return
        first, init, init_label = state["run"] + 1, _finished_run(opts, p, world, state), f"run {state['run'] + 1}"
        state = None
    elif state is not None:
        first = state["run"]
    for r in range(first, len(runs)):
        if r > 0 and state is None:
            log(f"phase 1 run {r + 1}/{len(runs)}: {runs[r]['clip_steps']} steps at lr {runs[r]['lr']:g}, regions from "
                f"{runs[r]['region_from']:g} of them")
        init = _image_run(Namespace(**{**vars(opts), **runs[r]}), p, world, r, rec, init, init_label, state)
        init_label, state = f"run {r + 1}", None


def _finished_run(opts, p, world, state):
    """The clip-image.pt dict at the end of the run a state file finished (what the next run continues)."""
    m, concept_ids, prototypes, logit_scale, _ = _image_tower(opts, p, world)
    checkpoint.load_parts(dict(backbone=m["backbone"], head=m["head"], prototypes=prototypes, logit_scale=logit_scale),
                          state["parts"])
    return image_checkpoint(m, prototypes, logit_scale, concept_ids, state["done_before"] + state["step"])


def _image_run(opts, p, world, run, rec, init, init_label, state):
    """One run of phase 1; returns its last clip-image.pt dict (what the next run continues)."""
    if state is not None:
        m, concept_ids, prototypes, logit_scale, _ = _image_tower(opts, p, world)
        done_before = state["done_before"]
        log(f"phase 1 resumes {checkpoint.state_path(opts.work, 'clip-image')} at step {state['step']} of run {run + 1}")
    else:
        m, concept_ids, prototypes, logit_scale, done_before = _image_tower(opts, p, world, init, init_label)
    parts = dict(backbone=m["backbone"], head=m["head"], prototypes=prototypes, logit_scale=logit_scale)
    saved = {}

    def save(n, opt, sched, rng, gen):
        saved["ck"] = image_checkpoint(m, prototypes, logit_scale, concept_ids, done_before + n)
        checkpoint.save(saved["ck"], os.path.join(opts.work, "clip-image.pt"))
        checkpoint.save(checkpoint.training_state("clip-image", rec, n, opts.clip_steps, parts, opt, sched, rng, gen,
                                                  run=run, done_before=done_before),
                        checkpoint.state_path(opts.work, "clip-image"))

    t0 = _clip_loop(opts, world, m, concept_ids, parts, lambda gen: F.normalize(prototypes, dim=-1), "image", save,
                    state, done_before)
    log(f"clip (image) done in {time.time() - t0:.0f}s ({done_before + opts.clip_steps} phase-1 steps in all)")
    return saved["ck"]


def _clip_loop(opts, world, m, concept_ids, parts, concepts_fn, phase, save, state, counted):
    """The loop of phases 1 and 3 (phase "image" / "align"): trains parts (backbone, head, [prototypes,]
    logit_scale) against concepts_fn(gen) [C, D] with the phase's lr, steps and region_from."""
    params = list(m["vision"].parameters()) + [parts[k] for k in ("prototypes", "logit_scale") if k in parts]
    logit_scale = parts["logit_scale"]
    lr, steps, region_from = ((opts.lr, opts.clip_steps, opts.region_from) if phase == "image"
                              else (opts.align_lr, opts.align_steps, 0.0))
    index = {c: i for i, c in enumerate(concept_ids)}
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    sched = cosine_schedule(opt, steps)
    singles, single_cids = world.load_singles()
    single_labels = torch.tensor([index[c] for c in single_cids])
    scenes = world.load_scenes(opts.scene_size) if opts.region_scenes > 0 else None
    scene_ids = [c["id"] for c in world.captions]
    boxed = [i for i, sid in enumerate(scene_ids) if sid in world.boxes]
    rng = random.Random(opts.seed)
    gen = torch.Generator().manual_seed(opts.seed)
    if state is not None:
        checkpoint.restore(state, parts, opt, sched, rng, gen)
    backbone, head = m["backbone"], m["head"]
    m["vision"].train()

    def step_fn(step):
        idx = torch.randint(0, len(singles), (opts.clip_batch,), generator=gen)
        scale = logit_scale.exp().clamp(max=100)
        concepts = concepts_fn(gen)
        # one head batch for singles and regions: the head's BatchNorms see both kinds (regions alone are a
        # handful per step; their own batch statistics held the region loss at chance)
        roi_feats = [full_image_rois(backbone(augment_singles(singles[idx], opts.single_sizes, gen, rng)))]
        region_labels = None
        if scenes is not None and boxed and step >= region_from * steps:
            xs, rois, rc = region_batch(world, scenes, scene_ids, boxed, opts.region_scenes, opts.scene_size, gen)
            if len(rois):
                roi_feats.append(torchvision.ops.roi_align(backbone(xs), rois, (14, 14), 1 / 16, 0, True))
                region_labels = torch.tensor([index[c] for c in rc])
        embeds = F.normalize(head(torch.cat(roi_feats)), dim=-1)
        loss, loss_s, loss_r, logits = losses.concept_nce(embeds, len(idx), concepts, scale, single_labels[idx],
                                                          region_labels, opts.region_weight)
        optimizer_step(opt, sched, loss, params, 5.0)
        acc = lambda: (logits.argmax(1) == single_labels[idx]).float().mean().item()  # noqa: E731
        return lambda prog: (f"loss {loss.item():.3f} (singles {loss_s.item():.3f} regions {loss_r.item():.3f}) "
                             f"batch top-1 {acc():.2f} scale {scale.item():.1f} {prog}")

    start = state["step"] if state is not None else 0
    return run_steps("clip", steps, start, step_fn, lambda n: save(n, opt, sched, rng, gen), opts, counted)


def train_align(opts, p, world, tok, templates):
    """Phase 3 (--stage clip-align, --align-steps): phase 1's loss against a frozen bank of --align-variants
    text embeddings per concept ("a photo of a {name}." and template/synonym variants; one drawn per step)."""
    rec, state, finished = resume_state(opts, "clip-align", "phase 3")
    if finished:
        return
    seed_all(opts.seed + 3)
    m = build(p)
    ck = torch.load(os.path.join(opts.work, "clip.pt"), map_location="cpu")
    m["backbone"].load_state_dict(ck["backbone"])
    m["head"].load_state_dict(ck["head"])
    bank, concept_ids = _text_bank(opts, p, world, tok, templates, ck)
    logit_scale = nn.Parameter(torch.tensor(math.log(ck["logit_scale"])))
    V, C = bank.shape[0], bank.shape[1]
    parts = dict(backbone=m["backbone"], head=m["head"], logit_scale=logit_scale)

    def save(n, opt, sched, rng, gen):
        step = {"backbone": m["backbone"].state_dict(), "head": m["head"].state_dict(), "concept_ids": concept_ids,
                "logit_scale": float(logit_scale.exp().clamp(max=100)), "step": n}
        checkpoint.save({**ck, **step, "steps": {**ck["steps"], "align": n}}, os.path.join(opts.work, "clip.pt"))
        checkpoint.save(checkpoint.training_state("clip-align", rec, n, opts.align_steps, parts, opt, sched, rng, gen),
                        checkpoint.state_path(opts.work, "clip-align"))

    if state is not None:
        log(f"phase 3 resumes {checkpoint.state_path(opts.work, 'clip-align')} at step {state['step']}")
    concepts_fn = lambda gen: bank[torch.randint(0, V, (C,), generator=gen), torch.arange(C)]  # noqa: E731
    t0 = _clip_loop(opts, world, m, concept_ids, parts, concepts_fn, "align", save, state, 0)
    log(f"clip (align) done in {time.time() - t0:.0f}s")


def _text_bank(opts, p, world, tok, templates, ck):
    """Phase 3's frozen targets: [variant, concept, D] normalized text embeddings, and the concept ids."""
    text = build_text(p, len(tok.encoder))
    text.load_state_dict(ck["text"])
    text.eval()
    concept_ids = ck["concept_ids"]
    brng = random.Random(opts.seed + 4)
    V = opts.align_variants
    prompts = canonical_prompts(world, concept_ids, templates)
    for _ in range(V - 1):
        prompts += text_prompts(world, concept_ids, templates, brng, opts.template_mix, opts.synonym_mix)
    with torch.no_grad():
        bank = torch.cat([F.normalize(text.forward_trimmed(tok(prompts[i:i + 512])), dim=-1) for i in range(0, len(prompts), 512)])
    log(f"align: text bank of {V} prompts x {len(concept_ids)} concepts")
    return bank.reshape(V, len(concept_ids), -1), concept_ids


# ---------------------------------------------------------------- phase 2: the text tower
def _text_targets(opts, p, world, ck):
    """Each concept's target: the normalized mean eval-mode embedding of its training singles (--text-targets
    centroids; a concept without singles keeps its prototype) or phase 1's prototypes; and the singles'
    embeddings [N, D], concept indices [N] and rows per concept."""
    index = {c: i for i, c in enumerate(ck["concept_ids"])}
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
    by_concept = [[] for _ in ck["concept_ids"]]
    for i, k in enumerate(single_labels.tolist()):
        by_concept[k].append(i)
    if opts.text_targets == "centroids":
        for k, rows in enumerate(by_concept):
            if rows:
                targets[k] = F.normalize(single_embeds[rows].mean(dim=0), dim=-1)
    proto_top1 = ((single_embeds @ targets.t()).argmax(1) == single_labels).float().mean().item()
    log(f"embedded {len(singles)} training singles in {time.time() - t0:.0f}s; their top-1 against the {opts.text_targets}: {proto_top1:.3f}")
    return targets, single_embeds, single_labels, by_concept


def train_text(opts, p, world, tok, templates):
    """Phase 2 (--stage clip-text, --text-steps): per step --text-batch concepts, one prompt each (names,
    synonyms, the 81 templates), trained onto their targets (losses.text_to_targets) with --text-images
    embedded singles per concept against the batch's prompts (the classification the model is used for)."""
    rec, state, finished = resume_state(opts, "clip-text", "phase 2")
    if finished:
        return
    seed_all(opts.seed + 2)
    ck = torch.load(os.path.join(opts.work, "clip-image.pt"), map_location="cpu")
    concept_ids, scale = ck["concept_ids"], ck["logit_scale"]
    targets, single_embeds, single_labels, by_concept = _text_targets(opts, p, world, ck)
    text = build_text(p, len(tok.encoder))
    opt = torch.optim.AdamW(text.parameters(), lr=opts.text_lr, weight_decay=0.05)
    steps = opts.text_steps
    sched = cosine_schedule(opt, steps)
    rng = random.Random(opts.seed + 2)
    gen = torch.Generator().manual_seed(opts.seed + 2)
    canonical = tok(canonical_prompts(world, concept_ids, templates))
    probe = torch.randperm(len(single_embeds), generator=gen)[:3000]
    if state is not None:
        checkpoint.restore(state, dict(text=text), opt, sched, rng, gen)
        log(f"phase 2 resumes {checkpoint.state_path(opts.work, 'clip-text')} at step {state['step']}")
    text.train()

    def probe_top1():
        """Top-1 of probe singles against "a photo of a {name}." of every concept."""
        text.eval()
        with torch.no_grad():
            names = F.normalize(text.forward_trimmed(canonical), dim=-1)
        text.train()
        return ((single_embeds[probe] @ names.t()).argmax(1) == single_labels[probe]).float().mean().item()

    def step_fn(step):
        idx = torch.randperm(len(concept_ids), generator=gen)[:opts.text_batch]
        prompts = text_prompts(world, [concept_ids[i] for i in idx.tolist()], templates, rng, opts.template_mix, opts.synonym_mix)
        txt = F.normalize(text.forward_trimmed(tok(prompts)), dim=-1)
        rows, labels = [], []
        for j, k in enumerate(idx.tolist()):
            for _ in range(opts.text_images if by_concept[k] else 0):
                rows.append(by_concept[k][int(torch.randint(0, len(by_concept[k]), (1,), generator=gen))])
                labels.append(j)
        loss, align = losses.text_to_targets(txt, targets, idx, scale, opts.text_align, single_embeds[rows], labels)
        optimizer_step(opt, sched, loss, text.parameters(), 5.0)
        probe_now = step % (opts.log_every * 4) == 0 or step == steps - 1
        return lambda prog: (f"loss {loss.item():.3f} (1 - cosine to own target {align.item():.3f}) {prog}" + (
            f" (training singles vs \"a photo of a {{name}}.\": top-1 {probe_top1():.3f})" if probe_now else ""))

    def save(n):
        checkpoint.save({"backbone": ck["backbone"], "head": ck["head"], "text": text.state_dict(), "logit_scale": scale,
                         "concept_ids": concept_ids, "steps": {"image": ck["step"], "text": n},
                         "worlds": {"clip": opts.world_desc}}, os.path.join(opts.work, "clip.pt"))
        checkpoint.save(checkpoint.training_state("clip-text", rec, n, steps, dict(text=text), opt, sched, rng, gen),
                        checkpoint.state_path(opts.work, "clip-text"))

    t0 = run_steps("text", steps, state["step"] if state else 0, step_fn, save, opts)
    log(f"clip (text tower) done in {time.time() - t0:.0f}s")


# ---------------------------------------------------------------- RPN
def train_rpn(opts, p, world):
    """The RPN (--stage rpn, --rpn-steps): --rpn-batch scenes per step at the detector's short edge, mirrored
    half the time, against their base boxes."""
    rec, state, finished = resume_state(opts, "rpn", "rpn")
    if finished:
        return
    seed_all(opts.seed + 1)
    trunk, rpn = build_rpn(p)
    params = list(trunk.parameters()) + list(rpn.parameters())
    opt = torch.optim.AdamW(params, lr=opts.rpn_lr, weight_decay=1e-4)
    steps = opts.rpn_steps
    sched = cosine_schedule(opt, steps)
    size = DETECT["shortEdge"]
    scenes = world.load_scenes(size)
    scene_ids = [c["id"] for c in world.captions]
    gen = torch.Generator().manual_seed(opts.seed + 1)
    parts = dict(trunk=trunk, rpn=rpn)
    if state is not None:
        checkpoint.restore(state, parts, opt, sched, None, gen)
        log(f"rpn resumes {checkpoint.state_path(opts.work, 'rpn')} at step {state['step']}")
    trunk.train()
    rpn.train()

    def step_fn(step):
        x, targets = rpn_batch(world, scenes, scene_ids, opts.rpn_batch, size, gen)
        feats = OrderedDict((str(i), f) for i, f in enumerate(trunk(x)))
        _, parts_loss = rpn(ImageList(x, [(size, size)] * len(x)), feats, targets)
        optimizer_step(opt, sched, losses.rpn_loss(parts_loss), params, 10.0)
        return lambda prog: (f"objectness {parts_loss['loss_objectness'].item():.4f} "
                             f"box {parts_loss['loss_rpn_box_reg'].item():.4f} {prog}")

    def save(n):
        checkpoint.save({"trunk": trunk.state_dict(), "head": rpn.head.state_dict(), "steps": n}, os.path.join(opts.work, "rpn.pt"))
        checkpoint.save(checkpoint.training_state("rpn", rec, n, steps, parts, opt, sched, None, gen),
                        checkpoint.state_path(opts.work, "rpn"))

    t0 = run_steps("rpn", steps, state["step"] if state else 0, step_fn, save, opts)
    log(f"rpn done in {time.time() - t0:.0f}s")
