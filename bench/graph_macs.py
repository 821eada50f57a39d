"""Multiply-adds of an ONNX graph at given input sizes, and a one-Conv graph of its heaviest convolution, for
bench/region-rate.ts (the rate a region graph runs at against what this CPU's convolution kernels reach).

Run: /usr/bin/python3 bench/graph_macs.py GRAPH.onnx --input NAME=D0,D1,... [--conv-out FILE.onnx] [--torch-threads N]
Prints one JSON object: {"macs": {op type: multiply-adds}, "total": n, "uncounted": [MatMuls of two activations whose
shapes inference could not follow (attention's, small)], "heaviest": {the Conv's input shape, weight
shape, strides, pads, dilations, group, macs, count (how many of the graph's convs have that shape)},
"torch": {"ms", "threads"} (torch.nn.functional.conv2d on the heaviest conv's shape, median of 15, when torch is
importable)}. Conv: output elements × (input channels / group) × kernel area; MatMul / Gemm: output elements × the
inner dimension. Needs `onnx` (Debian's python3-onnx); shapes come from onnx's shape inference.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference


def dims_of(value_info):
    return [d.dim_value if d.HasField("dim_value") else 0 for d in value_info.type.tensor_type.shape.dim]


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return list(a.ints) if a.type == onnx.AttributeProto.INTS else a.i
    return default


def count(model, inputs):
    for i in model.graph.input:
        if i.name in inputs:
            want = inputs[i.name]
            dims = i.type.tensor_type.shape.dim
            if len(dims) != len(want):
                sys.exit(f"--input {i.name}: the graph's input has {len(dims)} dims, got {len(want)}")
            for k, (d, v) in enumerate(zip(dims, want)):
                if d.HasField("dim_value") and d.dim_value != v:
                    sys.exit(f"--input {i.name}: dimension {k} is fixed at {d.dim_value} in the graph, got {v}")
                d.ClearField("dim_param")
                d.dim_value = v
    missing = set(inputs) - {i.name for i in model.graph.input}
    if missing:
        sys.exit(f"--input: the graph has no input {', '.join(sorted(missing))}")
    inferred = shape_inference.infer_shapes(model, data_prop=True)
    shapes = {vi.name: dims_of(vi) for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    shapes.update({t.name: list(t.dims) for t in inferred.graph.initializer})
    macs, convs, unknown, uncounted = {}, {}, [], []
    weights = {t.name for t in inferred.graph.initializer}
    for node in inferred.graph.node:
        out = shapes.get(node.output[0], [])
        if node.op_type == "Conv":
            w, x = shapes.get(node.input[1], []), shapes.get(node.input[0], [])
            if not (out and all(out) and w and all(w)):
                unknown.append(node.name)
                continue
            n = int(np.prod(out)) * int(np.prod(w[1:]))
            key = json.dumps({"input": x, "weight": w, "strides": attr(node, "strides", [1, 1]), "pads": attr(node, "pads", [0, 0, 0, 0]),
                              "dilations": attr(node, "dilations", [1, 1]), "group": attr(node, "group", 1)})
            c = convs.setdefault(key, {"macs": 0, "count": 0})
            c["macs"] += n
            c["count"] += 1
        elif node.op_type in ("MatMul", "Gemm"):
            a, b = shapes.get(node.input[0], []), shapes.get(node.input[1], [])
            if node.op_type == "Gemm" and attr(node, "transA", 0):
                k = a[0] if a else 0
            elif a and all(a):
                k = a[-1]
            elif len(b) >= 2 and all(b):
                k = b[-2] if node.op_type == "MatMul" else (b[1] if attr(node, "transB", 0) else b[0])
            else:
                k = 0
            if not (k and out and all(out)):
                # activation x activation (attention's q.k and att.v): a few thousand multiply-adds per region
                # where shape inference stops at a computed Reshape; left out and listed
                (unknown if node.input[1] in weights else uncounted).append(node.name)
                continue
            n = int(np.prod(out)) * k
        else:
            continue
        macs[node.op_type] = macs.get(node.op_type, 0) + n
    heaviest = None
    if convs:
        key, c = max(convs.items(), key=lambda kv: kv[1]["macs"])
        heaviest = {**json.loads(key), "macs": c["macs"] // c["count"], "count": c["count"]}
    return macs, heaviest, unknown, uncounted


def conv_graph(h, path):
    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal(h["weight"], dtype=np.float32), "W")
    node = helper.make_node("Conv", ["x", "W"], ["y"], strides=h["strides"], pads=h["pads"], dilations=h["dilations"], group=h["group"])
    graph = helper.make_graph([node], "heaviest_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, h["input"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def torch_conv(h, threads):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    torch.set_num_threads(threads)
    x = torch.randn(h["input"])
    w = torch.randn(h["weight"])
    kw = dict(stride=h["strides"], padding=h["pads"][:2], dilation=h["dilations"], groups=h["group"])
    with torch.no_grad():
        for _ in range(3):
            F.conv2d(x, w, **kw)
        times = []
        for _ in range(15):
            t = time.perf_counter()
            F.conv2d(x, w, **kw)
            times.append((time.perf_counter() - t) * 1000)
    return {"ms": statistics.median(times), "threads": threads}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("graph")
    ap.add_argument("--input", action="append", default=[], help="NAME=D0,D1,... (every free dimension of that input)")
    ap.add_argument("--conv-out", help="write the heaviest Conv alone as a graph here")
    ap.add_argument("--torch-threads", type=int, default=1)
    args = ap.parse_args()
    inputs = {}
    for spec in args.input:
        name, _, dims = spec.partition("=")
        try:
            inputs[name] = [int(d) for d in dims.split(",")]
        except ValueError:
            sys.exit(f"--input takes NAME=D0,D1,..., got {spec!r}")
    macs, heaviest, unknown, uncounted = count(onnx.load(args.graph), inputs)
    if unknown:
        sys.exit(f"{args.graph}: shapes not inferred for {', '.join(unknown)}: give every free input dimension with --input")
    if args.conv_out and heaviest:
        conv_graph(heaviest, args.conv_out)
    out = {"macs": macs, "total": sum(macs.values()), "uncounted": uncounted, "heaviest": heaviest}
    if heaviest:
        out["torch"] = torch_conv(heaviest, args.torch_threads)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
