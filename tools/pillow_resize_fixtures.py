"""Writes fixtures/golden/pillow-resize.json: small random images resized by Pillow (Debian
python3-pil 9.4), so the Pillow-port tests always run without ../shared.

    /usr/bin/python3 tools/pillow_resize_fixtures.py
"""
import json
import random

import PIL
from PIL import Image

random.seed(7)
cases = []
for mode, channels in (("RGB", 3), ("L", 1), ("RGBA", 4)):
    for (w, h), (ow, oh) in (((13, 9), (5, 7)), ((13, 9), (29, 17)), ((40, 30), (11, 30)), ((7, 5), (7, 12))):
        for name, flt in (("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR)):
            data = bytes(random.choice((0, 255, random.randrange(256))) for _ in range(w * h * channels))
            out = Image.frombytes(mode, (w, h), data).resize((ow, oh), flt)
            cases.append({"mode": mode, "channels": channels, "filter": name, "size": [w, h], "out_size": [ow, oh],
                          "input": list(data), "output": list(out.tobytes())})
# Palette images are resized NEAREST by Pillow whatever filter is asked for.
pal = Image.frombytes("L", (11, 7), bytes(random.randrange(256) for _ in range(77))).convert("P")
out = pal.resize((23, 4), Image.BICUBIC).convert("RGB")
cases.append({"mode": "P", "channels": 3, "filter": "nearest", "size": [11, 7], "out_size": [23, 4],
              "input": list(pal.convert("RGB").tobytes()), "output": list(out.tobytes())})
with open("fixtures/golden/pillow-resize.json", "w") as f:
    json.dump({"source": f"Pillow {PIL.__version__} Image.resize", "cases": cases}, f)
print(len(cases), "cases")
