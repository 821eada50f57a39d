"""int8 variants of a detector's region graphs (backbone, rpn, head): static quantization in onnxruntime's QDQ
format, written with `onnx` only (onnxruntime's Python quantizer is not installable here).

    # 1. probe graphs: every quantized op's input and output exposed as extra graph outputs
    /usr/bin/python3 -m convert.quantize probe --model models/world-rn-small --out /tmp/probe
    # 2. activation ranges on calibration images, with the project's own pipeline (onnxruntime-node)
    npx tsx tools/calibrate-int8.ts --model models/world-rn-small --probe /tmp/probe --images DIR --out /tmp/probe/ranges.json
    # 3. <graph>.int8.onnx beside each graph, listed in the manifest as graphs.<role>.variants.int8 (with sha256)
    /usr/bin/python3 -m convert.quantize apply --model models/world-rn-small --ranges /tmp/probe/ranges.json

(run from training/). `regionclip detect --dtype int8` then runs those files.

What is quantized (onnxruntime's `quantize_static(QuantFormat.QDQ, per_channel=True)` layout, MinMax calibration):
- every Conv, and every MatMul / Gemm whose weight is an initializer: the weight int8 in [-63, 63] (7 bits, below),
  symmetric (zero point 0), one scale per output channel (Conv axis 0, MatMul axis 1); the activation input and the output uint8,
  asymmetric, from the calibrated [min, max] widened to contain 0: scale (max - min) / 255, zero point
  round(-min / scale).
- each as QuantizeLinear -> DequantizeLinear pairs around the float op; onnxruntime fuses DQ -> Conv -> Q into
  QLinearConv (and MatMul into QLinearMatMul), int8 kernels (VNNI where the CPU has it).

Why static: dynamic quantization (`quantize_dynamic`: DynamicQuantizeLinear + ConvInteger) was measured 3x SLOWER
than fp32 on the built-in model's head (onnxruntime 1.30, this CPU: ConvInteger has no fast kernel and takes only
a per-tensor weight zero point); QDQ ran it 2.3x faster (docs/models.md "int8"; end to end and AP50 in README "Benchmarks").

Graph inputs and outputs stay float32, so the manifest's I/O entries hold for both files.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from file_hash import sha256

ROLES = ("backbone", "rpn", "head")
QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")
MIN_OPSET = 13  # per-axis DequantizeLinear


class QuantizeError(Exception):
    pass


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def quantizable(graph):
    """Indices of the nodes quantized: Conv with an initializer weight; MatMul with a 2-D initializer weight (second input);
    Gemm with an initializer weight and transA 0."""
    inits = {i.name for i in graph.initializer}
    out = []
    for k, n in enumerate(graph.node):
        if n.op_type not in QUANTIZED_OPS or len(n.input) < 2 or n.input[1] not in inits:
            continue
        if n.op_type == "Gemm" and _attrs(n).get("transA", 0) != 0:
            continue
        if n.op_type == "MatMul":
            w = next(i for i in graph.initializer if i.name == n.input[1])
            if len(w.dims) != 2:
                continue
        out.append(k)
    return out


def probe_tensors(model):
    """The float tensors whose ranges the QDQ rewrite needs: each quantized node's activation input and its output."""
    names = []
    for k in quantizable(model.graph):
        n = model.graph.node[k]
        for t in (n.input[0], n.output[0]):
            if t not in names:
                names.append(t)
    return names


def make_probe(model):
    """The graph with every probe tensor added as a float output (after the original outputs)."""
    have = {o.name for o in model.graph.output}
    tensors = probe_tensors(model)
    for t in tensors:
        if t not in have:
            model.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    return model, tensors


def _act_params(rng, name):
    if rng is None:
        raise QuantizeError(f"no calibrated range for tensor {name!r} (run tools/calibrate-int8.ts with this model's probe)")
    lo, hi = float(min(rng[0], 0.0)), float(max(rng[1], 0.0))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise QuantizeError(f"calibrated range of {name!r} is not finite: {rng}")
    scale = (hi - lo) / 255.0
    if scale == 0.0:
        scale = 1.0
    zero = int(min(255, max(0, round(-lo / scale))))
    return np.float32(scale), np.uint8(zero)


# Weights use 7 of int8's bits (onnxruntime's `reduce_range=True`): x86 CPUs without VNNI (AVX2 only) multiply uint8
# activations by int8 weights with vpmaddubsw, which adds two products into int16 and saturates when both are large
# (2 * 255 * 127 > 32767); with |q| <= 63 the sum stays below 2^15 (2 * 255 * 63 = 32130). Measured on an AVX2-only
# AMD EPYC: 8-bit weights gave the built-in model's region embeddings a minimum cosine of 0.962 with fp32 (0.998 on a
# VNNI CPU); 7-bit ones, README "int8".
WEIGHT_QMAX = 63


