"""Recovers a training work folder (clip.pt, rpn.pt, tokenizer.json) from a model folder that
training/train_world.py exported, e.g. models/world-rn-small, whose training checkpoints are not kept, so that
the (B) and (C) stages can start from it (README "Built-in model"):

    /usr/bin/python3 training/recover_weights.py models/world-rn-small --work RUN [--preset small]

The image tower comes from the whole-image vision graph (vision_model.onnx, one graph holding backbone and head),
not from backbone.onnx / head.onnx. In a model exported with --vision-from clip (the built-in model: its detector
graphs are RegionCLIP's transfer (C), its vision graph the CLIP image tower) that is the CLIP tower that (B) starts
from; in an export without --vision-from the three graphs hold the same weights, the CLIP phases' for
--export-from clip. When the manifest's description says the vision graph holds a (B) or (C) tower, the script says
so: clip.pt then holds that tower (without (C)'s box regressor and background), not the CLIP phases'. The text
tower and the RPN come from their graphs; the step counts and the CLIP phases' world from the description.

The ONNX graphs hold every weight, but torch's export folds each BatchNorm into the convolution before it: such
a pair comes back as the folded convolution (its weights) and an identity BatchNorm carrying the folded bias
(weight 1, running mean 0, running variance 1 - eps), the same function in eval mode, which is how (B) and (C)
run their BatchNorms. Linear weights of MatMul nodes come back transposed. Every parameter and buffer of the
modules is filled or the script fails; the graphs are matched by initializer name, or, for the unnamed ones, by
node order with every shape checked. Offline tooling (Debian's python3-torch 1.13 and python3-onnx).
"""
import argparse
import json
import os
import re
import sys

import onnx
import torch
from onnx import numpy_helper
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from regionclip_train.config import load_model_preset, model_presets  # noqa: E402
from regionclip_train.models import RpnGraph, build, build_rpn, build_text  # noqa: E402


def initializers(path):
    graph = onnx.load(path).graph
    return graph, {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}


