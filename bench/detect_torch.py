"""The detection pipeline of training/reference_detect.py timed per stage in PyTorch eager (Debian's
python3-torch 1.13 / torchvision 0.14), for comparison with bench/detect.ts on the same machine.

    # models (not committed): tiny fixtures, plus the benchmark exports (about 30 s each)
    /usr/bin/python3 training/export_tiny_detector.py --preset rn50-features --out /tmp/regionclip-bench/rn50-features
    /usr/bin/python3 training/export_tiny_detector.py --preset vitb32-crop   --out /tmp/regionclip-bench/vitb32-crop
    # timing (tiny: ~5 s; rn50-features: ~1-2 min; vitb32-crop: ~2-3 min on 2 CPU cores)
    /usr/bin/python3 bench/detect_torch.py --model fixtures/models/tiny-detector-features
    /usr/bin/python3 bench/detect_torch.py --model /tmp/regionclip-bench/rn50-features --runs 1
    /usr/bin/python3 bench/detect_torch.py --model /tmp/regionclip-bench/vitb32-crop --runs 1

NOTE: Debian's python3-torch here has no MKL / optimized BLAS (torch.__config__: "MKL not found"; the
reference libblas): a 1024x1024 matmul runs at ~1 GFLOPS while mkldnn convolutions reach ~30 GFLOPS, so
the transformer / linear stages (text, ViT crops, attention pool) are far slower than a normal PyTorch
install. For the big models run with fewer proposals / phrases (--proposals 100 --phrases 10) and scale
the region / text stages linearly (they are per-region / per-prompt batched work).

One image (generated: 640x480 shapes on noise, or --image), 1000 proposals, a 100-phrase vocabulary
(100 words of export_tiny_clip.WORDS, or --phrases-file: one phrase a line) x 1 template. The models are
rebuilt from the manifest's preset and seed (export_tiny_detector.build_models), or for the built-in model
(made by training/train_world.py) from training/configs/models/<preset>.json (regionclip_train.models), with
random weights: speed does not depend on the weight values.

Proposal count: the benchmark manifests use preNmsTopK 6000 / level, nmsThreshold 0.9, postNmsTopK 1000,
so ~1000 survive NMS; if fewer do, the list is PADDED to exactly --proposals with the highest-scoring
pre-NMS boxes not already in it (printed as "padded"). The tiny models keep their manifest settings
(postNmsTopK 40), so for them the proposals are padded the same way to --proposals. --boxes FILE (a JSON
array of 4 x --proposals numbers, XYXY in original-image pixels; bench/all.ts passes the boxes our side
used) replaces the padded proposals for the region and scoring stages, so both sides embed the same boxes
(RoIAlign's adaptive sampling makes its cost depend on box sizes); the RPN and proposal stages still run.

Stages: preprocess (decode, resize, normalize + pad; features: also the backbone input; crop: the
original image normalized), rpn (the RPN graph), proposals (anchors, decode, top-k, clip, NMS: torchvision
RegionProposalNetwork), region (features: backbone + roi_align + head; crop: roi_align crops + vision tower;
--batch regions at a time), text (tokenize + text tower, --text-batch prompts at a time (default --batch);
a manifest with tokenizer.padding "longest" has each batch cut after its last EOT, as the runtime does;
else 77 positions), scoring (normalize, cosine, softmax, geometric fusion, threshold, batched NMS by
phrase). Milliseconds, median of --runs after one warm-up pass with 8 proposals and 4 phrases; --json
prints one JSON line instead (every run's stages, the counts, the versions) for bench/all.ts.
"""
import argparse
import json
import os
import re
import statistics
import sys
import time
import warnings
from collections import OrderedDict
from types import SimpleNamespace

import torch
import torchvision
from PIL import Image, ImageDraw
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import concat_box_prediction_layers
from torchvision.ops import batched_nms, roi_align

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))
warnings.filterwarnings("ignore")
import export_tiny_detector as etd  # noqa: E402
from detector_common import SimpleTokenizer, fill_template, normalize_pixels, output_shape, padded_size, to_u8  # noqa: E402
from export_tiny_clip import WORDS  # noqa: E402
from regionclip_train.data import load_templates  # noqa: E402
from reference_detect import FixedHead, make_rpn  # noqa: E402


