"""Export tiny random-weight CLIP towers to ONNX with the real I/O signatures, plus torch reference
outputs for fixed inputs, as test fixtures (offline tooling: Debian's python3-torch; never run at
run time).

    /usr/bin/python3 training/export_tiny_clip.py --out fixtures/models/tiny-clip
    /usr/bin/python3 training/export_tiny_clip.py --out /tmp/vitb32 --preset vit-b32 --no-reference

Text tower:   input_ids int64 [B, L]         -> text_embeds  float32 [B, D]   (L free, at most 77)
Vision tower: pixel_values float32 [B, 3, S, S] -> image_embeds float32 [B, D]
(the names transformers.js' CLIP exports use). The text tower is causal and pools at the EOT token, found as
the argmax of the ids (EOT is the largest id, as in CLIP's vocab), so ids cut after a batch's last EOT give
the same embeddings (manifest tokenizer.padding "longest"). Embeddings are not normalized: the runtime
normalizes them. (The committed fixtures under fixtures/models/ predate the free axis: their text graphs take
77 positions, as older folders do.)

The tokenizer is a small byte-level BPE in the Hugging Face CLIP layout (vocab.json + merges.txt):
256 byte symbols, the same with </w>, merges learned from a fixed word list, then
<|startoftext|> and <|endoftext|>.
"""
import argparse
import json
import os
import random
from collections import Counter

from file_hash import sha256  # noqa: F401  (re-exported: export_tiny_detector, convert.manifests)
import torch
from torch import nn

WORDS = """a photo of the cat dog car person traffic light red jacket parked bicycle next to on in with
and man woman waits at street table cup tv couch mouse keyboard teddy bear fire hydrant pizza plate
slice two three small large blue green bus train truck boat bird horse sheep cow elephant zebra
giraffe umbrella handbag tie suitcase frisbee skis snowboard kite bottle wine glass fork knife
spoon bowl banana apple sandwich orange broccoli carrot hot cake chair potted plant bed toilet
laptop remote cell phone microwave oven toaster sink book clock vase scissors hair drier toothbrush""".split()


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def learn_bpe(words, n_merges):
    b2u = bytes_to_unicode()
    corpus = Counter()
    for w in words:
        symbols = [b2u[b] for b in w.encode("utf-8")]
        symbols[-1] += "</w>"
        corpus[tuple(symbols)] += 1
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for word, freq in corpus.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] += freq
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        new_corpus = Counter()
        for word, freq in corpus.items():
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_corpus[tuple(out)] += freq
        corpus = new_corpus
    symbols = list(b2u.values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(vocab)}, merges


class Attention(nn.Module):
    """Plain multi-head self-attention (nn.MultiheadAttention's fused eval path does not export)."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x, mask=None):
        b, t, w = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) * (w // self.heads) ** -0.5
        if mask is not None:
            att = att + mask
        y = att.softmax(dim=-1) @ v
        return self.out(y.transpose(1, 2).reshape(b, t, w))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, width * 4), nn.GELU(), nn.Linear(width * 4, width))

    def forward(self, x, mask=None):
        h = self.ln_1(x)
        x = x + self.attn(h, mask)
        return x + self.mlp(self.ln_2(x))


class TextTower(nn.Module):
    def __init__(self, vocab_size, width, layers, heads, embed_dim, context=77):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.randn(context, width) * 0.01)
        self.blocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.randn(width, embed_dim) * width ** -0.5)
        self.register_buffer("mask", torch.full((context, context), float("-inf")).triu(1))

    def forward(self, input_ids):
        # Any L <= context: causal attention, pooled at EOT, so ids cut after the last EOT give the same output.
        L = input_ids.shape[1]
        x = self.token_embedding(input_ids) + self.positional_embedding[:L]
        for block in self.blocks:
            x = block(x, self.mask[:L, :L])
        x = self.ln_final(x)
        eot = input_ids.argmax(dim=-1)
        return x[torch.arange(x.shape[0]), eot] @ self.text_projection


class VisionTower(nn.Module):
    def __init__(self, image_size, patch, width, layers, heads, embed_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        n = (image_size // patch) ** 2
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn(n + 1, width) * width ** -0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed_dim) * width ** -0.5)

    def forward(self, pixel_values):
        x = self.conv1(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x[:, 0]) @ self.proj


PRESETS = {
    # tiny: fixtures for tests (well under 1 MiB per graph)
    "tiny": dict(image_size=32, patch=8, v_width=32, v_layers=1, v_heads=2, t_width=32, t_layers=1, t_heads=2, embed_dim=16, merges=200),
    # vit-b32: ViT-B/32-sized towers (random weights) for benchmarks only; never committed
    "vit-b32": dict(image_size=224, patch=32, v_width=768, v_layers=12, v_heads=12, t_width=512, t_layers=12, t_heads=8, embed_dim=512, merges=200),
}


def parse_args():
    """--out, --preset, --seed, --no-reference."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--preset", default="tiny", choices=PRESETS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-reference", action="store_true")
    return ap.parse_args()


