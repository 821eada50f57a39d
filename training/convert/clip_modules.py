"""CLIP's towers re-implemented with OpenAI's parameter names and shapes (openai/CLIP clip/model.py:
ModifiedResNet, AttentionPool2d, VisionTransformer, the text transformer, build_model's shape inference).

  ModifiedResNet     3-conv stem (+ avgpool 2), Bottleneck layers with anti-aliased strides (AvgPool2d after
                     conv2 and before downsample.0), AttentionPool2d (mean token + positional embedding, one
                     query). `norm` is nn.BatchNorm2d for OpenAI's `visual.*` and FrozenBatchNorm2d for
                     RegionCLIP's `backbone.*` / `teacher_backbone.*` (no num_batches_tracked).
                     Split for RegionCLIP's features mode: res4() = stem..layer3 (stride 16), head() = layer4 +
                     attnpool; forward(x) == head(res4(x)).
  VisionTransformer  conv patches, class token, ln_pre, transformer, ln_post, proj.
  TextTransformer    token + positional embedding, causal transformer (QuickGELU), ln_final, the EOT token
                     (argmax of the ids: EOT is the largest id) times text_projection. Its state dict is OpenAI's
                     top-level text keys, and RegionCLIP's `lang_encoder.*` (no logit_scale).
  Clip               TextTransformer + visual + logit_scale: OpenAI's full state dict.

Glossary: N batch, L tokens, W width, E embedding size (D elsewhere), S input resolution, G = S/32 grid.
"""
from collections import OrderedDict

import torch
from torch import nn

from .layers import FrozenBatchNorm2d, QuickGELU, SelfAttention


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = norm(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = norm(planes * 4)
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(OrderedDict([
                ("-1", nn.AvgPool2d(stride)), ("0", nn.Conv2d(inplanes, planes * 4, 1, bias=False)), ("1", norm(planes * 4))]))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


class AttentionPool2d(nn.Module):
    def __init__(self, grid, width, heads, output_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width) / width ** 0.5)
        self.k_proj, self.q_proj, self.v_proj = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.c_proj = nn.Linear(width, output_dim)
        self.heads = heads

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        x = x.flatten(2).transpose(1, 2)  # N, HW, C
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1) + self.positional_embedding
        hd = c // self.heads
        q = self.q_proj(x[:, :1]).reshape(n, 1, self.heads, hd).transpose(1, 2)
        k = self.k_proj(x).reshape(n, -1, self.heads, hd).transpose(1, 2)
        v = self.v_proj(x).reshape(n, -1, self.heads, hd).transpose(1, 2)
        att = ((q * hd ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(n, c))


class ModifiedResNet(nn.Module):
    def __init__(self, layers, output_dim, heads, input_resolution, width, norm=nn.BatchNorm2d):
        super().__init__()
        self.input_resolution = input_resolution
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = norm(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = norm(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = norm(width)
        self.avgpool = nn.AvgPool2d(2)
        inplanes = width
        for i, blocks in enumerate(layers):
            planes, stride = width * 2 ** i, 1 if i == 0 else 2
            stage = [Bottleneck(inplanes, planes, stride, norm)] + [Bottleneck(planes * 4, planes, 1, norm) for _ in range(blocks - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
            inplanes = planes * 4
        self.attnpool = AttentionPool2d(input_resolution // 32, width * 32, heads, output_dim)

    def res4(self, x):
        """Stem, layer1..3: the stride-16 feature map RegionCLIP pools regions from."""
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = self.avgpool(torch.relu(self.bn3(self.conv3(x))))
        return self.layer3(self.layer2(self.layer1(x)))

    def head(self, roi_features):
        """layer4 (res5) + attention pool: RoI features [R, 16W, S/16, S/16] -> [R, E]."""
        return self.attnpool(self.layer4(roi_features))

    def forward(self, x):
        return self.head(self.res4(x))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.attn = SelfAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(width * 4, width))]))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x, mask=None):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x, mask=None):
        for block in self.resblocks:
            x = block(x, mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution, patch_size, width, layers, heads, output_dim):
        super().__init__()
        self.input_resolution = input_resolution
        self.conv1 = nn.Conv2d(3, width, patch_size, stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn((input_resolution // patch_size) ** 2 + 1, width) * width ** -0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, output_dim) * width ** -0.5)

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], dim=1) + self.positional_embedding
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0]) @ self.proj


