"""The training losses. Glossary: B single-object images, R regions, P prompts (one per concept of a phase-2
batch), C concepts, D embedding dim; embeddings are L2-normalized before they get here, `scale` is CLIP's
learned logit scale (exp of the parameter, clamped at 100)."""
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
