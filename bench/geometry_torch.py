"""The same work as bench/geometry.ts, timed in torchvision (Debian's python3-torchvision).

Run: /usr/bin/python3 bench/geometry_torch.py [threads] [--json]   (default 1 thread, like the JS port)
Inputs come from the same 32-bit LCG as bench/random.ts, so both time identical boxes. `--json` prints one
JSON object {case: ms} last, with the same case names as geometry.ts.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection._utils import BoxCoder

args = [a for a in sys.argv[1:] if a != "--json"]
as_json = "--json" in sys.argv[1:]
torch.set_num_threads(int(args[0]) if args else 1)
WIDTH, HEIGHT = 1088, 800
results = {}


def report(name, ms, note=""):
    results[name] = ms
    if not as_json:
        print(f"{name:<34} {ms:9.2f} ms{note}")


def lcg(seed):
    state = seed & 0xFFFFFFFF
    while True:
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        yield state / 4294967296


def random_boxes(gen, n, width, height, min_side, max_side):
    out = []
    for _ in range(n):
        w = min_side + next(gen) * (max_side - min_side)
        h = min_side + next(gen) * (max_side - min_side)
        x = next(gen) * (width - w)
        y = next(gen) * (height - h)
        out.append([x, y, x + w, y + h])
    return torch.tensor(out, dtype=torch.float32)


def random_deltas(gen, n):
    out = []
    for _ in range(n):
        out.append([(next(gen) - 0.5) * 0.4, (next(gen) - 0.5) * 0.4, (next(gen) - 0.5) * 2, (next(gen) - 0.5) * 2])
    return torch.tensor(out, dtype=torch.float32)


def time_ms(fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


if not as_json:
    print(f"torchvision {torchvision.__version__} / torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
for n in (1000, 6000, 20000):
    gen = lcg(n)
    boxes = random_boxes(gen, n, WIDTH, HEIGHT, 8, 300)
    scores = torch.tensor([next(gen) for _ in range(n)], dtype=torch.float32)
    for thr in (0.7, 0.5):
        kept = [0]

        def run():
            kept[0] = len(torchvision.ops.nms(boxes, scores, thr))
        ms = time_ms(run, 5 if n >= 20000 else 11)
        report(f"nms {n} iou>{thr}", ms, f"  (kept {kept[0]})")

gen = lcg(7)
N, C, H, W = 1, 256, 50, 68
data = torch.tensor([next(gen) * 2 - 1 for _ in range(N * C * H * W)], dtype=torch.float32).reshape(N, C, H, W)
k = 1000
boxes = random_boxes(gen, k, WIDTH, HEIGHT, 16, 400)
rois = torch.cat([torch.zeros(k, 1), boxes], dim=1)
for ratio in (0, 2):
    ms = time_ms(lambda: torchvision.ops.roi_align(data, rois, (14, 14), 1 / 16, ratio, True), 5, 1)
    report(f"roiAlign {'adaptive' if ratio == 0 else f'sampling {ratio}'}", ms,
           f"  ({k} RoIs x {C} ch x 14x14 from {N}x{C}x{H}x{W}, aligned)")

# The RPN: 1000 top anchors on each of 2 levels (BoxCoder.decode concatenates the levels), weights 1.
gen = lcg(11)
levels = []
for _ in range(2):
    anchors = random_boxes(gen, 1000, WIDTH, HEIGHT, 8, 300)
    levels.append((anchors, random_deltas(gen, 1000)))
rpn_coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
rpn_deltas = torch.cat([d for _, d in levels])
rpn_anchors = [a for a, _ in levels]
report("decode rpn 2x1000", time_ms(lambda: rpn_coder.decode(rpn_deltas, rpn_anchors), 51, 5))
# A box head's class-specific deltas: 1000 proposals x 81 classes, weights (10, 10, 5, 5).
proposals = random_boxes(gen, 1000, WIDTH, HEIGHT, 8, 300)
head_deltas = random_deltas(gen, 1000 * 81).reshape(1000, 81 * 4)
head_coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
report("decode head 1000x81", time_ms(lambda: head_coder.decode(head_deltas, [proposals]), 21, 3))

# RegionCLIP's zero-shot scoring: 1000 regions against LVIS's 1203 phrases and a background.
for dim in (128, 1024):
    gen = lcg(dim)
    regions = torch.tensor([next(gen) * 2 - 1 for _ in range(1000 * dim)], dtype=torch.float32).reshape(1000, dim)
    phrases = torch.tensor([next(gen) * 2 - 1 for _ in range(1203 * dim)], dtype=torch.float32).reshape(1203, dim)
    background = torch.tensor([next(gen) * 2 - 1 for _ in range(dim)], dtype=torch.float32)

    def score():
        cols = F.normalize(torch.cat([phrases, background[None]]), dim=1)
        probs = torch.softmax(F.normalize(regions, dim=1) @ cols.T / 0.01, dim=1)
        return probs[:, :1203].contiguous()
    report(f"score 1000x1203 D={dim}", time_ms(score, 3 if dim >= 1024 else 7, 1), "  (normalize, cosine, background, softmax)")

if as_json:
    print(json.dumps(results))