class TextTransformer(nn.Module):
    def __init__(self, embed_dim, context_length, vocab_size, width, heads, layers):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.randn(context_length, width) * 0.01)
        self.transformer = Transformer(width, layers, heads)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.randn(width, embed_dim) * width ** -0.5)

    def encode_text(self, input_ids):
        """Any length L <= context_length: causal attention pooled at EOT, so ids cut after the last EOT of a batch
        give the same embeddings (the exported graph's sequence axis is free: both slices follow the ids' shape)."""
        context, L = self.positional_embedding.shape[0], input_ids.shape[1]
        causal_mask = torch.full((context, context), float("-inf")).triu(1)[:L, :L]  # not state: OpenAI keeps it as a plain attribute
        x = self.token_embedding(input_ids) + self.positional_embedding[:L]
        x = self.ln_final(self.transformer(x, causal_mask))
        return x[torch.arange(x.shape[0]), input_ids.argmax(dim=-1)] @ self.text_projection

    def forward(self, input_ids):
        return self.encode_text(input_ids)


class Clip(TextTransformer):
    """OpenAI's CLIP: the text keys at the top level, `visual.*`, `logit_scale` (log of 1/0.07 at init)."""

    def __init__(self, visual, text):
        super().__init__(**text)
        self.visual = visual
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))


def visual_config(sd):
    """ModifiedResNet / VisionTransformer hyper-parameters from a visual state dict (no prefix), the way
    CLIP's build_model infers them: heads = width // 64 (ViT) or width * 32 // 64 (ResNet)."""
    if "proj" in sd:
        width = sd["conv1.weight"].shape[0]
        patch = sd["conv1.weight"].shape[-1]
        grid = round((sd["positional_embedding"].shape[0] - 1) ** 0.5)
        layers = len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})
        return {"kind": "vit", "input_resolution": patch * grid, "patch_size": patch, "width": width, "layers": layers,
                "heads": width // 64, "output_dim": sd["proj"].shape[1]}
    layers = [len({k.split(".")[1] for k in sd if k.startswith(f"layer{b}.")}) for b in (1, 2, 3, 4)]
    width = sd["layer1.0.conv1.weight"].shape[0]
    grid = round((sd["attnpool.positional_embedding"].shape[0] - 1) ** 0.5)
    return {"kind": "resnet", "layers": layers, "output_dim": sd["attnpool.c_proj.weight"].shape[0], "heads": width * 32 // 64,
            "input_resolution": grid * 32, "width": width}


def text_config(sd):
    """TextTransformer hyper-parameters from a text state dict (no prefix), as build_model infers them."""
    width = sd["ln_final.weight"].shape[0]
    return {"embed_dim": sd["text_projection"].shape[1], "context_length": sd["positional_embedding"].shape[0],
            "vocab_size": sd["token_embedding.weight"].shape[0], "width": width, "heads": width // 64,
            "layers": len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})}


def build_visual(config, frozen_bn=False):
    c = {k: v for k, v in config.items() if k != "kind"}
    if config["kind"] == "vit":
        return VisionTransformer(**c)
    return ModifiedResNet(**c, norm=FrozenBatchNorm2d if frozen_bn else nn.BatchNorm2d)


# Architectures by name (OpenAI's released models; RegionCLIP's depth 50 / 200 flags build RN50 / RN50x4).
TEXT_512 = dict(context_length=77, vocab_size=49408, width=512, heads=8, layers=12)
ARCHS = {
    "RN50": (dict(kind="resnet", layers=[3, 4, 6, 3], output_dim=1024, heads=32, input_resolution=224, width=64), dict(TEXT_512, embed_dim=1024)),
    "RN50x4": (dict(kind="resnet", layers=[4, 6, 10, 6], output_dim=640, heads=40, input_resolution=288, width=80),
               dict(embed_dim=640, context_length=77, vocab_size=49408, width=640, heads=10, layers=12)),
    "ViT-B/32": (dict(kind="vit", input_resolution=224, patch_size=32, width=768, layers=12, heads=12, output_dim=512), dict(TEXT_512, embed_dim=512)),
    "ViT-B/16": (dict(kind="vit", input_resolution=224, patch_size=16, width=768, layers=12, heads=12, output_dim=512), dict(TEXT_512, embed_dim=512)),
    # tiny: structure-identical test sizes (heads >= 2 everywhere; the vocabulary of fixtures/models/tiny-clip)
    "tiny-RN": (dict(kind="resnet", layers=[1, 1, 1, 1], output_dim=64, heads=4, input_resolution=64, width=8),
                dict(embed_dim=64, context_length=77, vocab_size=714, width=128, heads=2, layers=1)),
    "tiny-ViT": (dict(kind="vit", input_resolution=32, patch_size=16, width=128, layers=1, heads=2, output_dim=64),
                 dict(embed_dim=64, context_length=77, vocab_size=714, width=128, heads=2, layers=1)),
}
