"""A tiny region head with RegionCLIP-finetuned outputs, for testing `regionEncoder.boxDeltas`:
roi_features [R, 24, 14, 14] (the tiny features detector's res4) -> mean over the 14 x 14 cells ->
region_embeds [R, 16] and box_deltas [R, 4] (two random linear maps, the deltas scaled by 0.5).
Offline tooling (Debian's python3-torch 1.13); never imported at run time.

    /usr/bin/python3 training/export_tiny_deltas_head.py   # fixtures/models/head-with-deltas.onnx (<1 s)
"""
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "models", "head-with-deltas.onnx")


class DeltasHead(nn.Module):
    def __init__(self, channels=24, embed_dim=16):
        super().__init__()
        self.embed = nn.Linear(channels, embed_dim)
        self.deltas = nn.Linear(channels, 4)

    def forward(self, roi_features):
        pooled = roi_features.mean(dim=(2, 3))
        return self.embed(pooled), 0.5 * self.deltas(pooled)


if __name__ == "__main__":
    torch.manual_seed(0)
    head = DeltasHead().eval()
    torch.onnx.export(head, torch.randn(2, 24, 14, 14), OUT, input_names=["roi_features"], output_names=["region_embeds", "box_deltas"],
                      dynamic_axes={"roi_features": {0: "regions"}, "region_embeds": {0: "regions"}, "box_deltas": {0: "regions"}}, opset_version=14)
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
