"""`regionclip detect` on a folder of world images with the built-in model, in PyTorch eager (Debian's
python3-torch), for the end-to-end ratio in README "Benchmarks" (issue 17). The modules are the built-in
model's (training/regionclip_train/models.py, preset small) with random weights (speed does not depend on
them); the stages are bench/detect_torch.py's Pipeline: decode + resize + normalize, the RPN graph,
torchvision's RegionProposalNetwork with the manifest's settings (padded to --proposals), backbone +
roi_align + head in batches of 64, scoring (cosine with background, softmax, fusion, batched NMS). The
vocabulary's text embeddings are precomputed once (our side reads them from its warm cache).

    /usr/bin/python3 bench/detect_world_torch.py --images /tmp/wc/images --labels 856 --threads 1
Prints the wall time over all images (model build and imports excluded) and the region stage's share.
"""
import argparse
import json
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from detect_torch import Pipeline  # noqa: E402  (builds the built-in model's modules: detect_torch.build_world_models)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "world-rn-small"))
    ap.add_argument("--labels", type=int, default=856)
    ap.add_argument("--proposals", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = Pipeline(args.model)
    text = torch.nn.functional.normalize(torch.randn(args.labels, pipe.m["embedDim"]), dim=1)
    files = sorted(os.path.join(args.images, f) for f in os.listdir(args.images))
    stages = dict(preprocess=0.0, rpn=0.0, proposals=0.0, region=0.0, scoring=0.0)
    with torch.no_grad():
        t_all = time.perf_counter()
        for path in files:
            t0 = time.perf_counter()
            x = pipe.preprocess(path)
            t1 = time.perf_counter()
            o0, d0, o1, d1 = pipe.models["rpn"](x.rpn_in)
            t2 = time.perf_counter()
            props, kept, _ = pipe.propose(x, [o0, o1], [d0, d1], args.proposals)
            t3 = time.perf_counter()
            region = pipe.embed_regions(x, props, 64)
            t4 = time.perf_counter()
            pipe.score(x, region, text, props, kept)
            t5 = time.perf_counter()
            for k, a, b in (("preprocess", t0, t1), ("rpn", t1, t2), ("proposals", t2, t3), ("region", t3, t4), ("scoring", t4, t5)):
                stages[k] += (b - a) * 1000
        total = (time.perf_counter() - t_all) * 1000
    print(json.dumps({"images": len(files), "threads": torch.get_num_threads(), "total_ms": round(total), **{k: round(v) for k, v in stages.items()}}))


if __name__ == "__main__":
    main()
