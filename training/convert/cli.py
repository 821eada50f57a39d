"""What the converter commands share: common options, building the CLIP towers from a checkpoint's trees,
and the error exit (a ConversionError prints one `error:` line and exits with 5, the CLI's model-load code)."""
import math
import os
import sys

from .checkpoints import ConversionError, load_strict
from .clip_modules import TextTransformer, build_visual, text_config, visual_config

EXIT_CONVERSION = 5


def add_common(ap):
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16"], help="weight storage of the graphs (I/O stays float32)")
    ap.add_argument("--name", help="model name in the manifest (default: the output folder's name)")
    ap.add_argument("--reference", help="also write torch-eager outputs on fixed inputs to this JSON file (parity checks)")


def run(main):
    try:
        main()
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_CONVERSION)


def _config(infer, sd, tree):
    try:
        return infer(sd)
    except KeyError as error:
        raise ConversionError(f"missing key {tree}{error.args[0]} (needed to infer the architecture)") from None


def build_visual_from(sd, tree, frozen_bn):
    """Our ModifiedResNet / VisionTransformer with the tree's weights (keys without the prefix `tree`)."""
    config = _config(visual_config, sd, tree)
    return load_strict(build_visual(config, frozen_bn=frozen_bn), sd, tree), config


def build_text_from(sd, tree):
    return load_strict(TextTransformer(**_config(text_config, sd, tree)), sd, tree)


def logit_scale_of(sd):
    """exp(logit_scale) when the checkpoint has one (OpenAI's), else RegionCLIP's 1 / 0.01."""
    return float(math.exp(float(sd["logit_scale"]))) if "logit_scale" in sd else 100.0


def model_name(args):
    return args.name or os.path.basename(os.path.normpath(args.out))
