"""Where a detector's AP50 goes: its false positives by kind, and AP50 with each kind left out (the error
analysis of Hoiem et al. and COCO's analyze(), at IoU 0.5 only, every area).

Run: /usr/bin/python3 bench/ap_errors.py GT_COCO RESULTS SPLIT [--all-objects GT_ALL]
  GT_COCO      the evaluated ground truth (a world's gt-coco65.json)
  RESULTS      COCO results (`regionclip detect --coco`, ids from --coco-gt GT_COCO)
  SPLIT        {"novel": [names], "base": [names]} (a world's split.json)
  --all-objects the world's gt.json (every object, every concept): splits the background false positives into
               those on objects the evaluation does not name and those on nothing

Each class's detections, best first, are matched greedily to its unmatched GT boxes (IoU >= 0.5), as COCOeval
matches them. A detection that matches none is:
  Dup  IoU >= 0.5 with a GT box of its class already matched (a duplicate)
  Loc  0.1 <= IoU < 0.5 with a GT box of its class (a poor box)
  Cls  IoU >= 0.1 with a GT box of another evaluated class (confused with it)
  Bkg  the rest (with --all-objects: Bkg-object if it overlaps an object of the world with IoU >= 0.1, else
       Bkg-nothing)
AP50 is the 101-point interpolated AP of pycocotools (no crowd boxes, every area, no cap on detections per image:
`regionclip detect` keeps at most 100 already), averaged over the classes of a split with GT; detections on images
that are not in GT_COCO are ignored, as COCOeval ignores them. "Without X" removes the detections of kind X before
computing it, so its rise is what X costs. (COCO's analyze() instead re-scores Loc at IoU 0.1, turning poor boxes
into true positives; here they are only removed, so "without Loc" rises less.) The counts are of the false positives
ranked above each class's median true positive (the lower of two), what the ranking gets wrong first.
"""
import argparse
import json

import numpy as np


def xyxy(b):
    return np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]], float)


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ap101(is_tp, npos):
    """pycocotools' AP: precision made monotone, read at 101 recall points (0 past the last recall)."""
    tp = np.cumsum(np.array(is_tp, float))
    fp = np.cumsum(1.0 - np.array(is_tp, float))
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, np.finfo(float).eps)
    for i in range(len(prec) - 2, -1, -1):
        prec[i] = max(prec[i], prec[i + 1])
    idx = np.searchsorted(rec, np.linspace(0, 1, 101), side="left")
    return float(np.mean([prec[i] if i < len(prec) else 0.0 for i in idx]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gt")
    ap.add_argument("results")
    ap.add_argument("split")
    ap.add_argument("--all-objects")
    args = ap.parse_args()
    gt = json.load(open(args.gt))
    dets = json.load(open(args.results))
    split = json.load(open(args.split))
    names = {c["id"]: c["name"] for c in gt["categories"]}
    boxes = {}
    for a in gt["annotations"]:
        boxes.setdefault(a["image_id"], []).append((a["category_id"], xyxy(a["bbox"])))
    world = None
    if args.all_objects:
        everything = json.load(open(args.all_objects))
        file_of = {i["id"]: i["file_name"] for i in gt["images"]}
        id_in_world = {i["file_name"]: i["id"] for i in everything["images"]}
        by_world_image = {}
        for a in everything["annotations"]:
            by_world_image.setdefault(a["image_id"], []).append(xyxy(a["bbox"]))
        missing = sorted(f for f in file_of.values() if f not in id_in_world)
        if missing:
            raise SystemExit(f"ap_errors.py: expected every image of {args.gt} in {args.all_objects} (matched by file_name) "
                             f"but {len(missing)} are not, e.g. {missing[0]}")
        world = {i: by_world_image.get(id_in_world[f], []) for i, f in file_of.items()}
    evaluated = {i["id"] for i in gt["images"]}
    by_class = {}
    for d in dets:
        if d["image_id"] in evaluated:
            by_class.setdefault(d["category_id"], []).append(d)
    kinds = {}
    for cid in names:
        matched, labels = set(), []
        for d in sorted(by_class.get(cid, []), key=lambda d: -d["score"]):
            b, im = xyxy(d["bbox"]), d["image_id"]
            overlaps = [(j, c, iou(b, g)) for j, (c, g) in enumerate(boxes.get(im, []))]  # each GT box once
            best, best_j = max(((v, j) for j, c, v in overlaps if c == cid and (im, j) not in matched), default=(0.0, None))
            if best >= 0.5:
                matched.add((im, best_j))
                labels.append("TP")
                continue
            same = max((v for _, c, v in overlaps if c == cid), default=0.0)
            if same >= 0.5:
                labels.append("Dup")
            elif same >= 0.1:
                labels.append("Loc")
            elif max((v for _, c, v in overlaps if c != cid), default=0.0) >= 0.1:
                labels.append("Cls")
            elif world is not None:
                labels.append("Bkg-object" if max((iou(b, g) for g in world.get(im, [])), default=0.0) >= 0.1 else "Bkg-nothing")
            else:
                labels.append("Bkg")
        npos = sum(1 for im in boxes.values() for c, _ in im if c == cid)
        kinds[names[cid]] = (labels, npos)
    errors = ["Dup", "Loc", "Cls"] + (["Bkg-object", "Bkg-nothing"] if world is not None else ["Bkg"])
    for part in ("novel", "base"):
        scored = [n for n in split[part] if n in kinds and kinds[n][1] > 0]
        row = {}
        for drop in [None] + errors:
            row[drop] = np.mean([ap101([l == "TP" for l in kinds[n][0] if l != drop], kinds[n][1]) for n in scored])
        print(f"{part} ({len(scored)} classes with GT): AP50 {row[None]:.3f}; without "
              + ", ".join(f"{e} {row[e]:.3f}" for e in errors))
        count = {}
        for n in scored:
            labels = kinds[n][0]
            tps = [i for i, l in enumerate(labels) if l == "TP"]
            if tps:
                for l in labels[:tps[(len(tps) - 1) // 2]]:
                    if l != "TP":
                        count[l] = count.get(l, 0) + 1
        print(f"  false positives above each class's median true positive: "
              + ", ".join(f"{e} {count.get(e, 0)}" for e in errors))


if __name__ == "__main__":
    main()
