"""Checkpoints. Each phase writes two files into --work at the same steps:

  its model file   what later phases and the export read (clip-image.pt, clip.pt, rpn.pt; contents as before
                   training states existed);
  its state file   <phase>-state.pt: everything an exact resume needs: the trained modules and parameters
                   (raw, e.g. the logit scale's parameter rather than its clamped exp), the optimizer's and the
                   scheduler's state, every random stream the phase draws from (its Python random.Random, its
                   torch.Generator, torch's and Python's global ones), the step, and the recipe values it was
                   made with.

--resume continues a phase from its state file, so that k steps + a resume to N equal N steps without one
(test/training/train.test.ts checks the exported files byte for byte). Files are written to a temporary file
and renamed, so an interrupted save leaves the previous file whole.
"""
import os
import random

import torch
from torch import nn

from .config import RECIPE_DEFAULTS, ConfigError
from .data import log


def on_cpu(obj):
    """obj with every tensor in its dicts, lists and tuples on the CPU (a phase trained on a GPU saves files that
    read anywhere). What holds no GPU tensor is returned as it is (a CPU run saves the same bytes); a copied
    state_dict keeps its _metadata."""
    if isinstance(obj, torch.Tensor):
        return obj if obj.device.type == "cpu" else obj.cpu()
    if isinstance(obj, dict):
        items = {k: on_cpu(v) for k, v in obj.items()}
        if all(items[k] is v for k, v in obj.items()):
            return obj
        out = type(obj)(items)
        if hasattr(obj, "_metadata"):
            out._metadata = obj._metadata
        return out
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        items = [on_cpu(v) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj)) else type(obj)(items)
    return obj


def save(obj, path):
    """torch.save through a file of the same name in <folder>/.saving (torch names the archive's records after
    the file, so the bytes equal a direct save's), then a rename over path. Tensors on a GPU are saved as CPU
    tensors (on_cpu)."""
    obj = on_cpu(obj)
    folder = os.path.join(os.path.dirname(path), ".saving")
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, os.path.basename(path))
    torch.save(obj, tmp)
    os.replace(tmp, path)
    os.rmdir(folder)


def state_path(work, phase):
    return os.path.join(work, f"{phase}-state.pt")


def rng_states(rng, gen):
    """rng: the phase's random.Random (None in the RPN phase, which has none); gen: its torch.Generator."""
    return {"random": rng and rng.getstate(), "generator": gen.get_state(), "torch": torch.get_rng_state(),
            "python": random.getstate()}


def set_rng_states(states, rng, gen):
    if rng is not None:
        rng.setstate(states["random"])
    gen.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])


def parts_state(parts):
    """{name: module or parameter} -> {name: state_dict or a copy of the tensor}."""
    return {k: v.state_dict() if isinstance(v, nn.Module) else v.detach().clone() for k, v in parts.items()}


def load_parts(parts, saved):
    for k, v in parts.items():
        if isinstance(v, nn.Module):
            v.load_state_dict(saved[k])
        else:
            with torch.no_grad():
                v.copy_(saved[k])


def training_state(phase, recipe, step, steps, parts, opt, sched, rng, gen, **extra):
    """The state file's contents after `step` of `steps` steps."""
    return {"phase": phase, "recipe": recipe, "step": step, "steps": steps, "parts": parts_state(parts),
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": rng_states(rng, gen), **extra}


def restore(state, parts, opt, sched, rng, gen):
    """Puts a training state back (after the phase has built everything as for a fresh start)."""
    load_parts(parts, state["parts"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    set_rng_states(state["rng"], rng, gen)


def resumable(opts, phase, recipe):
    """The phase's state file when --resume is given and the file exists (None otherwise, logged); an error
    when it was made by other recipe values (each difference named)."""
    if not getattr(opts, "resume", False):
        return None
    path = state_path(opts.work, phase)
    if not os.path.exists(path):
        log(f"--resume: no {path}; {phase} starts from step 0")
        return None
    state = torch.load(path, map_location="cpu")
    # a key added to the recipe after the state was saved counts as its value from before (RECIPE_DEFAULTS)
    saved = {**{k: v for k, v in RECIPE_DEFAULTS.items() if k in recipe}, **state.get("recipe", {})}
    diff = [f"{k} {saved.get(k)!r} -> {recipe.get(k)!r}" for k in sorted(set(saved) | set(recipe)) if saved.get(k) != recipe.get(k)]
    if state.get("phase") != phase or diff:
        raise ConfigError(f"Expected the recipe that made {path} for --resume but received other values: "
                          f"{'; '.join(diff) or 'phase ' + repr(state.get('phase'))}.")
    return state
