"""Replayed graph outputs: stand-ins for the torch modules of training/convert/zero_shot.py that return what our
Node pipeline's ONNX graphs returned on the same image (recorded by test/helpers/convert-parity.ts
`recordGraphRuns`), so that the reference runs RegionCLIP's steps around the graphs (resize and normalization,
detectron2 anchors, find_top_rpn_proposals, torchvision roi_align, prompts and tokens, scoring, box deltas, NMS) on
exactly the numbers our pipeline saw. Float differences between onnxruntime and torch inside the graphs are then out
of the comparison (bench/convert-parity.ts measures those graph by graph), and what is left is the pipeline.

Each stand-in also compares what it is given with what the Node side fed the graph (`Recorded.input_diffs`: the
largest |Δ| per graph input, e.g. `head.roi_features` is our RoIAlign against torchvision's on the same res4 and
proposals, `rpn.images` our resize and normalization against PIL's), and refuses an input of another shape or a
prompt whose tokens the record does not hold.

Record layout (DIR/index.json): {"runs": [{"role": "rpn" | "backbone" | "head" | "text" | "vision",
"outputNames": [...], "inputs": {name: {"dtype": "float32" | "int64", "dims": [...], "file": "..."}},
"outputs": {...}}]} with each tensor's raw little-endian bytes in DIR/<file>, runs in the order they ran.

Glossary: R regions, D embedding size, L token positions.
"""
import json
import os

import torch

from .checkpoints import ConversionError

DTYPES = {"float32": torch.float32, "int64": torch.int64}


class ReplayError(ConversionError):
    """The record does not fit the reference's run (another shape, a prompt it does not hold)."""


class Recorded:
    """The graph runs of one recorded `detect`, read lazily, and the input differences found while replaying."""

    def __init__(self, folder):
        self.folder = folder
        with open(os.path.join(folder, "index.json")) as f:
            self.index = json.load(f)["runs"]
        self.input_diffs = {}
        self.prompts = 0
        self.real = None
        self.graph_diffs = {}

    def tensor(self, entry):
        with open(os.path.join(self.folder, entry["file"]), "rb") as f:
            data = bytearray(f.read())
        return torch.frombuffer(data, dtype=DTYPES[entry["dtype"]]).reshape(entry["dims"]) if data else torch.zeros(entry["dims"], dtype=DTYPES[entry["dtype"]])

    def runs(self, role):
        return [r for r in self.index if r["role"] == role]

    @torch.no_grad()
    def drift(self, key, got, recorded_output):
        """The largest |torch - onnxruntime| of one graph output (`got`: the source checkpoints' module on the input
        our pipeline fed the graph), and the largest |output| (the scale it is relative to)."""
        diff, scale = float((got.double() - recorded_output.double()).abs().max()), float(recorded_output.abs().max())
        old = self.graph_diffs.get(key, (0.0, 0.0))
        self.graph_diffs[key] = (max(old[0], diff), max(old[1], scale))

    def note(self, key, given, recorded):
        """Keeps the largest |given - recorded| under key; a shape difference is an error."""
        if tuple(given.shape) != tuple(recorded.shape):
            raise ReplayError(f"{key}: the reference computed shape {list(given.shape)} where the Node pipeline fed {list(recorded.shape)}")
        diff = float((given.double() - recorded.double()).abs().max()) if given.numel() else 0.0
        self.input_diffs[key] = max(self.input_diffs.get(key, 0.0), diff)


class _RowQueue:
    """A graph run over rows in batches (head: roi_features -> region_embeds [, box_deltas]; vision: crops ->
    image_embeds): the reference may batch differently, so rows are consumed in order across recorded runs."""

    WINDOW = 16
    REAL = {"head": lambda real: real.visual.head, "vision": lambda real: real.visual}

    def __init__(self, rec, role, input_name):
        self.rec, self.role, self.input_name = rec, role, input_name
        runs = rec.runs(role)
        self.inputs = [run["inputs"][input_name] for run in runs]
        self.outputs = {name: torch.cat([rec.tensor(run["outputs"][name]) for run in runs]) if runs else None
                        for name in (runs[0]["outputNames"] if runs else [])}
        self.offset, self.cached = 0, (None, -1)
        self.picked = []

    def rows(self, start, end):
        """The recorded input rows [start, end), concatenated across runs (read one run at a time)."""
        out, base = [], 0
        for i, entry in enumerate(self.inputs):
            n = entry["dims"][0]
            lo, hi = max(start, base), min(end, base + n)
            if lo < hi:
                if self.cached[1] != i:
                    self.cached = (self.rec.tensor(entry), i)
                out.append(self.cached[0][lo - base:hi - base])
            base += n
        if sum(len(o) for o in out) != end - start:
            raise ReplayError(f"{self.role}: the reference asked for rows {start}..{end} but the Node pipeline ran {base}")
        return torch.cat(out)

    def take(self, given, output):
        """The recorded output rows for the reference's input rows `given`: row i is taken from recorded row
        offset + i, unless the reference ordered an exact tie differently (proposals with equal logits): then from
        the recorded row within WINDOW positions whose input is closest."""
        n, total = len(given), len(self.outputs[output])
        lo, hi = max(0, self.offset - self.WINDOW), min(total, self.offset + n + self.WINDOW)
        window = self.rows(lo, hi)
        picks, worst = [], 0.0
        for i, row in enumerate(given):
            at = self.offset + i - lo
            diff = float((window[at] - row).abs().max()) if at < len(window) else float("inf")
            if diff > 1e-3 * (1.0 + float(row.abs().max())):
                diffs = (window - row).flatten(1).abs().max(dim=1).values
                at = int(torch.argmin(diffs))
                diff = float(diffs[at])
            picks.append(lo + at)
            worst = max(worst, diff)
        key = f"{self.role}.{self.input_name}"
        self.rec.input_diffs[key] = max(self.rec.input_diffs.get(key, 0.0), worst)
        self.offset += n
        self.picked.extend(picks)
        if self.rec.real is not None:
            recorded_rows = torch.cat([window[p - lo][None] for p in picks])
            embeds = self.REAL[self.role](self.rec.real)(recorded_rows)
            self.rec.drift(f"{self.role}.{output}", embeds, self.outputs[output][picks])
            if self.role == "head" and "box_deltas" in self.outputs:
                self.rec.drift("head.box_deltas", self.rec.real.bbox_pred(embeds), self.outputs["box_deltas"][picks])
        return self.outputs[output][picks]


