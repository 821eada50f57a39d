"""The file helpers of the exporters, converters, composers and the int8 quantizer, in a module without torch (the
quantizer needs onnx only, compose_ensemble.py nothing): the one file hash (export_tiny_clip and convert.manifests
re-export it) and `place` (convert.compose re-exports it)."""
import hashlib
import os
import shutil


def sha256(path):
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def place(src, dst):
    """Hard link `src` at `dst` (a copy across file systems); nothing to do when they are the same file."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.exists(dst):
        if os.path.samefile(src, dst):
            return
        os.remove(dst)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