def write_bpe_files(vocab, merges, out):
    """vocab.json and merges.txt in the Hugging Face CLIP layout."""
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


def export_towers(text, vision, vocab, S, out):
    """text_model.onnx and vision_model.onnx (opset 14, dynamic batch; the text tower's sequence axis is free too),
    traced on SOT/EOT ids and zero pixels."""
    ids_example = torch.zeros(2, 77, dtype=torch.int64)
    ids_example[:, 0] = vocab["<|startoftext|>"]
    ids_example[:, 1] = vocab["<|endoftext|>"]
    text_path = os.path.join(out, "text_model.onnx")
    vision_path = os.path.join(out, "vision_model.onnx")
    with torch.no_grad():
        torch.onnx.export(text, (ids_example,), text_path, input_names=["input_ids"], output_names=["text_embeds"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "text_embeds": {0: "batch"}}, opset_version=14)
        torch.onnx.export(vision, (torch.zeros(2, 3, S, S),), vision_path, input_names=["pixel_values"], output_names=["image_embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, opset_version=14)


def write_manifest(args, p, out):
    """manifest.json: graphs' I/O, tokenizer, CLIP preprocessing, and the files' sha256."""
    S = p["image_size"]
    manifest = {
        "name": f"{args.preset}-clip-random",
        "kind": "clip",
        "description": f"Random-weight CLIP towers with real I/O signatures ({args.preset}); made by training/export_tiny_clip.py --seed {args.seed}",
        "license": "MIT",
        "source": "training/export_tiny_clip.py",
        "embedDim": p["embed_dim"],
        "logitScale": 100.0,
        "tokenizer": {"vocab": "vocab.json", "merges": "merges.txt", "contextLength": 77, "padding": "longest"},
        "preprocess": {"size": S, "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
                       "channelOrder": "RGB", "interpolation": "bicubic", "crop": "center"},
        "graphs": {
            "text": {"file": "text_model.onnx",
                     "inputs": [{"name": "input_ids", "dtype": "int64", "dims": ["batch", "sequence"]}],
                     "outputs": [{"name": "text_embeds", "dtype": "float32", "dims": ["batch", p["embed_dim"]]}]},
            "vision": {"file": "vision_model.onnx",
                       "inputs": [{"name": "pixel_values", "dtype": "float32", "dims": ["batch", 3, S, S]}],
                       "outputs": [{"name": "image_embeds", "dtype": "float32", "dims": ["batch", p["embed_dim"]]}]},
        },
        "files": {},
    }
    for name in ("text_model.onnx", "vision_model.onnx", "vocab.json", "merges.txt"):
        manifest["files"][name] = {"sha256": sha256(os.path.join(out, name))}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def write_reference(text, vision, vocab, S, out):
    """reference.json: torch outputs for fixed inputs, ids with SOT ... EOT (EOT at varying positions) and pixels."""
    gen = torch.Generator().manual_seed(1234)
    eot, sot = vocab["<|endoftext|>"], vocab["<|startoftext|>"]
    ids = torch.zeros(3, 77, dtype=torch.int64)
    for row, length in enumerate((5, 12, 77)):
        ids[row, 0] = sot
        ids[row, 1:length - 1] = torch.randint(0, len(vocab) - 2, (length - 2,), generator=gen)
        ids[row, length - 1] = eot
    pixels = torch.randn(2, 3, S, S, generator=gen)
    with torch.no_grad():
        text_embeds = text(ids)
        image_embeds = vision(pixels)
    reference = {
        "input_ids": ids.flatten().tolist(), "input_ids_dims": list(ids.shape),
        "text_embeds": text_embeds.flatten().tolist(), "text_embeds_dims": list(text_embeds.shape),
        "pixel_values": pixels.flatten().tolist(), "pixel_values_dims": list(pixels.shape),
        "image_embeds": image_embeds.flatten().tolist(), "image_embeds_dims": list(image_embeds.shape),
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)


def main():
    """Seed, learn the tokenizer, build the towers (in that order: the weights depend on it), write the files."""
    args = parse_args()
    p = PRESETS[args.preset]
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    vocab, merges = learn_bpe(WORDS, p["merges"])
    write_bpe_files(vocab, merges, args.out)
    text = TextTower(len(vocab), p["t_width"], p["t_layers"], p["t_heads"], p["embed_dim"]).eval()
    vision = VisionTower(p["image_size"], p["patch"], p["v_width"], p["v_layers"], p["v_heads"], p["embed_dim"]).eval()
    export_towers(text, vision, vocab, p["image_size"], args.out)
    write_manifest(args, p, args.out)
    if not args.no_reference:
        write_reference(text, vision, vocab, p["image_size"], args.out)


if __name__ == "__main__":
    main()