class ReplayVisual:
    def __init__(self, rec):
        self.rec = rec
        self.heads = _RowQueue(rec, "head", "roi_features")
        self.crops = _RowQueue(rec, "vision", "pixel_values")

    def res4(self, images):
        (run,) = self.rec.runs("backbone")
        recorded = self.rec.tensor(run["inputs"]["images"])
        self.rec.note("backbone.images", images, recorded)
        res4 = self.rec.tensor(run["outputs"]["res4"])
        if self.rec.real is not None:
            with torch.no_grad():
                self.rec.drift("backbone.res4", self.rec.real.visual.res4(recorded), res4)
        return res4

    def head(self, pooled):
        return self.heads.take(pooled, "region_embeds")

    def __call__(self, crops):
        return self.crops.take(crops, "image_embeds")


class ReplayBoxPred:
    """The head graph's box_deltas for all R regions, in the rows the head replay picked (called once with the
    R x D raw embeddings)."""

    def __init__(self, visual):
        self.visual = visual

    def __call__(self, raw):
        deltas = self.visual.heads.outputs.get("box_deltas")
        if deltas is None or len(deltas) != len(raw):
            raise ReplayError(f"head: the record holds box deltas for {0 if deltas is None else len(deltas)} regions, the reference has {len(raw)}")
        return deltas[self.visual.heads.picked]


class ReplayRpn:
    def __init__(self, rec):
        self.rec = rec

    def __call__(self, images):
        (run,) = self.rec.runs("rpn")
        recorded = self.rec.tensor(run["inputs"]["images"])
        self.rec.note("rpn.images", images, recorded)
        outputs = [self.rec.tensor(run["outputs"][name]) for name in run["outputNames"]]
        if self.rec.real is not None:
            with torch.no_grad():
                real_outputs = self.rec.real.rpn(recorded)
            for name, got, out in zip(run["outputNames"], real_outputs, outputs):
                self.rec.drift(f"rpn.{name}", got, out)
        return outputs


def _prompt_key(ids):
    """A prompt's tokens up to its end-of-text token (the largest id: CLIP pools there), so zero padding
    (OpenAI) and end-of-text padding (transformers.js) give the same key."""
    end = int(torch.argmax(ids))
    return tuple(int(v) for v in ids[:end + 1])


class ReplayText:
    def __init__(self, rec):
        self.rec = rec
        self.table = {}
        for run in rec.runs("text"):
            ids, embeds = rec.tensor(run["inputs"]["input_ids"]), rec.tensor(run["outputs"]["text_embeds"])
            for row, embed in zip(ids, embeds):
                self.table[_prompt_key(row)] = embed
            if rec.real is not None:
                with torch.no_grad():
                    rec.drift("text.text_embeds", rec.real.text.encode_text(ids), embeds)

    def encode_text(self, ids):
        rows = []
        for row in ids:
            key = _prompt_key(row)
            if key not in self.table:
                raise ReplayError(f"text: the Node pipeline embedded no prompt with the tokens {list(key)} (different prompts or tokenizer)")
            rows.append(self.table[key])
        self.rec.prompts += len(rows)
        return torch.stack(rows)


def modules(folder, has_box_deltas, real=None):
    """The SimpleNamespace of zero_shot.run's modules, replaying the record in `folder`; with `real` (the source
    checkpoints' modules) each graph's outputs are also recomputed in torch on the recorded inputs
    (`Recorded.graph_diffs`: onnxruntime against torch, graph by graph, on this image)."""
    from types import SimpleNamespace
    rec = Recorded(folder)
    rec.real = real
    visual = ReplayVisual(rec)
    return SimpleNamespace(visual=visual, text=ReplayText(rec), rpn=ReplayRpn(rec), bbox_pred=ReplayBoxPred(visual) if has_box_deltas else None), rec