def fill(module, path):
    """Loads the graph at path into module (its state_dict keys as the graph's initializer names)."""
    graph, inits = initializers(path)
    state = {k: v.clone() for k, v in module.state_dict().items()}
    done = set()
    for k in state:
        if k in inits:
            if inits[k].shape != state[k].shape:
                raise SystemExit(f"{path}: {k} is {tuple(inits[k].shape)}, expected {tuple(state[k].shape)}")
            state[k] = inits[k]
            done.add(k)
    names = {id(m): n for n, m in module.named_modules()}
    prefix = lambda m: names[id(m)] + "." if names[id(m)] else ""  # noqa: E731
    # folded Conv+BatchNorm pairs, in module order, against the Conv nodes with unnamed weights, in node order
    mods = list(module.modules())
    pairs = []
    for i, m in enumerate(mods):
        if isinstance(m, nn.Conv2d) and prefix(m) + "weight" not in done:
            bn = next(b for b in mods[i + 1:] if isinstance(b, nn.BatchNorm2d))
            pairs.append((m, bn))
    convs = [n for n in graph.node if n.op_type == "Conv" and n.input[1] not in state]
    linears = [m for m in mods if isinstance(m, nn.Linear) and prefix(m) + "weight" not in done]
    matmuls = [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in inits and n.input[1] not in state]
    if len(pairs) != len(convs) or len(linears) != len(matmuls):
        raise SystemExit(f"{path}: {len(convs)} folded convolutions and {len(matmuls)} MatMul weights for "
                         f"{len(pairs)} Conv+BatchNorm pairs and {len(linears)} Linear layers")
    for (conv, bn), node in zip(pairs, convs):
        absent = [t for t in node.input[1:3] if t not in inits]
        if absent:
            raise SystemExit(f"{path}: the weights of Conv node {node.name or node.output[0]} ({', '.join(absent)}) are no "
                             f"initializers of the graph (shared or deduplicated by the exporter); expected one weight and "
                             f"one bias initializer per folded convolution ({prefix(conv)})")
        w, b = inits[node.input[1]], inits[node.input[2]]
        if w.shape != conv.weight.shape:
            raise SystemExit(f"{path}: {node.input[1]} is {tuple(w.shape)}, expected {tuple(conv.weight.shape)} ({prefix(conv)})")
        p, q = prefix(conv), prefix(bn)
        state[p + "weight"] = w
        state[q + "weight"] = torch.ones_like(b)
        state[q + "bias"] = b
        state[q + "running_mean"] = torch.zeros_like(b)
        state[q + "running_var"] = torch.full_like(b, 1 - bn.eps)
        done.update({p + "weight", q + "weight", q + "bias", q + "running_mean", q + "running_var", q + "num_batches_tracked"})
    for lin, node in zip(linears, matmuls):
        w = inits[node.input[1]].t()
        if w.shape != lin.weight.shape:
            raise SystemExit(f"{path}: {node.input[1]} is {tuple(w.shape)} transposed, expected {tuple(lin.weight.shape)} ({prefix(lin)})")
        state[prefix(lin) + "weight"] = w
        done.add(prefix(lin) + "weight")
    missing = [k for k in state if k not in done and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit(f"{path}: no weights for {', '.join(missing)}")
    module.load_state_dict(state)


def vision_tower(description):
    """Whose image tower an export's vision graph holds, from its manifest's description (export.manifest): "clip"
    (the CLIP phases'), "(B) pretrain.pt" or "(C) transfer.pt"."""
    chosen = re.search(r"\(--vision-from (clip|pretrain|transfer)\)", description)
    stage = chosen.group(1) if chosen else ("transfer" if "transfer (C)" in description else
                                            "pretrain" if "pretraining (B)" in description else "clip")
    return {"clip": "clip", "pretrain": "(B) pretrain.pt", "transfer": "(C) transfer.pt"}[stage]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a model folder exported by training/train_world.py")
    ap.add_argument("--work", required=True, help="the work folder to write (clip.pt, rpn.pt, tokenizer.json)")
    ap.add_argument("--preset", default="small", choices=model_presets(), help="its model size (default small)")
    args = ap.parse_args()
    p = load_model_preset(args.preset)
    with open(os.path.join(args.model, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    with open(os.path.join(args.model, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(args.model, "merges.txt"), encoding="utf-8") as f:
        merges = [line.split() for line in f.read().splitlines()[1:] if line]
    m = build(p)
    fill(m["vision"], os.path.join(args.model, "vision_model.onnx"))  # backbone.* and head.*: the CLIP image tower
    text = build_text(p, len(vocab))
    fill(text, os.path.join(args.model, "text_model.onnx"))
    trunk, rpn = build_rpn(p)
    fill(RpnGraph(trunk, rpn.head), os.path.join(args.model, "rpn.onnx"))
    concepts = os.path.join(os.path.dirname(os.path.abspath(__file__)), "world", "concepts.json")
    with open(concepts, encoding="utf-8") as f:
        concept_ids = sorted(c["id"] for c in json.load(f)["concepts"])
    os.makedirs(args.work, exist_ok=True)
    # the step counts the export wrote into the description (export.manifest), for the next export's
    description = manifest.get("description", "")
    made = re.search(r"phase 1 \(image tower\) (\d+) steps, phase 2 \(text tower\) (\d+), phase 3 \(align\) (\d+), "
                     r"RPN (\d+) steps", description)
    image, text_steps, align, rpn_steps = (int(v) for v in made.groups()) if made else (0, 0, 0, 0)
    steps = {"image": image, "text": text_steps, "align": align}
    tower = vision_tower(description)
    if tower != "clip":
        print(f"note: the vision graph of {args.model} holds the image tower of {tower}, not the CLIP phases' "
              f"(its manifest's description); clip.pt holds that tower")
    world = re.search(r"trained on the synthetic world \(([^)]*)\)", description)
    worlds = {"clip": world.group(1)} if world and tower == "clip" else {}
    torch.save({"backbone": m["backbone"].state_dict(), "head": m["head"].state_dict(), "text": text.state_dict(),
                "logit_scale": float(manifest["logitScale"]), "concept_ids": concept_ids, "steps": steps,
                **({"worlds": worlds} if worlds else {})},
               os.path.join(args.work, "clip.pt"))
    torch.save({"trunk": trunk.state_dict(), "head": rpn.head.state_dict(), "steps": rpn_steps}, os.path.join(args.work, "rpn.pt"))
    with open(os.path.join(args.work, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump({"vocab": vocab, "merges": merges}, f)
    print(f"wrote clip.pt, rpn.pt and tokenizer.json from {args.model} into {args.work}")


if __name__ == "__main__":
    main()
