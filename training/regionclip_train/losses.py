"""The training losses. Glossary: B single-object images, R regions, P prompts (one per concept of a phase-2
batch), C concepts, K base classes, D embedding dim; embeddings are L2-normalized before they get here (except
where a docstring says raw), `scale` is CLIP's learned logit scale (exp of the parameter, clamped at 100)."""
import torch
import torch.nn.functional as F


def concept_nce(embeds, n_singles, concepts, scale, single_labels, region_labels, region_weight):
    """Phases 1 and 3: InfoNCE of each image embedding against every concept's embedding (phase 1: learned
    prototypes; phase 3: the frozen text tower's prompts). embeds [B + R, D] (singles first, then regions),
    concepts [C, D], labels = concept indices. Returns (loss, singles' loss, regions' loss, singles' logits
    [B, C]); the region term, weighted by region_weight, is 0 when region_labels is None."""
    logits = scale * embeds[:n_singles] @ concepts.t()
    loss_s = F.cross_entropy(logits, single_labels)
    loss = loss_s
    loss_r = torch.zeros(())
    if region_labels is not None:
        loss_r = F.cross_entropy(scale * embeds[n_singles:] @ concepts.t(), region_labels)
        loss = loss + region_weight * loss_r
    return loss, loss_s, loss_r, logits


def text_to_targets(txt, targets, idx, scale, align_weight, image_embeds, image_labels):
    """Phase 2: txt [P, D] embeds the prompts of concepts idx [P] (indices into targets [C, D], the frozen image
    tower's concept centroids or prototypes). InfoNCE of the prompts against every target, + align_weight x
    (1 - cosine to the own target) (InfoNCE alone stops once a prompt is nearest its own target, at cosine
    ~0.5: too far off for images to find it), + InfoNCE of image_embeds [M, D] (embedded singles of the batch's
    concepts; image_labels [M] = their prompt's row) against the batch's prompts, when M > 0.
    Returns (loss, the mean 1 - cosine)."""
    align = (1 - (txt * targets[idx]).sum(dim=-1)).mean()
    loss = F.cross_entropy(scale * txt @ targets.t(), idx) + align_weight * align
    if len(image_labels):
        loss = loss + F.cross_entropy(scale * image_embeds @ txt.t(), torch.tensor(image_labels))
    return loss, align


def rpn_loss(losses):
    """torchvision's RegionProposalNetwork losses, summed unweighted."""
    return losses["loss_objectness"] + losses["loss_rpn_box_reg"]


def region_concept(student, teacher, pool, concept_labels, temperature):
    """(B), RegionCLIP's region-concept matching (PretrainFastRCNN.region_concept_matching) against the concept
    pool's frozen text embeddings pool [C, D]. student [R, D] / teacher [R, D]: the student's and the frozen
    teacher's embeddings of the same boxes, the pseudo-labelled ones first (concept_labels [L], pool indices;
    the others are random boxes). Returns (contrastive, distillation, student logits [R, C]):
    - contrastive: cross-entropy of each pseudo-labelled box over the pool to its mined concept (RegionCLIP
      contrasts the kept regions against each other's concept embeddings with a multi-positive loss; over the
      whole pool each box has its one positive);
    - distillation: KL(teacher || student) of the softmax over the pool at the same temperature (RegionCLIP's
      F.kl_div(log p_student, p_teacher, "batchmean"); the teacher's at s_temp 0.01 as well)."""
    logits = student @ pool.t() / temperature
    contrastive = F.cross_entropy(logits[:len(concept_labels)], concept_labels) if len(concept_labels) else logits.sum() * 0
    with torch.no_grad():
        target = F.softmax(teacher @ pool.t() / temperature, dim=1)
    distill = F.kl_div(F.log_softmax(logits, dim=1), target, reduction="batchmean")
    return contrastive, distill, logits


def image_text(embeds, pool, labels, temperature):
    """(B)'s image-text loss kept: single-object images embeds [B, D] against the pool's text embeddings [C, D],
    cross-entropy to their own concept labels [B] (RegionCLIP's image-text matching with each caption reduced
    to its concept's prompt, as phase 1 does)."""
    return F.cross_entropy(embeds @ pool.t() / temperature, labels)


def transfer(raw_embeds, deltas, class_embeds, background, labels, delta_targets, temperature, bg_weight):
    """(C), RegionCLIP's transfer (FastRCNNOutputLayers with clip_cls_emb, class-agnostic regression).
    raw_embeds [R, D] (the head's output before L2 normalization) and deltas [R, 4] of the sampled RoIs;
    class_embeds [K, D] the base classes' frozen text embeddings; background [D] the learned background
    embedding; labels [R] in 0..K (K: background); delta_targets [R, 4] the encoded boxes of the matched GT
    (used where labels < K). Returns (classification loss, box loss, logits [R, K + 1]):
    - classification: cosine(region, class) and cosine(region, background) / temperature, cross-entropy with
      weight bg_weight on the background class (BG_CLS_LOSS_WEIGHT). RegionCLIP's background column is a
      frozen zero embedding (a constant logit 0); here it is learned, and scored as the runtime scores it
      (a cosine, matching/scores.ts), so it can say "not here" by its direction;
    - box: smooth-L1 with beta 0 (detectron2's SMOOTH_L1_BETA: L1) of the foreground RoIs' deltas, summed and
      divided by all sampled RoIs (detectron2's box_reg_loss)."""
    x = F.normalize(raw_embeds, dim=-1)
    logits = torch.cat([x @ class_embeds.t(), x @ F.normalize(background, dim=0)[:, None]], dim=1) / temperature
    K = class_embeds.shape[0]
    weight = torch.ones(K + 1, device=logits.device)
    weight[K] = bg_weight
    cls = F.cross_entropy(logits, labels, weight=weight)
    fg = labels < K
    box = F.smooth_l1_loss(deltas[fg], delta_targets[fg], beta=0.0, reduction="sum") / max(1, len(labels))
    return cls, box, logits