def bench_image(path):
    """The 640x480 benchmark image: a gradient, a square, a disc and a triangle, seeded noise."""
    import random
    w, h = 640, 480
    img = Image.new("RGB", (w, h))
    img.putdata([(60 + x // 8, 90 + y // 8, 140 - x // 16) for y in range(h) for x in range(w)])
    d = ImageDraw.Draw(img)
    d.rectangle([56, 64, 232, 240], fill=(220, 30, 30))
    d.ellipse([352, 48, 560, 256], fill=(30, 60, 220))
    d.polygon([(160, 448), (312, 280), (464, 448)], fill=(30, 190, 50))
    rng = random.Random(3)
    img.putdata([tuple(max(0, min(255, c + rng.randint(-14, 14))) for c in p) for p in img.getdata()])
    img.save(path)


def build_world_models(model_dir, preset, seed):
    """The built-in model's modules (training/train_world.py: regionclip_train.models with the sizes of
    training/configs/models/<preset>.json), random weights: backbone, head, RPN graph and text tower."""
    from regionclip_train import models as world
    with open(os.path.join(ROOT, "training", "configs", "models", f"{preset}.json")) as f:
        p = json.load(f)
    with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
        vocab_size = len(json.load(f))
    torch.manual_seed(seed)
    built = world.build(p)
    trunk, rpn = world.build_rpn(p)
    return {"backbone": built["backbone"].eval(), "head": built["head"].eval(), "rpn": world.RpnGraph(trunk, rpn.head).eval(),
            "text": world.build_text(p, vocab_size).eval()}


class Pipeline:
    """One model folder's modules (rebuilt from its manifest's preset and seed), tokenizer and background."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "manifest.json")) as f:
            self.m = json.load(f)
        preset = re.search(r"--preset (\S+)", self.m["description"]).group(1)
        seed = int(re.search(r"--seed (\d+)", self.m["description"]).group(1))
        self.models = build_world_models(model_dir, preset, seed) if "train_world.py" in self.m["description"] \
            else etd.build_models(preset, seed, calibrate=False)
        self.tok = SimpleTokenizer(model_dir)
        self.trim_text = self.m["tokenizer"].get("padding") == "longest"
        self.dir = model_dir
        self.bg = None
        if self.m["scoring"].get("backgroundEmbed"):
            with open(os.path.join(model_dir, self.m["scoring"]["backgroundEmbed"]), "rb") as f:
                self.bg = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).clone()

    def preprocess(self, image_path):
        """Decode, resize, normalize + pad for the RPN; the region encoder's input (features: the backbone's;
        crop: the original image normalized by CLIP's preprocess)."""
        m = self.m
        pil = Image.open(image_path).convert("RGB")
        w, h = pil.size
        newh, neww = output_shape(h, w, m["image"]["shortEdge"], m["image"]["maxSize"])
        resized = pil.resize((neww, newh), Image.BILINEAR)
        res_u8 = to_u8(resized)
        hp, wp = padded_size(newh, neww, m["image"]["sizeDivisibility"])
        rpn_in = normalize_pixels(res_u8, m["rpn"]["input"], (hp, wp))
        if m["regionEncoder"]["mode"] == "features":
            enc_in = normalize_pixels(res_u8, m["regionEncoder"]["input"], (hp, wp))
        else:
            mean = torch.tensor(m["preprocess"]["mean"])[:, None, None]
            std = torch.tensor(m["preprocess"]["std"])[:, None, None]
            enc_in = ((to_u8(pil).permute(2, 0, 1).float() / 255 - mean) / std)[None]
        return SimpleNamespace(w=w, h=h, newh=newh, neww=neww, rpn_in=rpn_in, enc_in=enc_in)

    def propose(self, x, logits, deltas, n_props):
        """torchvision's RegionProposalNetwork, then padding to exactly n_props with the highest-scoring
        pre-NMS boxes; returns the proposals, their objectness (for the fusion) and the count after NMS."""
        rpn = make_rpn(self.m, FixedHead(logits, deltas))
        image_list = ImageList(x.rpn_in, [(x.newh, x.neww)])
        boxes, _ = rpn(image_list, OrderedDict((str(i), lg) for i, lg in enumerate(logits)))
        props = boxes[0]
        anchors = rpn.anchor_generator(image_list, logits)[0]
        obj, dl = concat_box_prediction_layers(logits, deltas)
        pre = torchvision.ops.clip_boxes_to_image(rpn.box_coder.decode(dl, [anchors]).view(-1, 4), (x.newh, x.neww))
        prob = torch.sigmoid(obj.flatten())
        order = prob.argsort(descending=True)
        after_rpn = len(props)
        kept_scores = prob[order[:len(props)]]  # stand-in of equal cost; exact scores are not needed for timing
        if len(props) < n_props:
            extra = order[: n_props - len(props)]
            props = torch.cat([props, pre[extra]])
            kept_scores = torch.cat([kept_scores, prob[extra]])
        return props[:n_props], kept_scores[:n_props], after_rpn

    def embed_regions(self, x, props, batch):
        """L2-normalized region embeddings, batch regions at a time (features: backbone + roi_align + head;
        crop: context-enlarged roi_align crops + vision tower)."""
        m, R, embeds = self.m, len(props), []
        enc = m["regionEncoder"]
        if enc["mode"] == "features":
            res4 = self.models["backbone"](x.enc_in)
            for i in range(0, R, batch):
                b = props[i:i + batch]
                rois = torch.cat([torch.zeros(len(b), 1), b], dim=1)
                feats = roi_align(res4, rois, tuple(enc["outputSize"]), enc["spatialScale"], enc["samplingRatio"], enc["aligned"])
                embeds.append(self.models["head"](feats))
        else:
            S = m["preprocess"]["size"]
            ob = props / torch.tensor([x.neww / x.w, x.newh / x.h, x.neww / x.w, x.newh / x.h])
            cx, cy = (ob[:, 0] + ob[:, 2]) / 2, (ob[:, 1] + ob[:, 3]) / 2
            bw, bh = (ob[:, 2] - ob[:, 0]) * enc["contextScale"], (ob[:, 3] - ob[:, 1]) * enc["contextScale"]
            crop_boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=1)
            for i in range(0, R, batch):
                b = crop_boxes[i:i + batch]
                crops = roi_align(x.enc_in, torch.cat([torch.zeros(len(b), 1), b], dim=1), (S, S), 1.0, enc["samplingRatio"], True)
                embeds.append(self.models["vision"](crops))
        region = torch.cat(embeds)
        return region / region.norm(dim=1, keepdim=True)

    def embed_text(self, phrases, batch):
        """L2-normalized embeddings of the single template ("a photo of a {phrase}."), batch prompts at a time
        (cut after the batch's last EOT when the manifest's tokenizer.padding is "longest", as the runtime does)."""
        prompts = [fill_template(load_templates().single[0], p) for p in phrases]
        out = []
        for i in range(0, len(prompts), batch):
            ids = self.tok(prompts[i:i + batch])
            if self.trim_text:
                ids = ids[:, :int(ids.argmax(dim=-1).max()) + 1]
            out.append(self.models["text"](ids))
        text = torch.cat(out)
        return text / text.norm(dim=1, keepdim=True)

    def score(self, x, region, text, props, kept_scores):
        """Cosine (+ background), softmax, geometric fusion, threshold 0.05, batched NMS by phrase, keep[:100];
        returns (detections, candidates)."""
        P = len(text)
        cols = text if self.bg is None else torch.cat([text, (self.bg / self.bg.norm())[None]])
        probs = torch.softmax(region @ cols.T / self.m["scoring"]["temperature"], dim=1)[:, :P]
        score = torch.sqrt(probs * kept_scores[:, None])
        r_idx, p_idx = torch.nonzero(score > 0.05, as_tuple=True)
        ob = props / torch.tensor([x.neww / x.w, x.newh / x.h, x.neww / x.w, x.newh / x.h])
        keep = batched_nms(ob[r_idx], score[r_idx, p_idx], p_idx, 0.5)[:100]
        return len(keep), len(r_idx)

    @torch.no_grad()
    def run(self, image_path, phrases, n_props, batch, text_batch=None, boxes=None):
        """One timed pass; returns ({stage: ms}, {afterRpn, detections, candidates}). boxes: n_props x 4 in
        original-image pixels that replace the proposals for the region and scoring stages."""
        t, out = {}, {}
        t0 = time.perf_counter()
        x = self.preprocess(image_path)
        t1 = time.perf_counter()
        o0, d0, o1, d1 = self.models["rpn"](x.rpn_in)
        t2 = time.perf_counter()
        props, kept_scores, out["afterRpn"] = self.propose(x, [o0, o1], [d0, d1], n_props)
        if boxes is not None:
            props = boxes * torch.tensor([x.neww / x.w, x.newh / x.h, x.neww / x.w, x.newh / x.h])
        t3 = time.perf_counter()
        region = self.embed_regions(x, props, batch)
        t4 = time.perf_counter()
        text = self.embed_text(phrases, text_batch or batch)
        t5 = time.perf_counter()
        out["detections"], out["candidates"] = self.score(x, region, text, props, kept_scores)
        t6 = time.perf_counter()
        t.update(preprocess=t1 - t0, rpn=t2 - t1, proposals=t3 - t2, region=t4 - t3, text=t5 - t4, scoring=t6 - t5)
        return {k: v * 1000 for k, v in t.items()}, out


def main():
    """Build the pipeline, one warm-up pass, --runs timed passes; print the median per stage."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--image")
    ap.add_argument("--proposals", type=int, default=1000)
    ap.add_argument("--phrases", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--text-batch", type=int, help="prompts per text-tower run (default: --batch)")
    ap.add_argument("--phrases-file", help="the vocabulary, one phrase a line (the first --phrases)")
    ap.add_argument("--boxes", help="JSON array of 4 x --proposals numbers: the regions (original-image pixels)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--json", action="store_true", help="print one JSON line (every run's stages, counts, versions)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    image = args.image or "/tmp/regionclip-bench/bench-640x480.png"
    if not args.image and not os.path.exists(image):
        os.makedirs(os.path.dirname(image), exist_ok=True)
        bench_image(image)
    if args.phrases_file:
        with open(args.phrases_file, encoding="utf-8") as f:
            phrases = [line.strip() for line in f if line.strip()][:args.phrases]
        if len(phrases) < args.phrases:
            sys.exit(f"{args.phrases_file}: {len(phrases)} phrases, --phrases asks for {args.phrases}")
    else:
        words = list(dict.fromkeys(WORDS))
        phrases = (words * (args.phrases // len(words) + 1))[:args.phrases]
    boxes = None
    if args.boxes:
        with open(args.boxes) as f:
            flat = json.load(f)
        if len(flat) != 4 * args.proposals:
            sys.exit(f"{args.boxes}: {len(flat)} numbers, expected 4 x --proposals = {4 * args.proposals}")
        boxes = torch.tensor(flat, dtype=torch.float32).view(-1, 4)
    t0 = time.perf_counter()
    pipe = Pipeline(args.model)
    built_s = time.perf_counter() - t0
    if args.json:
        pipe.run(image, phrases[:4], 8, args.batch, args.text_batch)  # warm-up
        runs = [pipe.run(image, phrases, args.proposals, args.batch, args.text_batch, boxes) for _ in range(args.runs)]
        print(json.dumps({"model": pipe.m["name"], "torch": torch.__version__, "torchvision": torchvision.__version__,
                          "threads": torch.get_num_threads(), "buildSeconds": round(built_s, 2),
                          "runs": [r[0] for r in runs], **runs[-1][1]}))
        return
    print(f"{pipe.m['name']} ({pipe.m['regionEncoder']['mode']}), built in {built_s:.1f} s; torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}, {torch.get_num_threads()} thread(s); image {image}; "
          f"{args.proposals} proposals, {args.phrases} phrases, batch {args.batch}")
    pipe.run(image, phrases[:4], 8, args.batch, args.text_batch)  # warm-up
    runs = []
    for _ in range(args.runs):
        times, out = pipe.run(image, phrases, args.proposals, args.batch, args.text_batch, boxes)
        runs.append(times)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    padded = f", padded to {args.proposals}" if out["afterRpn"] < args.proposals else ""
    print(f"proposals after RPN NMS: {out['afterRpn']}{padded}; candidates {out['candidates']}, detections {out['detections']}")
    for k, v in med.items():
        print(f"  {k:11s} {v:10.1f} ms")
    print(f"  {'total':11s} {sum(med.values()):10.1f} ms  (median of {args.runs})")


if __name__ == "__main__":
    main()
