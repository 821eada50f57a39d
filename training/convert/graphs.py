"""ONNX export of the converted modules, one function per graph, each writing <out>/<file> and returning
its manifest graph entry (the contracts of src/models/manifest.ts, as training/export_tiny_detector.py writes
them for the tiny fixtures; opset 14, dynamic batch / regions / image size):

  text_model.onnx    input_ids int64 [B, L] -> text_embeds [B, E]   (CLIP text tower; L free, <= 77: causal and
                     pooled at EOT, so the runtime feeds each batch cut after its last EOT, tokenizer.padding "longest")
  vision_model.onnx  pixel_values [B, 3, S, S] -> image_embeds [B, E]                  (whole CLIP image tower)
  backbone.onnx      images [1, 3, H, W] -> res4 [1, 16W, H/16, W/16]                  (ModifiedResNet stem..layer3)
  head.onnx          roi_features [R, 16W, S/16, S/16] -> region_embeds [R, E] (+ box_deltas [R, 4]: RegionCLIP's
                     class-agnostic bbox_pred on the attnpool output, finetuned checkpoints only)
  rpn.onnx           images [1, 3, H, W] -> objectness_i [1, A, h_i, w_i], deltas_i [1, 4A, h_i, w_i] per level i

fp16 (--dtype fp16) stores the weights as float16 initializers followed by a Cast to float32: inputs, outputs
and arithmetic stay float32 (like transformers.js' fp16 files, made with keep_io_types), the files halve.
"""
import os

import torch
from torch import nn
from torch.nn.utils import parametrize

from export_tiny_detector import spec  # noqa: F401  (training/ is on sys.path in the converters)

OPSET = 14
TRACE_IMAGE = (1, 3, 64, 96)  # height and width divisible by 32 (FPN); both dynamic in the graphs


class _AsFloat(nn.Module):
    def forward(self, w):
        return w.float()


def store_fp16(module):
    """Weights kept as fp16 originals and cast to fp32 where used (see the module docstring)."""
    for m in list(module.modules()):
        if isinstance(m, parametrize.ParametrizationList) or parametrize.is_parametrized(m):
            continue  # already stored as fp16 (a module shared by several graphs)
        for name, p in list(m.named_parameters(recurse=False)):
            if p.is_floating_point() and p.numel() > 16:
                parametrize.register_parametrization(m, name, _AsFloat(), unsafe=True)
                getattr(m.parametrizations, name).original.data = p.data.half()
    return module


def _export(module, args, path, inputs, outputs, dynamic, dtype):
    if dtype == "fp16":
        module = store_fp16(module)
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=dtype != "fp16")


class _Call(nn.Module):
    """module.<method>(x) as a graph, optionally followed by extra heads on the output."""

    def __init__(self, module, method, extra=None):
        super().__init__()
        self.module, self.method, self.extra = module, method, extra

    def forward(self, x):
        y = getattr(self.module, self.method)(x)
        return y if self.extra is None else (y, self.extra(y))


def export_text(text, out, dtype="fp32"):
    vocab, ctx, D = text.token_embedding.weight.shape[0], text.positional_embedding.shape[0], text.text_projection.shape[1]
    ids = torch.zeros(2, ctx, dtype=torch.int64)
    ids[:, 0], ids[:, 1] = vocab - 2, vocab - 1
    _export(_Call(text, "encode_text"), (ids,), os.path.join(out, "text_model.onnx"), ["input_ids"], ["text_embeds"],
            {"input_ids": {0: "batch", 1: "sequence"}, "text_embeds": {0: "batch"}}, dtype)
    return {"file": "text_model.onnx", "inputs": [spec("input_ids", "int64", ["batch", "sequence"])], "outputs": [spec("text_embeds", "float32", ["batch", D])]}


def export_vision(visual, out, S, D, dtype="fp32"):
    _export(_Call(visual, "forward"), (torch.zeros(2, 3, S, S),), os.path.join(out, "vision_model.onnx"), ["pixel_values"], ["image_embeds"],
            {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, dtype)
    return {"file": "vision_model.onnx", "inputs": [spec("pixel_values", "float32", ["batch", 3, S, S])],
            "outputs": [spec("image_embeds", "float32", ["batch", D])]}


def export_split(visual, out, dims, bbox_pred=None, dtype="fp32"):
    """backbone.onnx + head.onnx of a ModifiedResNet; dims = (C res4 channels, P RoI size, D)."""
    C, P, D = dims
    _export(_Call(visual, "res4"), (torch.zeros(*TRACE_IMAGE),), os.path.join(out, "backbone.onnx"), ["images"], ["res4"],
            {"images": {2: "height", 3: "width"}, "res4": {2: "height_16", 3: "width_16"}}, dtype)
    outputs = ["region_embeds"] + (["box_deltas"] if bbox_pred is not None else [])
    _export(_Call(visual, "head", bbox_pred), (torch.zeros(2, C, P, P),), os.path.join(out, "head.onnx"), ["roi_features"], outputs,
            {name: {0: "regions"} for name in ["roi_features", *outputs]}, dtype)
    head_outputs = [spec("region_embeds", "float32", ["regions", D])] + ([spec("box_deltas", "float32", ["regions", 4])] if bbox_pred is not None else [])
    return {
        "backbone": {"file": "backbone.onnx", "inputs": [spec("images", "float32", [1, 3, "height", "width"])],
                     "outputs": [spec("res4", "float32", [1, C, "height_16", "width_16"])]},
        "head": {"file": "head.onnx", "inputs": [spec("roi_features", "float32", ["regions", C, P, P])], "outputs": head_outputs},
    }


def rpn_output_names(num_levels):
    return [name for i in range(num_levels) for name in (f"objectness_{i}", f"deltas_{i}")]


def export_rpn(rpn, out, dtype="fp32"):
    A = rpn.proposal_generator.rpn_head.objectness_logits.out_channels
    names, dyn, specs = rpn_output_names(len(rpn.strides)), {"images": {2: "height", 3: "width"}}, []
    for i, stride in enumerate(rpn.strides):
        for name, channels in ((f"objectness_{i}", A), (f"deltas_{i}", 4 * A)):
            dyn[name] = {2: f"height_{stride}", 3: f"width_{stride}"}
            specs.append(spec(name, "float32", [1, channels, f"height_{stride}", f"width_{stride}"]))
    _export(rpn, (torch.zeros(*TRACE_IMAGE),), os.path.join(out, "rpn.onnx"), ["images"], names, dyn, dtype)
    return {"file": "rpn.onnx", "inputs": [spec("images", "float32", [1, 3, "height", "width"])], "outputs": specs}
