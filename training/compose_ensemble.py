"""Give a detector folder ViLD's ensemble partner: a second features-mode region encoder (offline tooling, no torch):

    /usr/bin/python3 training/compose_ensemble.py --detector /tmp/wt/model-c --partner /tmp/wt/model-b \\
        --base-classes base-classes.txt --out /tmp/wt/model-cb
    node dist/cli/main.js detect photo.jpg --model /tmp/wt/model-cb --vocab "cat,dog"

ViLD (Gu et al. 2022, "ViLD-ensemble") combines a detector's label probability p with a second region classifier's q
on the same box, p^(1-λ) * q^λ, λ = 1/3 for the detector's base classes and 2/3 for every other label; F-VLM's
ensemble has the same form. Here the detector is RegionCLIP's transfer (C) (box-trained on base classes, with a
background) and the partner its region-text pretraining (B) (no box supervision), or any two features-mode exports
that share the text tower. --out gets every file of --detector (hard-linked, copied across file systems), the
partner's backbone and head (and their int8 variants, when it has them) as ensemble_backbone*.onnx and
ensemble_head*.onnx, the base class names as base-classes.txt, and a manifest with `regionEnsemble` and
`graphs.ensembleBackbone` / `graphs.ensembleHead` (src/models/manifest.ts), every file with its sha256.

Refused, with every reason at once: a folder that is not a features-mode detector, a partner whose text tower
differs from the detector's (both score the same phrase embeddings), or whose embedding size, detector resize or
RoIAlign settings differ (the partner pools with the detector's settings), a partner that is itself an ensemble or
has a trained background (its q has none), graph files without a recorded sha256, a missing or empty base-class
file, weights outside [0, 1], and an --out that exists and is not empty.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from file_hash import place, sha256  # noqa: E402

EXIT_CONVERSION = 5
# regionEncoder keys the partner must share with the detector (its regions are pooled with the detector's settings).
POOLING_KEYS = ("input", "spatialScale", "outputSize", "samplingRatio", "aligned", "sizeDivisibility")


class ComposeError(Exception):
    pass


def read_manifest(folder, flag):
    path = os.path.join(folder, "manifest.json")
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ComposeError(f"{flag} {folder}: no manifest.json") from None
    except json.JSONDecodeError as error:
        raise ComposeError(f"{flag} {path}: not JSON ({error})") from None


def read_names(path, problems):
    try:
        with open(path, encoding="utf-8") as f:
            names = list(dict.fromkeys(line.strip() for line in f if line.strip()))
    except FileNotFoundError:
        problems.append(f"--base-classes {path}: no such file")
        return []
    if not names:
        problems.append(f"--base-classes {path}: no class names (one a line)")
    return names


def trained_background(folder, m):
    """Whether the folder's scoring.backgroundEmbed holds a non-zero vector (RegionCLIP's converted zero one does not count)."""
    name = m.get("scoring", {}).get("backgroundEmbed")
    if not name or not os.path.exists(os.path.join(folder, name)):
        return False
    with open(os.path.join(folder, name), "rb") as f:
        return any(f.read())


def problems_of(detector, partner, weights):
    """Every reason the two folders cannot be combined, as one list."""
    out = []
    for flag, m in (("--detector", detector), ("--partner", partner)):
        if m.get("kind") != "detector" or m.get("regionEncoder", {}).get("mode") != "features":
            out.append(f"{flag}: expected a features-mode detector (kind \"detector\", regionEncoder.mode \"features\")")
    if out:
        return out
    if "regionEnsemble" in partner:
        out.append("--partner: it is itself an ensemble (give the plain export)")
    if "regionEnsemble" in detector:
        out.append("--detector: it has an ensemble already (give the plain export)")
    backbone_outputs = [t["name"] for t in partner["graphs"].get("backbone", {}).get("outputs", [])]
    if partner["regionEncoder"].get("featureOutput") not in backbone_outputs:
        out.append(f"--partner: regionEncoder.featureOutput {partner['regionEncoder'].get('featureOutput')!r} is not one of graphs.backbone's outputs {backbone_outputs}")
    for role in ("backbone", "head"):
        graph = partner["graphs"].get(role, {})
        for file in [graph.get("file")] + list(graph.get("variants", {}).values()):
            if file not in partner.get("files", {}):
                out.append(f"--partner: {file} (graphs.{role}) has no sha256 in its manifest's files")
    if detector.get("embedDim") != partner.get("embedDim"):
        out.append(f"embedDim: detector {detector.get('embedDim')}, partner {partner.get('embedDim')}")
    text = [m["files"].get(m["graphs"]["text"]["file"], {}).get("sha256") for m in (detector, partner)]
    if text[0] is None or text[0] != text[1]:
        out.append(f"text tower: the partner's ({text[1]}) is not the detector's ({text[0]}); both must score the same phrase embeddings")
    if detector.get("image") != partner.get("image"):
        out.append(f"image: detector {json.dumps(detector.get('image'))}, partner {json.dumps(partner.get('image'))}")
    for key in POOLING_KEYS:
        a, b = detector["regionEncoder"].get(key), partner["regionEncoder"].get(key)
        if a != b:
            out.append(f"regionEncoder.{key}: detector {json.dumps(a)}, partner {json.dumps(b)}")
    for name, w in weights.items():
        if not 0 <= w <= 1:
            out.append(f"--{name}-weight: {w} is outside [0, 1]")
    return out


def renamed(file, role):
    """backbone.onnx -> ensemble_backbone.onnx, backbone.int8.onnx -> ensemble_backbone.int8.onnx."""
    base = os.path.basename(file)
    if base.startswith("ensemble_"):
        return base
    return f"ensemble_{base}" if base.startswith(role) else f"ensemble_{role}_{base}"


def compose(args):
    detector = read_manifest(args.detector, "--detector")
    partner = read_manifest(args.partner, "--partner")
    weights = {"base": args.base_weight, "novel": args.novel_weight}
    problems = problems_of(detector, partner, weights)
    if partner.get("kind") == "detector" and trained_background(args.partner, partner):
        problems.append("--partner: it has a trained background (scoring.backgroundEmbed), which the ensemble would drop "
                        "(its q is a softmax over the labels and distractors): give a partner without one, e.g. a (B) export")
    names = read_names(args.base_classes, problems)
    if os.path.exists(args.out) and (not os.path.isdir(args.out) or os.listdir(args.out)):
        problems.append(f"--out {args.out}: exists and is not an empty folder (give a new one)")
    if problems:
        raise ComposeError(f"cannot combine {args.detector} with {args.partner}: {len(problems)} problem(s): " + "; ".join(problems))
    os.makedirs(args.out, exist_ok=True)
    for file in detector["files"]:
        place(os.path.join(args.detector, file), os.path.join(args.out, file))
    for extra in ("NOTICE", "LICENSE"):
        if os.path.exists(os.path.join(args.detector, extra)):
            place(os.path.join(args.detector, extra), os.path.join(args.out, extra))
    out = json.loads(json.dumps(detector))
    files = out["files"]
    for role, key in (("backbone", "ensembleBackbone"), ("head", "ensembleHead")):
        graph = json.loads(json.dumps(partner["graphs"][role]))
        moved = {graph["file"]: renamed(graph["file"], role)}
        for variant in graph.get("variants", {}).values():
            moved[variant] = renamed(variant, role)
        for src, dst in moved.items():
            place(os.path.join(args.partner, src), os.path.join(args.out, dst))
            entry = dict(partner["files"][src])
            if "derivedFrom" in entry:
                entry["derivedFrom"] = {"file": moved[entry["derivedFrom"]["file"]], "sha256": entry["derivedFrom"]["sha256"]}
            if sha256(os.path.join(args.out, dst)) != entry["sha256"]:
                raise ComposeError(f"--partner {src}: its sha256 is not the one its manifest records")
            files[dst] = entry
        graph["file"] = moved[graph["file"]]
        if "variants" in graph:
            graph["variants"] = {d: moved[f] for d, f in graph["variants"].items()}
        out["graphs"][key] = graph
    with open(os.path.join(args.out, "base-classes.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    files["base-classes.txt"] = {"sha256": sha256(os.path.join(args.out, "base-classes.txt"))}
    out["regionEnsemble"] = {
        "featureOutput": partner["regionEncoder"]["featureOutput"],
        "temperature": partner.get("scoring", {}).get("temperature", 0.01),
        "weights": weights,
        "baseClasses": "base-classes.txt",
    }
    out["name"] = args.name or detector["name"]
    out["description"] = (f"{detector.get('description', '')} ViLD's ensemble: each detection's label probability p joined with "
                          f"q, that of the region encoder of {partner['name']} (--partner), as p^(1-λ) * q^λ, λ {weights['base']:.3f} "
                          f"for the {len(names)} base classes, {weights['novel']:.3f} for every other label.")
    out["files"] = files
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    return out, names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detector", required=True, help="the detector folder (e.g. a transfer (C) export)")
    ap.add_argument("--partner", required=True, help="the folder whose backbone and head become the ensemble partner (e.g. a (B) export)")
    ap.add_argument("--base-classes", required=True, help="the detector's base classes (box-trained), one name a line")
    ap.add_argument("--out", required=True, help="output folder (a new folder; files are hard-linked)")
    ap.add_argument("--name", help="model name in the manifest (default: the detector's)")
    ap.add_argument("--base-weight", type=float, default=1 / 3, help="λ for base classes (ViLD: 1/3)")
    ap.add_argument("--novel-weight", type=float, default=2 / 3, help="λ for every other label (ViLD: 2/3)")
    args = ap.parse_args()
    try:
        out, names = compose(args)
    except ComposeError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_CONVERSION)
    print(f"{args.out}: {out['name']} with the ensemble partner from {args.partner} ({len(names)} base classes, "
          f"λ {args.base_weight:.3f} base / {args.novel_weight:.3f} novel), {len(out['files'])} files recorded in its manifest")


if __name__ == "__main__":
    main()
