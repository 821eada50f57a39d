"""Helpers shared by training/export_tiny_detector.py and training/reference_detect.py (offline tooling;
Debian's python3-torch / Pillow): the fixture images, CLIP's SimpleTokenizer semantics, prompt filling,
detectron2's resize rule and the detector's pixel normalization."""
import html
import json
import os
import random
import re

import torch
from PIL import Image, ImageDraw

from export_tiny_clip import bytes_to_unicode


def fixture_images():
    """Two deterministic RGB images: shapes on a noisy gradient (no two pixels' neighbourhoods alike, so
    no tied objectness scores), and a 20x14 image smaller than the smallest anchor."""

    def noisy(w, h, seed, draw_fn):
        img = Image.new("RGB", (w, h))
        img.putdata([(60 + x // 2, 90 + y // 2, 140 - x // 4) for y in range(h) for x in range(w)])
        draw_fn(ImageDraw.Draw(img))
        rng = random.Random(seed)
        px = [tuple(max(0, min(255, c + rng.randint(-14, 14))) for c in p) for p in img.getdata()]
        img.putdata(px)
        return img

    def shapes(d):
        d.rectangle([14, 16, 58, 60], fill=(220, 30, 30))
        d.ellipse([88, 12, 140, 64], fill=(30, 60, 220))
        d.polygon([(40, 112), (78, 70), (116, 112)], fill=(30, 190, 50))
        d.rectangle([124, 80, 152, 110], fill=(235, 220, 40))

    def tiny(d):
        d.rectangle([4, 3, 11, 10], fill=(220, 30, 30))

    return {"shapes": noisy(160, 120, 1, shapes), "tiny": noisy(20, 14, 2, tiny)}


def make_images(folder):
    os.makedirs(folder, exist_ok=True)
    for name, img in fixture_images().items():
        img.save(os.path.join(folder, f"{name}.png"))


# ---------------------------------------------------------------- tokenizer (OpenAI SimpleTokenizer semantics)
class SimpleTokenizer:
    """OpenAI CLIP's SimpleTokenizer on a vocab.json / merges.txt pair. The `regex` module is not in Debian's
    python3 here, so \\p{L} / \\p{N} are spelled with `re` classes (exact for the ASCII prompts used)."""

    PAT = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+""", re.IGNORECASE)

    def __init__(self, folder=None, encoder=None, merges=None):
        if folder is not None:
            with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
                encoder = json.load(f)
            with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
                lines = f.read().split("\n")
            merges = [tuple(line.split()) for line in lines[1:] if line.strip()]
        self.encoder = encoder
        self.bpe_ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.sot, self.eot = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]

    def bpe(self, token):
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if best not in self.bpe_ranks:
                break
            first, second = best
            out, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    out.extend(word[i:])
                    break
                out.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    out.append(first + second)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = tuple(out)
        return word

    def encode(self, text):
        text = html.unescape(html.unescape(text)).strip()
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for token in self.PAT.findall(text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token))
        return ids

    def __call__(self, texts, context=77):
        out = torch.zeros(len(texts), context, dtype=torch.int64)
        for i, t in enumerate(texts):
            ids = [self.sot] + self.encode(t) + [self.eot]
            if len(ids) > context:
                ids = ids[:context - 1] + [self.eot]
            out[i, :len(ids)] = torch.tensor(ids)
        return out


# The article fix-up's word lists, shared with the TypeScript runtime (src/text/articles.ts reads the same file).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "text", "articles.json"), encoding="utf-8") as _f:
    _ARTICLES = json.load(_f)
_DETERMINERS = set(_ARTICLES["determiners"])
_AN_BEFORE_CONSONANT_LETTER = re.compile(_ARTICLES["anBeforeConsonantLetter"])
_A_BEFORE_VOWEL_LETTER = re.compile(_ARTICLES["aBeforeVowelLetter"])
_AN_BEFORE_NUMBER = re.compile(_ARTICLES["anBeforeNumber"])
_NO_VOWELS = re.compile(r"^[bcdfghjklmnpqrstvwxz]{2,}[0-9]*s?$")


def _by_letter_name(word):
    return "an" if word[0].lower() in _ARTICLES["vowelSoundLetters"] else "a"


def has_own_determiner(phrase):
    """The phrase starts with a determiner or count ("a man", "two dogs"): templates are filled verbatim
    (src/text/articles.ts hasOwnDeterminer)."""
    words = phrase.split()
    if not words:
        return False
    first = words[0].lower()
    return first in _DETERMINERS or (len(words) > 1 and re.fullmatch(r"[0-9]+(?:[.,][0-9]+)*", first) is not None)


def _capitals(segment):
    """A capital, then capitals or digits, perhaps a plural "s": "MRI", "SUVs", "MP3", "A4"."""
    body = segment[:-1] if len(segment) > 2 and segment.endswith("s") else segment
    return len(body) >= 2 and body[0].isalpha() and body[0].isupper() and all((c.isalpha() and c.isupper()) or c.isdigit() for c in body[1:])


def indefinite_article(phrase):
    """a / an by the phrase's first sound: the same rule and word lists as src/text/articles.ts."""
    words = phrase.split()
    first = re.sub(r"^[\W_]+", "", words[0]) if words else ""
    if not first:
        return "a"
    if first[0] in "0123456789":
        return "an" if _AN_BEFORE_NUMBER.match(first) else "a"
    segment = re.split(r"[-.]", first)[0]
    if len(segment) == 1 and segment.isalpha():
        return _by_letter_name(segment)
    lower = segment.lower()
    singular = lower[:-1] if len(lower) > 1 and lower.endswith("s") else lower
    shouted = not any(c.islower() for c in phrase)
    if _capitals(segment) and (not shouted or (len(words) == 1 and sum(c.isalpha() for c in segment) <= 4)):
        return _ARTICLES["wordAcronyms"].get(singular) or _by_letter_name(segment)
    if lower in _ARTICLES["initialisms"] or singular in _ARTICLES["initialisms"] or (_NO_VOWELS.match(lower) and lower not in _ARTICLES["abbreviations"]):
        return _by_letter_name(lower)
    if lower in _ARTICLES["wordAcronyms"]:
        return _ARTICLES["wordAcronyms"][lower]
    if _AN_BEFORE_CONSONANT_LETTER.match(lower):
        return "an"
    if _A_BEFORE_VOWEL_LETTER.match(lower):
        return "a"
    return "an" if lower[0] in "aeiou" else "a"


def fill_template(template, phrase):
    """The template with the phrase, its article before {} fixed unless the phrase has its own determiner."""
    if not has_own_determiner(phrase):
        art = indefinite_article(phrase)
        template = re.sub(r"\b([Aa]n?) \{\}", lambda m: (art[0].upper() + art[1:] if m.group(1)[0] == "A" else art) + " {}", template)
    return template.replace("{}", phrase)


# ---------------------------------------------------------------- pipeline pieces
def output_shape(h, w, short_edge, max_size):
    """detectron2 ResizeShortestEdge.get_output_shape."""
    scale = short_edge / min(h, w)
    newh, neww = (short_edge, scale * w) if h < w else (scale * h, short_edge)
    if max(newh, neww) > max_size:
        s = max_size / max(newh, neww)
        newh, neww = newh * s, neww * s
    return int(newh + 0.5), int(neww + 0.5)


def to_u8(img):
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).reshape(img.height, img.width, 3)


def normalize_pixels(u8, norm, pad_to=None):
    """[H, W, 3] uint8 RGB -> [1, 3, Hp, Wp] float32 (u - mean) / std in norm's channel order, zero-padded."""
    order = [2, 1, 0] if norm["channelOrder"] == "BGR" else [0, 1, 2]
    x = u8[:, :, order].permute(2, 0, 1).to(torch.float32)
    mean = torch.tensor(norm["pixelMean"], dtype=torch.float32)[:, None, None]
    std = torch.tensor(norm["pixelStd"], dtype=torch.float32)[:, None, None]
    x = (x - mean) / std
    h, w = x.shape[1:]
    hp, wp = pad_to or (h, w)
    out = torch.zeros(1, 3, hp, wp, dtype=torch.float32)
    out[0, :, :h, :w] = x
    return out


def padded_size(h, w, div):
    return (h + div - 1) // div * div, (w + div - 1) // div * div
