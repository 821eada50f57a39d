"""Random checkpoints with the structure of the real ones (training/convert/fakes.py), for the converters'
tests and benchmarks (offline tooling: Debian's python3-torch).

    /usr/bin/python3 training/make_fake_checkpoints.py --kind openai-jit --size tiny --seed 0 --out /tmp/fake/RN50.pt
    /usr/bin/python3 training/make_fake_checkpoints.py --kind regionclip-pretrained --size full --out /tmp/fake/pretrained-rn50.pth

    /usr/bin/python3 training/make_fake_checkpoints.py --kind rpn-c4 --size full --out /tmp/fake/rpn_coco_48.pth

--size tiny: a 1-block-per-stage ResNet (width 8), a 1-layer 128-wide text tower over the 714-token vocabulary
of fixtures/models/tiny-clip, a tiny detectron2 R50 (stem 8 channels, FPN 32); a few MB.
--size full: RN50 / R50-FPN / R50-C4 sizes (about 0.2-0.7 GB): benchmarks only, write them under /tmp.
--arch picks the OpenAI architecture (default RN50 for full, tiny-RN for tiny).
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert import fakes  # noqa: E402
from convert.clip_modules import ARCHS  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", required=True, choices=["openai-jit", "regionclip-pretrained", "regionclip-finetuned", "rpn-fpn", "rpn-c4"])
    ap.add_argument("--size", default="tiny", choices=["tiny", "full"])
    ap.add_argument("--arch", choices=sorted(ARCHS), help="OpenAI architecture (openai-jit only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    t0 = time.time()
    if args.kind == "openai-jit":
        fakes.openai_jit(args.arch or ("RN50" if args.size == "full" else "tiny-RN"), gen, args.out)
    elif args.kind.startswith("rpn-"):
        fakes.detectron2_rpn(args.kind, args.size, gen, args.out)
    else:
        fakes.regionclip(args.kind, args.size, gen, args.out)
    print(f"{args.out}: {os.path.getsize(args.out):,d} bytes in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
