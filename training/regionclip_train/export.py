"""Export (--stage export): the trained checkpoints in --work as a regionclip detector folder: text_model.onnx,
vision_model.onnx, backbone.onnx, head.onnx, rpn.onnx (the signatures and per-graph export functions of
training/export_tiny_detector.py), vocab.json + merges.txt, NOTICE and a manifest.json with each file's sha256
(kind "detector", regionEncoder.mode "features"), and concepts.txt, the world's concept names in id order (the
manifest's scoring.conceptPool: `regionclip mine`'s default pool).

--export-from names the towers' checkpoint: clip (clip.pt, phases 1-3: (A), and the CLIP built-in model), pretrain
(pretrain.pt, (B)) or transfer (transfer.pt, (C)). A (C) model adds what RegionCLIP's transfer learns: the head
graph's second output box_deltas (regionEncoder.boxDeltas, weights 10, 10, 5, 5), background.bin (the
background embedding, D little-endian float32: scoring.backgroundEmbed) and its classifier's temperature
(scoring.temperature). The RPN is rpn.pt's in every case. The description names the world each stage trained on
where the checkpoint records it ("worlds": the CLIP phases', (B)'s and (C)'s --world), else the --world given here.

--vision-from (default: --export-from's checkpoint) names the checkpoint whose image tower the whole-image
vision_model graph (`classify`) is exported from, so a (C) detector can keep its CLIP towers for classification:
(C) fine-tunes the image tower on base boxes only, which costs it zero-shot top-1 on whole images (README "Built-in
model"); the built-in model is `--export-from transfer --vision-from clip`. The text tower is --export-from's:
detection scores against it."""
import json
import os
import struct

import torch

from export_tiny_clip import write_bpe_files
from export_tiny_detector import CLIP_MEAN, CLIP_STD, export_features, export_rpn, export_text, export_vision, sha256

from .data import CLIP_SIZE, DETECT, PIXEL_NORM, log
from .config import expected
from .models import ANCHORS, ANCHORS_PER_LOCATION, BoxHead, HeadWithDeltas, RpnGraph, build, build_rpn, build_text
from .region_phases import BOX_WEIGHTS

CHECKPOINTS = {"clip": "clip.pt", "pretrain": "pretrain.pt", "transfer": "transfer.pt", "rpn": "rpn.pt"}  # in --work
BACKGROUND_FILE = "background.bin"

NOTICE = ("regionclip built-in model (MIT). Weights were trained by training/train_world.py on images rendered from\n"
          "the icon sets and word lists listed in training/world/NOTICE (with their licences); the held-out\n"
          "twemoji style was not used for training.\n")


def _checkpoint(work, name, why):
    """The checkpoint CHECKPOINTS[name] of --work, on the CPU; why: the flag that asks for it, for the error."""
    path = os.path.join(work, CHECKPOINTS[name])
    if not os.path.exists(path):
        raise expected(f"a trained {os.path.basename(path)} to export ({why})", "--work", f"no {path}")
    return torch.load(path, map_location="cpu")


def _image_tower(p, ck):
    """The image tower modules (backbone, head, vision) of model preset p with checkpoint ck's weights."""
    m = build(p)
    m["backbone"].load_state_dict(ck["backbone"])
    m["head"].load_state_dict(ck["head"])
    return m


def load_trained(work, p, vocab_size, source="clip", vision_source=None):
    """(image tower modules, text tower, RPN graph, the towers' checkpoint (--export-from), rpn.pt), in eval mode;
    a transfer checkpoint's head graph (m["head_graph"]) also returns the box deltas. m["vision"] is the image tower
    of vision_source's checkpoint (--vision-from; default: source's)."""
    ck, rk = _checkpoint(work, source, f"--export-from {source}"), _checkpoint(work, "rpn", f"--export-from {source}")
    m = _image_tower(p, ck)
    m["head_graph"] = m["head"]
    if source == "transfer":
        extra = BoxHead(p["embed_dim"])
        extra.box_pred.load_state_dict(ck["box_pred"])
        m["head_graph"] = HeadWithDeltas(m["head"], extra.box_pred).eval()
    text = build_text(p, vocab_size)
    text.load_state_dict(ck["text"])
    trunk, rpn = build_rpn(p)
    trunk.load_state_dict(rk["trunk"])
    rpn.head.load_state_dict(rk["head"])
    rpn_graph = RpnGraph(trunk, rpn.head)
    if vision_source not in (None, source):
        m["vision"] = _image_tower(p, _checkpoint(work, vision_source, f"--vision-from {vision_source}"))["vision"]
    for mod in (m["vision"], m["backbone"], m["head_graph"], text, rpn_graph):
        mod.eval()
    return m, text, rpn_graph, ck, rk


def _stages(ck, vision_from=None):
    """The (B) and (C) stages a checkpoint went through, for the manifest's description, each with the world it
    trained on when the checkpoint records it (and which checkpoint the vision graph comes from, when --vision-from
    names another)."""
    steps, worlds = ck["steps"], ck.get("worlds", {})
    on = lambda stage: f" on a world of {worlds[stage]}" if stage in worlds else ""  # noqa: E731
    out = ""
    if "pretrain" in steps:
        out += (f"; then RegionCLIP's region-text pretraining (B) on `regionclip mine` pseudo-labels{on('pretrain')}, "
                f"teacher the frozen towers, {steps['pretrain']} steps")
    if "transfer" in steps:
        out += (f"; then RegionCLIP's transfer (C) on base boxes only{on('transfer')} (frozen text embeddings of the "
                f"base names, a learned background embedding, class-agnostic box regression), {steps['transfer']} steps")
    if vision_from is not None:
        out += (f"; the whole-image vision graph (classify) is the image tower of {CHECKPOINTS[vision_from]} "
                f"(--vision-from {vision_from})")
    return out


