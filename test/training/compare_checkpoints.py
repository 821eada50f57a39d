"""Compares checkpoints of two training runs for test/training/train.test.ts (Debian's python3-torch):

    compare_checkpoints.py DIR_A DIR_B FILE...

For each FILE (a torch.save'd object in both folders) it walks dicts, lists and tuples and prints one line,
"FILE: max abs diff D over N tensors", then every non-tensor value, key or shape that differs. Exit status 1
when anything differs (a tensor difference above 0 included)."""
import os
import sys

import torch


def walk(a, b, path, out):
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            out["other"].append(f"{path}: {a.dtype} {tuple(a.shape)} vs {b.dtype} {tuple(b.shape)}")
            return
        if a.numel():
            out["max"] = max(out["max"], (a.double() - b.double()).abs().max().item())
        out["tensors"] += 1
    elif isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out["other"].append(f"{path}: keys {sorted(map(str, set(a) ^ set(b)))} in one only")
        for k in a.keys() & b.keys():
            walk(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, (list, tuple)) and type(a) is type(b) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", out)
    elif a != b:
        out["other"].append(f"{path}: {a!r} vs {b!r}"[:300])


def main():
    dir_a, dir_b, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    ok = True
    for name in names:
        out = {"max": 0.0, "tensors": 0, "other": []}
        walk(torch.load(os.path.join(dir_a, name)), torch.load(os.path.join(dir_b, name)), name, out)
        print(f"{name}: max abs diff {out['max']:g} over {out['tensors']} tensors")
        for line in out["other"][:20]:
            print(f"  differs: {line}")
        if len(out["other"]) > 20:
            print(f"  ... and {len(out['other']) - 20} more")
        ok = ok and out["max"] == 0 and not out["other"] and out["tensors"] > 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
