"""Reading upstream checkpoints into our modules.

  OpenAI `.pt`        a TorchScript archive (torch.jit.load), as clip.load reads it, else a plain state dict;
                      weights are fp16 (CLIP's convert_weights) and are cast to fp32 here. `input_resolution`,
                      `context_length`, `vocab_size` are JIT-only entries and are dropped, as build_model does.
  detectron2 `.pth`   {"model": state_dict} (or a bare state dict), fp32; a `module.` prefix is stripped;
                      top-level `iteration` / `optimizer` / `scheduler` entries are ignored
                      (RegionCLIP detectron2/checkpoint/detection_checkpoint.py's reader contract).

load_strict() compares the tensors with the module's own state dict first, so that a missing, unexpected or
mis-shaped key fails with a ConversionError that names it (and the tree it belongs to).
"""
import torch

JIT_ONLY = ("input_resolution", "context_length", "vocab_size")


class ConversionError(Exception):
    """A checkpoint that cannot be converted; the message says which key or tree and why."""


def load_openai(path):
    """OpenAI CLIP state dict (fp32 tensors), from a TorchScript archive or a plain torch.save file."""
    try:
        sd = torch.jit.load(path, map_location="cpu").state_dict()
    except RuntimeError:
        sd = _torch_load(path)
    sd = {k: v for k, v in sd.items() if k not in JIT_ONLY}
    if "visual.conv1.weight" not in sd or "token_embedding.weight" not in sd:
        raise ConversionError(f"{path}: not an OpenAI CLIP checkpoint (no visual.conv1.weight / token_embedding.weight)")
    return {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}


def _torch_load(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # a torch without weights_only
        return torch.load(path, map_location="cpu")


def load_detectron2(path):
    """The `model` state dict of a detectron2 checkpoint, `module.` prefix stripped, tensors only (fp32)."""
    ckpt = _torch_load(path)
    sd = ckpt["model"] if isinstance(ckpt, dict) and "model" in ckpt else ckpt
    if not isinstance(sd, dict):
        raise ConversionError(f"{path}: expected a detectron2 checkpoint {{\"model\": state_dict}}, got {type(ckpt).__name__}")
    out = {}
    for k, v in sd.items():
        if torch.is_tensor(v):
            out[k[len("module."):] if k.startswith("module.") else k] = v.float() if v.is_floating_point() else v
    return out


def subtree(sd, prefix):
    """The keys under `prefix`, with the prefix removed."""
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def load_strict(module, sd, tree):
    """Loads `sd` into `module` after checking every key and shape; errors name the key in `tree`."""
    expected = module.state_dict()
    problems = []
    for k, v in expected.items():
        if k not in sd:
            problems.append(f"missing key {tree}{k} (expected shape {list(v.shape)})")
        elif tuple(sd[k].shape) != tuple(v.shape):
            problems.append(f"key {tree}{k} has shape {list(sd[k].shape)}, expected {list(v.shape)}")
    problems += [f"unexpected key {tree}{k}" for k in sd if k not in expected]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ConversionError(f"{tree + '*' if tree else 'checkpoint'}: {'; '.join(problems[:5])}{more}")
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in sd.items()})
    return module.eval()


def require(sd, prefix, what, hint):
    """The subtree under `prefix`, or a ConversionError saying that `what` is missing."""
    tree = subtree(sd, prefix)
    if not tree:
        raise ConversionError(f"no {prefix}* keys: the checkpoint has no {what}. {hint}")
    return tree