def _vision_from(opts):
    """--vision-from when it names another checkpoint than --export-from, else None."""
    return opts.vision_from if opts.vision_from not in (None, opts.export_from) else None


def manifest(opts, p, graphs, ck, rk):
    """manifest.json's contents (before "files")."""
    D = p["embed_dim"]
    scale = float(ck["logit_scale"])
    transfer = opts.export_from == "transfer"
    region = {"mode": "features", "input": dict(PIXEL_NORM), "featureOutput": "res4", "spatialScale": 1 / 16,
              "outputSize": [14, 14], "samplingRatio": 0, "aligned": True}
    scoring = {"temperature": round(1 / scale, 6), "conceptPool": "concepts.txt"}
    if transfer:
        region["boxDeltas"] = {"output": "box_deltas", "weights": list(BOX_WEIGHTS)}
        scoring = {"temperature": float(ck["temperature"]), "backgroundEmbed": BACKGROUND_FILE, "conceptPool": "concepts.txt"}
    levels = [{"objectness": f"objectness_{i}", "deltas": f"deltas_{i}", "anchorSizes": list(ANCHORS["sizes"][i]),
               "aspectRatios": list(ANCHORS["ratios"][i])} for i in range(2)]
    return {
        "name": opts.name or os.path.basename(os.path.normpath(opts.out)),
        "kind": "detector",
        "description": (f"regionclip's built-in model: a small CLIP (ResNet image tower split into backbone/head, RegionCLIP's "
                        f"features mode; transformer text tower with a BPE vocab learned from the world's captions) and a "
                        f"class-agnostic RPN trained on base boxes only, trained on the synthetic world "
                        f"({ck.get('worlds', {}).get('clip', opts.world_desc)}); "
                        f"made by training/train_world.py --preset {opts.preset} --seed {opts.seed}: phase 1 (image tower) "
                        f"{ck['steps']['image']} steps, phase 2 (text tower) {ck['steps']['text']}, phase 3 (align) "
                        f"{ck['steps'].get('align', 0)}, RPN {rk['steps']} steps{_stages(ck, _vision_from(opts))}. Training images: see NOTICE."),
        "license": "MIT",
        "source": "training/train_world.py (regionclip); training data: training/world (see NOTICE)",
        "embedDim": D,
        "logitScale": round(scale, 4),
        "tokenizer": {"vocab": "vocab.json", "merges": "merges.txt", "contextLength": 77, "padding": "longest"},
        "preprocess": {"size": CLIP_SIZE, "mean": CLIP_MEAN, "std": CLIP_STD, "channelOrder": "RGB",
                       "interpolation": "bicubic", "crop": "center"},
        "image": dict(DETECT),
        "rpn": {"input": dict(PIXEL_NORM), "levels": levels, "boxCoderWeights": [1.0, 1.0, 1.0, 1.0],
                "preNmsTopK": 2000, "postNmsTopK": 1000, "nmsThreshold": 0.7, "minSize": 1.0, "scoreThreshold": 0.0},
        "regionEncoder": region,
        "scoring": scoring,
        "graphs": graphs,
    }


def write_concepts(world, out):
    """concepts.txt: the world's concept names, one a line, in id order."""
    with open(os.path.join(world, "concepts.json"), encoding="utf-8") as f:
        c = json.load(f)
    names = [x["name"] for x in sorted(c["concepts"] if isinstance(c, dict) else c, key=lambda x: x["id"])]
    with open(os.path.join(out, "concepts.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")


def export(opts, p, tok, vocab, merges):
    """Writes the model folder --out and logs each file's size."""
    out = opts.out
    m, text, rpn_graph, ck, rk = load_trained(opts.work, p, len(vocab), opts.export_from, _vision_from(opts))
    os.makedirs(out, exist_ok=True)  # after the checkpoints load: a refused export leaves no folder behind
    write_bpe_files(vocab, merges, out)
    D, C4 = p["embed_dim"], p["widths"][3]
    transfer = opts.export_from == "transfer"
    graphs = {"text": export_text(text, tok(["a photo of a dog.", "a bicycle"]), out, D),
              "vision": export_vision(m["vision"], out, CLIP_SIZE, D), "rpn": export_rpn(rpn_graph, out, ANCHORS_PER_LOCATION),
              **export_features(m["backbone"], m["head_graph"], out, C4, D, box_deltas=transfer)}
    man = manifest(opts, p, graphs, ck, rk)
    with open(os.path.join(out, "NOTICE"), "w", encoding="utf-8") as f:
        f.write(NOTICE)
    write_concepts(opts.world, out)
    files = [g["file"] for g in graphs.values()] + ["vocab.json", "merges.txt", "concepts.txt"]
    if transfer:
        background = ck["background"].tolist()
        with open(os.path.join(out, BACKGROUND_FILE), "wb") as f:
            f.write(struct.pack(f"<{len(background)}f", *background))
        files.append(BACKGROUND_FILE)
    man["files"] = {f: {"sha256": sha256(os.path.join(out, f))} for f in files}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=2)
        f.write("\n")
    total = 0
    for name in sorted(os.listdir(out)):
        size = os.path.getsize(os.path.join(out, name))
        total += size
        log(f"{name:20s} {size:>12,d} bytes")
    log(f"total {total / 2**20:.2f} MiB in {out}")
