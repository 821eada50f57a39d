"""Re-export a built-in-model text tower (training/regionclip_train/models.py `Text`) from its ONNX file, for a
model folder exported before the text graph had a free sequence axis (the training checkpoints are not needed):

    /usr/bin/python3 training/reexport_text_tower.py --model models/world-rn-small [--preset small]

The torch module is rebuilt from the graph's initializers (a Linear's weight is the transposed initializer of the
MatMul whose product is added to its bias, e.g. blocks.0.attn.qkv.bias -> blocks.0.attn.qkv.weight); the preset
(training/configs/models/<preset>.json) gives the head count, the one size the initializers do not hold. Then
export_tiny_detector.export_text writes text_model.onnx again (input_ids [batch, sequence]), and manifest.json gets
the new graph entry, tokenizer.padding "longest" and the file's sha256. The tower is causal and mean-pooled over
SOT..EOT, so the runtime may feed each batch cut after its last EOT. test/models/builtin-model.test.ts checks the
new graph's embeddings (cut and at 77 positions) against those of the graph it replaced.
"""
import argparse
import json
import os
import sys

import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_tiny_detector import export_text, sha256  # noqa: E402
from regionclip_train.models import build_text  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def state_dict_of(graph):
    """The Text module's state dict from the graph: named initializers as they are, MatMul weights transposed."""
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    sd = {name: value for name, value in init.items() if not name.startswith("onnx::")}
    # A Linear is MatMul(x, W^T) then Add(bias, ·): its weight is named after the bias the product is added to.
    weight_of = {n.input[1]: n.output[0] for n in graph.node if n.op_type == "MatMul" and n.input[1].startswith("onnx::")}
    for node in graph.node:
        bias = [name for name in node.input if name.endswith(".bias") and name in init]
        product = [name for name in node.input if name in weight_of.values()]
        if node.op_type == "Add" and len(bias) == 1 and len(product) == 1:
            matmul = next(w for w, out in weight_of.items() if out == product[0])
            sd[bias[0][:-len("bias")] + "weight"] = init[matmul].t().contiguous()
    sd["out_norm.num_batches_tracked"] = torch.tensor(0)
    return sd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="the model folder (manifest.json, text_model.onnx)")
    ap.add_argument("--preset", default="small", help="training/configs/models/<preset>.json (default small)")
    args = ap.parse_args()
    manifest_path = os.path.join(args.model, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    with open(os.path.join(HERE, "configs", "models", f"{args.preset}.json")) as f:
        p = json.load(f)
    path = os.path.join(args.model, manifest["graphs"]["text"]["file"])
    sd = state_dict_of(onnx.load(path).graph)
    text = build_text(p, sd["token_embedding.weight"].shape[0])
    text.load_state_dict(sd, strict=True)
    text.eval()
    with open(os.path.join(args.model, manifest["tokenizer"]["vocab"]), encoding="utf-8") as f:
        vocab = json.load(f)
    ids = torch.zeros(2, 77, dtype=torch.int64)
    ids[:, 0], ids[:, 1] = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    manifest["graphs"]["text"] = export_text(text, ids, args.model, manifest["embedDim"])
    manifest["tokenizer"]["padding"] = "longest"
    manifest["files"][manifest["graphs"]["text"]["file"]] = {"sha256": sha256(path)}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{path}: {os.path.getsize(path):,d} bytes, input_ids [batch, sequence]; {manifest_path} updated")


if __name__ == "__main__":
    main()
