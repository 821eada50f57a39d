"""The one file hash of the exporters, converters and the int8 quantizer, in a module without torch (the
quantizer needs onnx only): export_tiny_clip and convert.manifests re-export it."""
import hashlib


def sha256(path):
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
