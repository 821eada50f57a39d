"""Small layers shared by the CLIP and detectron2 re-implementations, with the upstream parameter names:

  FrozenBatchNorm2d  detectron2 layers/batch_norm.py: buffers weight, bias, running_mean, running_var (no
                     num_batches_tracked), y = (x - mean) / sqrt(var + 1e-5) * weight + bias.
  SelfAttention      nn.MultiheadAttention's parameters (in_proj_weight [3W, W] stacked q;k;v, in_proj_bias,
                     out_proj) as CLIP's ResidualAttentionBlock stores them, computed with plain matmuls on
                     batch-first [N, L, W] tensors so that it exports to ONNX as-is.
  QuickGELU          CLIP's x * sigmoid(1.702 x).
"""
import torch
from torch import nn
import torch.nn.functional as F


class FrozenBatchNorm2d(nn.Module):
    def __init__(self, channels, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class SelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x, mask=None):
        n, t, w = x.shape
        hd = w // self.heads
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).reshape(n, t, 3, self.heads, hd).permute(2, 0, 3, 1, 4).unbind(0)
        att = (q * hd ** -0.5) @ k.transpose(-2, -1)
        if mask is not None:
            att = att + mask
        y = att.softmax(dim=-1) @ v
        return self.out_proj(y.transpose(1, 2).reshape(n, t, w))
