"""The (B) stage's inputs read from disk once, in a compact form: the concept pool and the pseudo-labels that
`regionclip mine --rule regionclip` wrote (README "Mining pseudo-labels"), the real CLI's output, never a
re-implementation of its rule.

A mine record is one JSON line {"image", "width", "height", "labels": [{"box": [x1, y1, x2, y2], "concept",
"score", ...}], ...}: "image" is the path as mined (relative to the captions' folder, as the world's
captions.jsonl writes it), boxes are in original-image pixels. Glossary: L labels, C concepts.
"""
import json
import os
from collections import namedtuple

import torch

from .config import ConfigError, expected

# boxes: {scene index: float32 [L, 4] XYXY in the world's scene pixels}; concepts: {scene index: int64 [L] pool
# indices}; scores: {scene index: float32 [L]}; scenes: the scene indices with at least one label, in order.
PseudoLabels = namedtuple("PseudoLabels", "boxes concepts scores scenes count")


def read_pool(path):
    """A concept pool file (one name a line; blank lines and repeats dropped, as `regionclip mine --concepts`
    reads it): the names in order."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise expected("a readable concept pool (one name a line)", "--concepts", f"{type(e).__name__}: {e}") from e
    names = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if not names:
        raise expected("at least one concept name (one a line)", f"--concepts {path}", "an empty file")
    return names


def world_pool(world):
    """The world's concept names in id order (the exported model's concepts.txt, mine's default pool)."""
    return [world.concepts[cid]["name"] for cid in sorted(world.concepts)]


def read_pseudo_labels(path, world, pool, skip_unknown=False, outside_pool="error", flag="--labels"):
    """The labels of `path` (a `regionclip mine` JSONL) on the world's scenes, matched by image path, boxes
    scaled from each record's width/height to the world's scene size. A label whose concept is not in `pool`
    (the --concepts the labels were mined with) is an error, or left out and counted when outside_pool is
    "skip" (the caption rule's labels of phrases outside the pool). A record of an image that is not one of the
    world's scenes is an error, or skipped when skip_unknown (the world is limited by --limit-scenes).
    Errors name `flag`, the option that gave the file. Returns (PseudoLabels, records skipped, labels outside the
    pool left out)."""
    index = {name: i for i, name in enumerate(pool)}
    scene_of = {os.path.normpath(c["image"]): i for i, c in enumerate(world.captions)}
    boxes, concepts, scores = {}, {}, {}
    skipped = count = outside = 0
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise expected("a readable `regionclip mine` JSONL", flag, f"{type(e).__name__}: {e}") from e
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"line {n} of {path}"
            try:
                rec = json.loads(line)
                image, width, height, labels = rec["image"], rec["width"], rec["height"], rec["labels"]
            except (ValueError, KeyError, TypeError) as e:
                raise expected('a `regionclip mine` record ({"image", "width", "height", "labels", ...})', where,
                               f"{type(e).__name__}: {e}") from e
            scene = scene_of.get(os.path.normpath(image))
            if scene is None:
                if skip_unknown:
                    skipped += 1
                    continue
                raise expected(f"an image of the world's captions.jsonl ({world.root})", where, json.dumps(image))
            rows, cids, scs = [], [], []
            for k, label in enumerate(labels):
                try:
                    box, concept, score = label["box"], label["concept"], float(label["score"])
                except (KeyError, TypeError, ValueError) as e:
                    raise expected('a label {"box", "concept", "score", ...}', f"labels[{k}] on {where}",
                                   f"{type(e).__name__}: {e}") from e
                if concept not in index:
                    if outside_pool == "skip":
                        outside += 1
                        continue
                    raise expected("a concept of the pool (--concepts: mine's pool; --pretrain-outside-pool skip "
                                   "leaves such labels out, e.g. the caption rule's backdrop phrases)",
                                   f"labels[{k}] on {where}", json.dumps(concept))
                sx, sy = world.size / width, world.size / height
                rows.append([box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy])
                cids.append(index[concept])
                scs.append(score)
            if rows:
                if scene in boxes:
                    raise expected("one record per scene", where, f"a second record of {json.dumps(image)}")
                boxes[scene] = torch.tensor(rows, dtype=torch.float32)
                concepts[scene] = torch.tensor(cids, dtype=torch.int64)
                scores[scene] = torch.tensor(scs, dtype=torch.float32)
                count += len(rows)
    if count == 0:
        raise ConfigError(f"Expected at least one pseudo-label for {flag} but received none in {path}"
                          + (f" ({outside} outside the pool left out)." if outside else "."))
    return PseudoLabels(boxes, concepts, scores, sorted(boxes), count), skipped, outside
