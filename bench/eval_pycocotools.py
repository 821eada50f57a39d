"""pycocotools on the data of bench/eval.ts, for comparison.

    npm run bench:eval -- --write /tmp/bench-coco
    python3 bench/eval_pycocotools.py /tmp/bench-coco
"""
import resource
import sys
import time

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

folder = sys.argv[1] if len(sys.argv) > 1 else '/tmp/bench-coco'
gt = COCO(f'{folder}/gt.json')
dt = gt.loadRes(f'{folder}/results.json')
t0 = time.perf_counter()
E = COCOeval(gt, dt, iouType='bbox')
E.evaluate()
E.accumulate()
E.summarize()
t1 = time.perf_counter()
print(f'pycocotools evaluate + accumulate + summarize {1000 * (t1 - t0):.0f} ms, '
      f'peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB')