def quantize_weight(w, axis):
    """int8 symmetric per-channel along `axis`, |q| <= WEIGHT_QMAX: (q, scales); a zero channel gets scale 1."""
    red = tuple(i for i in range(w.ndim) if i != axis)
    m = np.abs(w).max(axis=red)
    scale = np.where(m > 0, m / float(WEIGHT_QMAX), 1.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -WEIGHT_QMAX, WEIGHT_QMAX).astype(np.int8)
    return q, scale


def to_qdq(model, ranges):
    """The QDQ rewrite of `model` (see the module docstring) with activation ranges {tensor: [min, max]}."""
    if not any(o.domain in ("", "ai.onnx") and o.version >= MIN_OPSET for o in model.opset_import):
        raise QuantizeError(f"opset >= {MIN_OPSET} needed (per-channel DequantizeLinear)")
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    targets = set(quantizable(g))
    nodes, new_inits, dq_of = [], [], {}

    def activation(t):
        if t not in dq_of:
            s, z = _act_params(ranges.get(t), t)
            new_inits.extend([numpy_helper.from_array(np.array(s), t + "/q_scale"), numpy_helper.from_array(np.array(z), t + "/q_zero")])
            nodes.append(helper.make_node("QuantizeLinear", [t, t + "/q_scale", t + "/q_zero"], [t + "/q"], name=t + "/Quantize"))
            nodes.append(helper.make_node("DequantizeLinear", [t + "/q", t + "/q_scale", t + "/q_zero"], [t + "/dq"], name=t + "/Dequantize"))
            dq_of[t] = t + "/dq"
        return dq_of[t]

    for k, n in enumerate(g.node):
        if k not in targets:
            nodes.append(n)
            continue
        attrs = _attrs(n)
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
        rest = list(n.input[2:])
        if n.op_type == "Gemm":  # as MatMul (+ Add): y = alpha * x @ op(W) + beta * C
            w = (w.T if attrs.get("transB", 0) else w) * np.float32(attrs.get("alpha", 1.0))
            bias = rest[0] if rest and rest[0] else None
            beta = attrs.get("beta", 1.0)
            attrs, rest, op = {}, [], "MatMul"
        else:
            bias, op = None, n.op_type
        axis = 0 if op == "Conv" else 1
        q, scale = quantize_weight(w, axis)
        wn = n.name or n.output[0]
        new_inits.extend([numpy_helper.from_array(q, wn + "/w_int8"), numpy_helper.from_array(scale, wn + "/w_scale"),
                          numpy_helper.from_array(np.zeros(scale.shape, np.int8), wn + "/w_zero")])
        nodes.append(helper.make_node("DequantizeLinear", [wn + "/w_int8", wn + "/w_scale", wn + "/w_zero"], [wn + "/w_dq"], axis=axis, name=wn + "/DequantizeWeight"))
        x = activation(n.input[0])
        y = n.output[0]
        pre = y + "/float"
        if bias is not None:
            b = numpy_helper.to_array(inits[bias]).astype(np.float32) * np.float32(beta) if bias in inits else None
            if b is None:
                raise QuantizeError(f"Gemm {wn!r}: bias {bias!r} is not an initializer")
            new_inits.append(numpy_helper.from_array(b, wn + "/bias"))
            nodes.append(helper.make_node("MatMul", [x, wn + "/w_dq"], [pre + "/mm"], name=wn))
            nodes.append(helper.make_node("Add", [pre + "/mm", wn + "/bias"], [pre], name=wn + "/Bias"))
        else:
            nodes.append(helper.make_node(op, [x, wn + "/w_dq"] + rest, [pre], name=wn, **attrs))
        s, z = _act_params(ranges.get(y), y)
        new_inits.extend([numpy_helper.from_array(np.array(s), y + "/q_scale"), numpy_helper.from_array(np.array(z), y + "/q_zero")])
        nodes.append(helper.make_node("QuantizeLinear", [pre, y + "/q_scale", y + "/q_zero"], [y + "/q"], name=y + "/Quantize"))
        nodes.append(helper.make_node("DequantizeLinear", [y + "/q", y + "/q_scale", y + "/q_zero"], [y], name=y + "/Dequantize"))
        dq_of[y] = y  # a later consumer of y reads the dequantized value already
    used = {i for n in nodes for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    onnx.checker.check_model(model)
    return model


EXIT_IO = 7  # the CLI's exit code for a file that cannot be read


class ReadError(QuantizeError):
    pass


def _read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as error:
        raise ReadError(f"cannot read {what} {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise QuantizeError(f"{what} {path} is not JSON: {error}") from None


def _manifest(model_dir):
    """(path, manifest) of a features-mode detector folder (or its manifest.json)."""
    if os.path.basename(model_dir) == "manifest.json":
        model_dir = os.path.dirname(model_dir) or "."
    path = os.path.join(model_dir, "manifest.json")
    if not os.path.exists(path):
        raise ReadError(f"no manifest.json in {model_dir} (int8 variants are written for our manifest folders)")
    m = _read_json(path, "the manifest")
    if m.get("kind") != "detector":
        raise QuantizeError(f"{path} is not a detector manifest (kind {m.get('kind')!r})")
    if m.get("regionEncoder", {}).get("mode") != "features":
        raise QuantizeError(f"{path} is a {m.get('regionEncoder', {}).get('mode')!r}-mode detector: the int8 recipe covers features mode "
                            "(backbone, rpn, head); a crop-mode vision tower is not quantized yet")
    return path, m


def _roles(m, wanted):
    roles = [r for r in (wanted or ROLES) if r in m["graphs"]]
    missing = [r for r in (wanted or []) if r not in m["graphs"]]
    if missing:
        raise QuantizeError(f"the manifest has no graph(s) {', '.join(missing)} (it has {', '.join(sorted(m['graphs']))})")
    if not roles:
        raise QuantizeError("none of the graphs backbone, rpn, head is in the manifest")
    return roles


def cmd_probe(args):
    path, m = _manifest(args.model)
    args.model = os.path.dirname(path)
    os.makedirs(args.out, exist_ok=True)
    listing = {}
    for role in _roles(m, args.graphs):
        spec = m["graphs"][role]
        model, tensors = make_probe(onnx.load(os.path.join(args.model, spec["file"])))
        if not tensors:
            continue
        file = f"{role}.probe.onnx"
        onnx.save(model, os.path.join(args.out, file))
        listing[role] = {"file": file, "source": spec["file"], "sha256": m["files"][spec["file"]]["sha256"], "tensors": tensors}
        print(f"{role}: {len(tensors)} tensors probed", file=sys.stderr)
    with open(os.path.join(args.out, "probe.json"), "w") as f:
        json.dump(listing, f, indent=2)


def cmd_apply(args):
    """Every graph is checked and rewritten in memory first; files and manifest are written only when all succeed."""
    path, m = _manifest(args.model)
    args.model = os.path.dirname(path)
    ranges = _read_json(args.ranges, "the ranges file")
    rewritten = []
    for role, entry in ranges.get("graphs", {}).items():
        spec = m["graphs"].get(role)
        if spec is None:
            raise QuantizeError(f"{args.ranges} has ranges for graph {role!r}, which {path} does not have")
        recorded = m["files"][spec["file"]]["sha256"]
        if recorded != entry.get("sha256"):
            raise QuantizeError(f"{args.ranges} was calibrated on another {spec['file']} (sha256 {entry.get('sha256')}, the manifest records {recorded})")
        actual = sha256(os.path.join(args.model, spec["file"]))
        if actual != recorded:
            raise QuantizeError(f"{spec['file']} is not the file the manifest records (sha256 {actual}, the manifest records {recorded}): "
                                "its int8 variant would record the wrong source")
        rewritten.append((role, spec, to_qdq(onnx.load(os.path.join(args.model, spec["file"])), entry.get("ranges", {}))))
    if not rewritten:
        raise QuantizeError(f"{args.ranges} has no graph ranges (tools/calibrate-int8.ts writes them)")
    for role, spec, model in rewritten:
        file = os.path.splitext(spec["file"])[0] + ".int8.onnx"
        out = os.path.join(args.model, file)
        onnx.save(model, out)
        spec.setdefault("variants", {})["int8"] = file
        m["files"][file] = {"sha256": sha256(out), "derivedFrom": {"file": spec["file"], "sha256": m["files"][spec["file"]]["sha256"]}}
        print(f"{role}: {file} ({os.path.getsize(out) / 1e6:.2f} MB, from {os.path.getsize(os.path.join(args.model, spec['file'])) / 1e6:.2f} MB)", file=sys.stderr)
    with open(path, "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m convert.quantize", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("probe", help="probe graphs for tools/calibrate-int8.ts")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--graphs", nargs="*", choices=ROLES)
    a = sub.add_parser("apply", help="write <graph>.int8.onnx and the manifest's variants from calibrated ranges")
    a.add_argument("--model", required=True)
    a.add_argument("--ranges", required=True)
    args = ap.parse_args(argv)
    try:
        (cmd_probe if args.cmd == "probe" else cmd_apply)(args)
    except QuantizeError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_IO if isinstance(error, ReadError) else 5)


if __name__ == "__main__":
    main()
