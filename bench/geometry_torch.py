"""The same work as bench/geometry.ts, timed in torchvision (Debian's python3-torchvision).

Run: /usr/bin/python3 bench/geometry_torch.py [threads]   (default 1 thread, like the JS port)
Inputs come from the same 32-bit LCG as bench/random.ts, so both time identical boxes.
"""
import sys
import time

import torch
import torchvision

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
WIDTH, HEIGHT = 1088, 800


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
        print(f"nms        {n:6d} boxes  iou>{thr}  {ms:9.2f} ms  (kept {kept[0]})")

gen = lcg(7)
N, C, H, W = 1, 256, 50, 68
data = torch.tensor([next(gen) * 2 - 1 for _ in range(N * C * H * W)], dtype=torch.float32).reshape(N, C, H, W)
k = 1000
boxes = random_boxes(gen, k, WIDTH, HEIGHT, 16, 400)
rois = torch.cat([torch.zeros(k, 1), boxes], dim=1)
for ratio in (0, 2):
    ms = time_ms(lambda: torchvision.ops.roi_align(data, rois, (14, 14), 1 / 16, ratio, True), 5, 1)
    print(f"roiAlign   {k} RoIs x {C} ch x 14x14 from {N}x{C}x{H}x{W}, sampling {'adaptive' if ratio == 0 else ratio}, aligned  {ms:8.1f} ms")
