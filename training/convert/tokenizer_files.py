"""The tokenizer files of a converted folder: Hugging Face CLIP `vocab.json` + `merges.txt`, copied from a
folder (--tokenizer-dir: a transformers.js / HF CLIP folder, or ../shared/golden/clip-tokenizer) or made from
OpenAI's `bpe_simple_vocab_16e6.txt.gz` (--bpe) the way CLIP's SimpleTokenizer builds its vocabulary:
merges = lines[1 : 49152 - 256 - 2 + 1]; vocab = 256 byte symbols, the same with </w>, one per merge,
<|startoftext|>, <|endoftext|> (49 408 entries). The vocabulary size must equal the text tower's.
"""
import gzip
import json
import os
import shutil

from export_tiny_clip import bytes_to_unicode, write_bpe_files

from .checkpoints import ConversionError


def add_arguments(ap):
    ap.add_argument("--tokenizer-dir", help="folder with vocab.json + merges.txt (e.g. a transformers.js CLIP folder)")
    ap.add_argument("--bpe", help="OpenAI's bpe_simple_vocab_16e6.txt.gz, converted to vocab.json + merges.txt")


def vocab_from_bpe(path):
    lines = gzip.open(path).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_tokenizer(args, out, vocab_size):
    """vocab.json + merges.txt into `out`; refuses a vocabulary whose size differs from the text tower's."""
    if args.bpe:
        vocab, merges = vocab_from_bpe(args.bpe)
        write_bpe_files(vocab, merges, out)
    elif args.tokenizer_dir:
        for name in ("vocab.json", "merges.txt"):
            src = os.path.join(args.tokenizer_dir, name)
            if not os.path.exists(src):
                raise ConversionError(f"--tokenizer-dir {args.tokenizer_dir}: no {name}")
            if os.path.abspath(src) != os.path.abspath(os.path.join(out, name)):
                shutil.copyfile(src, os.path.join(out, name))
    else:
        raise ConversionError("a tokenizer is needed: --tokenizer-dir DIR (vocab.json + merges.txt) or --bpe bpe_simple_vocab_16e6.txt.gz")
    with open(os.path.join(out, "vocab.json"), encoding="utf-8") as f:
        size = len(json.load(f))
    if size != vocab_size:
        raise ConversionError(f"the tokenizer has {size} tokens, the text tower's token_embedding {vocab_size} rows")
