"""Training recipes: one JSON file per recipe in training/configs/ (the built-in model's is world_rn_small.json,
the smoke test's tiny.json), model sizes in training/configs/models/. A recipe may name another with "extends"
(its keys win). Every key is one of OPTIONS: unknown keys are errors with a suggestion, missing keys are errors,
and each value is checked (types, ranges, choices). The command line's flags override recipe values one for
one (--clip-batch sets clip_batch); their defaults are the recipe's, so each default is written once.

Phase 1 (the image tower) may take several runs, each continuing the last with a fresh cosine schedule (the way
the built-in model was made, one --init command per run): run 1 uses the recipe's values, each entry of
"clip_continue" overrides some of them for one more run. A command line that sets --clip-steps, --lr,
--region-from or --init describes one run (clip_continue is then not used), as before recipes existed.
"""
import difflib
import hashlib
import json
import os
from collections import namedtuple

TRAINING_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(TRAINING_DIR, "configs")
MODEL_DIR = os.path.join(CONFIG_DIR, "models")
DEFAULT_CONFIG = "world_rn_small"


class ConfigError(Exception):
    """A recipe, model size, flag value or prompt-template file that cannot be used; one message format."""


def expected(what, where, received):
    return ConfigError(f"Expected {what} for {where} but received {received}.")


def _check(kind, lo=None, hi=None, choices=None, nullable=False):
    """A checker of one value: kind "int", "float", "str" or "ints" (a non-empty list of ints)."""
    def check(value, where):
        if value is None and nullable:
            return value
        if kind == "ints":
            if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
                raise expected("a non-empty list of integers", where, json.dumps(value))
            return value
        ok = {"int": _is_int(value), "float": _is_number(value), "str": isinstance(value, str)}[kind]
        if not ok:
            raise expected(("an integer" if kind == "int" else "a number" if kind == "float" else "a string")
                           + (" or null" if nullable else ""), where, json.dumps(value))
        if choices is not None and value not in choices:
            raise expected(f"one of {', '.join(choices)}", where, json.dumps(value))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"in [{lo}, {hi}]" if hi is not None else f"at least {lo}"
            raise expected(f"a number {rng}", where, json.dumps(value))
        return float(value) if kind == "float" else value
    return check


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


Option = namedtuple("Option", "kind check help choices")


def _opt(kind, help, **check):
    return Option(kind, _check(kind, **check), help, check.get("choices"))


FRACTION = dict(lo=0.0, hi=1.0)
# Every recipe key with its kind, check and its flag's help text (flag = "--" + key with "-" for "_").
OPTIONS = {
    "preset": _opt("str", "model size: training/configs/models/<preset>.json"),
    "seed": _opt("int", "seeds every random stream (each phase offsets it)"),
    "threads": _opt("int", "torch.set_num_threads", lo=1),
    "log_every": _opt("int", "log a line every this many steps (and at the last)", lo=1),
    "save_every": _opt("int", "checkpoint interval in steps, every phase (and at the last)", lo=1),
    "limit_scenes": _opt("int", "use only the first N scenes", lo=0, nullable=True),
    "limit_singles": _opt("int", "use only the first N singles of --world", lo=0, nullable=True),
    "clip_steps": _opt("int", "phase 1: image tower against concept prototypes (one run)", lo=1),
    "lr": _opt("float", "phase 1 learning rate", lo=0.0),
    "region_from": _opt("float", "share of the run's steps before the region loss joins (from the start of a "
                        "fresh tower it kept the singles at chance)", **FRACTION),
    "clip_batch": _opt("int", "single-object images per step (phases 1 and 3)", lo=1),
    "single_sizes": _opt("ints", "random input sizes of single-object images"),
    "region_scenes": _opt("int", "scenes per step whose base boxes train the region path", lo=0),
    "region_weight": _opt("float", "weight of the region loss", lo=0.0),
    "scene_size": _opt("int", "scene resolution for the region loss", lo=1),
    "init_scale": _opt("float", "initial logit scale (learned; 1/0.07 as in CLIP)", lo=0.0),
    "text_steps": _opt("int", "phase 2: text tower onto the frozen image tower's --text-targets", lo=1),
    "text_batch": _opt("int", "concepts (one prompt each) per phase-2 step", lo=1),
    "text_lr": _opt("float", "phase 2 learning rate", lo=0.0),
    "text_align": _opt("float", "weight of the cosine pull of each prompt onto its target", lo=0.0),
    "text_targets": _opt("str", "phase 2 targets: each concept's centroid of its singles' embeddings, or phase 1's "
                         "prototypes", choices=("centroids", "prototypes")),
    "text_images": _opt("int", "embedded singles per concept in phase 2's image-to-text loss (0: none)", lo=0),
    "template_mix": _opt("float", "share of prompts from the 81 templates (else \"a photo of a {}.\")", **FRACTION),
    "synonym_mix": _opt("float", "share of prompts naming a synonym", **FRACTION),
    "align_steps": _opt("int", "phase 3 (optional): image tower onto the frozen text tower's embeddings "
                        "(README: it measured worse top-1)", lo=0),
    "align_lr": _opt("float", "phase 3 learning rate", lo=0.0),
    "align_variants": _opt("int", "prompts per concept in phase 3's text bank", lo=1),
    "rpn_steps": _opt("int", "RPN training steps", lo=1),
    "rpn_batch": _opt("int", "scenes per RPN step", lo=1),
    "rpn_lr": _opt("float", "RPN learning rate", lo=0.0),
    "prompt_templates": _opt("str", "templates of the concept pool's and the base classes' text embeddings in "
                             "pretrain and transfer (single: \"a photo of a {}.\"; ensemble: the 81, normalized, "
                             "averaged and renormalized as the default preset does)", choices=("single", "ensemble")),
    "pretrain_steps": _opt("int", "(B) pretrain: RegionCLIP's region-text pretraining steps", lo=1),
    "pretrain_lr": _opt("float", "(B) learning rate", lo=0.0),
    "pretrain_scenes": _opt("int", "(B) pseudo-labelled scenes per step", lo=1),
    "pretrain_regions": _opt("int", "(B) pseudo-labelled boxes per scene and step at most (a random sample; "
                             "RegionCLIP samples 100 of its 300 proposals)", lo=1),
    "pretrain_random_boxes": _opt("int", "(B) random boxes per scene and step, distilled only (RegionCLIP's "
                                  "RANDOM regions)", lo=0),
    "pretrain_batch": _opt("int", "(B) single-object images per step for the image-text loss (0: off)", lo=0),
    "pretrain_temperature": _opt("float", "(B) temperature of every (B) softmax, the teacher's too (null: 1 / the "
                                 "teacher's logit scale, as RegionCLIP's CLSS_TEMP 0.01 is CLIP RN50's 1/100)",
                                 lo=1e-6, nullable=True),
    "pretrain_outside_pool": _opt("str", "(B) pseudo-labels whose concept is not in the pool: error, or skip (left out, "
                                  "counted in the log: the default caption rule labels a phrase that is no pool name, such as "
                                  "the backdrop's \"blue sky\", with its head noun, \"sky\", outside the pool too)", choices=("error", "skip")),
    "pretrain_concept_weight": _opt("float", "(B) weight of the region-concept loss on the pseudo-labels", lo=0.0),
    "pretrain_distill_weight": _opt("float", "(B) weight of the KL distillation from the teacher", lo=0.0),
    "pretrain_image_weight": _opt("float", "(B) weight of the image-text loss", lo=0.0),
    "transfer_steps": _opt("int", "(C) transfer: detection fine-tuning steps on base boxes", lo=1),
    "transfer_lr": _opt("float", "(C) learning rate", lo=0.0),
    "transfer_scenes": _opt("int", "(C) scenes (with base boxes) per step", lo=1),
    "transfer_rois": _opt("int", "(C) RoIs sampled per scene (detectron2's BATCH_SIZE_PER_IMAGE)", lo=1),
    "transfer_fg_fraction": _opt("float", "(C) share of foreground RoIs at most (detectron2's POSITIVE_FRACTION)",
                                 **FRACTION),
    "transfer_proposals": _opt("int", "(C) proposals of the frozen RPN per scene", lo=0),
    "transfer_jitter": _opt("int", "(C) jittered copies of each base box added to the proposals", lo=0),
    "transfer_temperature": _opt("float", "(C) temperature of the classifier and the exported scoring.temperature "
                                 "(null: 1 / the starting checkpoint's logit scale, as RegionCLIP's CLSS_TEMP 0.01 is "
                                 "CLIP RN50's 1/100)", lo=1e-6, nullable=True),
    "transfer_bg_weight": _opt("float", "(C) cross-entropy weight of the background class (RegionCLIP's "
                               "BG_CLS_LOSS_WEIGHT 0.2)", lo=0.0),
    "transfer_box_weight": _opt("float", "(C) weight of the box regression loss", lo=0.0),
    "transfer_ignore_iou": _opt("float", "(C) with --ignore-labels: a RoI that would be background is left out of the "
                                "RoI sample when its IoU with a pseudo-label of a concept outside the base classes is at least "
                                "this (> 0: a RoI must overlap the label)", lo=0.01, hi=1.0),
    "transfer_freeze": _opt("str", "(C) the image tower's frozen part: res2 (stem and res2, RegionCLIP's FREEZE_AT 2), "
                            "res4 (the whole backbone; the head's res5 and attention pool train) or all (the whole tower; "
                            "only the background embedding and the box deltas train, as F-VLM keeps its VLM frozen)",
                            choices=("res2", "res4", "all")),
}
# Recipe keys added after training states were first saved, with the value that gives the behaviour from before
# they existed: --resume reads a state without the key as made with this value.
RECIPE_DEFAULTS = {"pretrain_outside_pool": "error", "transfer_freeze": "res2", "ignore_labels": None, "transfer_ignore_iou": None}
RECIPE_ONLY = {"clip_continue"}  # recipe keys without a flag (checked by _check_runs)
META = {"description", "extends"}  # read, not used by training
RUN_KEYS = ("clip_steps", "lr", "region_from")  # a command line setting one of these describes one phase-1 run
CLIP_KEYS = ("clip_batch", "single_sizes", "region_scenes", "region_weight", "scene_size")
CONTINUE_KEYS = RUN_KEYS + CLIP_KEYS  # what a clip_continue entry may override
# The keys each phase's result depends on (its own and those of the phases it starts from), for --resume's check
# that a state file was made by the same recipe ("runs": clip_runs' list).
COMMON_KEYS = ("preset", "seed", "limit_scenes", "limit_singles", "world", "extra_singles")
IMAGE_KEYS = COMMON_KEYS + CLIP_KEYS + ("init_scale", "runs", "init")
TEXT_KEYS = IMAGE_KEYS + ("text_steps", "text_batch", "text_lr", "text_align", "text_targets", "text_images",
                          "template_mix", "synonym_mix")
PHASE_KEYS = {
    "clip-image": IMAGE_KEYS,
    "clip-text": TEXT_KEYS,
    "clip-align": TEXT_KEYS + ("align_steps", "align_lr", "align_variants"),
    "rpn": COMMON_KEYS + ("rpn_steps", "rpn_batch", "rpn_lr"),
    # (B) and (C) start from files named on the command line (compared by content, FILE_KEYS)
    "pretrain": COMMON_KEYS + ("teacher", "labels", "concepts", "prompt_templates", "pretrain_steps", "pretrain_lr",
                               "pretrain_scenes", "pretrain_regions", "pretrain_random_boxes", "pretrain_batch",
                               "pretrain_temperature", "pretrain_outside_pool", "pretrain_concept_weight", "pretrain_distill_weight",
                               "pretrain_image_weight"),
    "transfer": COMMON_KEYS + ("transfer_from", "prompt_templates", "transfer_steps", "transfer_lr", "transfer_scenes",
                               "transfer_rois", "transfer_fg_fraction", "transfer_proposals", "transfer_jitter",
                               "transfer_temperature", "transfer_bg_weight", "transfer_box_weight", "transfer_freeze",
                               "ignore_labels", "transfer_ignore_iou"),
}


def _suggest(key, known):
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def read_json(path, what):
    """One reader of the JSON files training reads (recipes, model sizes, prompt templates)."""
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError) as e:
        raise expected(f"a readable JSON file of {what}", path, f"{type(e).__name__}: {e}") from e
    if not isinstance(value, dict):
        raise expected(f"a JSON object of {what}", path, type(value).__name__)
    return value


def config_path(name):
    """A recipe by name (training/configs/<name>.json) or by path (anything ending in .json)."""
    if name.endswith(".json"):
        return name
    path = os.path.join(CONFIG_DIR, f"{name}.json")
    if not os.path.exists(path):
        names = [f[:-5] for f in os.listdir(CONFIG_DIR) if f.endswith(".json")]
        raise expected(f"a recipe name ({', '.join(sorted(names))}) or a .json path", "--config",
                       json.dumps(name) + _suggest(name, names))
    return path


def load_config(name, _seen=()):
    """The recipe's keys after "extends" (its own keys win), checked."""
    path = config_path(name)
    raw = read_json(path, "training options")
    if path in _seen:
        raise expected("recipes that do not extend themselves", path, " -> ".join(_seen + (path,)))
    cfg = {}
    if "extends" in raw:
        if not isinstance(raw["extends"], str):
            raise expected("a recipe name or .json path", f"extends in {path}", json.dumps(raw["extends"]))
        cfg = load_config(raw["extends"], _seen + (path,))
    cfg.update({k: v for k, v in raw.items() if k not in META})
    known = set(OPTIONS) | RECIPE_ONLY
    for key in raw:
        if key not in known and key not in META:
            raise expected("a known recipe key", f"{path}", json.dumps(key) + _suggest(key, known))
    if not _seen:
        missing = sorted(known - set(cfg))
        if missing:
            raise expected(f"every recipe key (missing: {', '.join(missing)})", path, "an incomplete recipe")
        check_values(cfg, path)
    return cfg


def check_values(cfg, where):
    """Checks every value of a full recipe (after the command line's overrides); floats become floats."""
    for key, opt in OPTIONS.items():
        cfg[key] = opt.check(cfg[key], f"{key} in {where}")
    _check_runs(cfg["clip_continue"], where)
    if cfg["preset"] not in model_presets():
        raise expected(f"one of {', '.join(model_presets())}", f"preset in {where}", json.dumps(cfg["preset"]))


def _check_runs(runs, where):
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise expected("a list of objects (overrides of phase-1 keys)", f"clip_continue in {where}", json.dumps(runs))
    for i, run in enumerate(runs):
        for key, value in run.items():
            if key not in CONTINUE_KEYS:
                raise expected(f"one of {', '.join(CONTINUE_KEYS)}", f"clip_continue[{i}] in {where}",
                               json.dumps(key) + _suggest(key, CONTINUE_KEYS))
            run[key] = OPTIONS[key].check(value, f"clip_continue[{i}].{key} in {where}")


def model_presets():
    return sorted(f[:-5] for f in os.listdir(MODEL_DIR) if f.endswith(".json"))


MODEL_KEYS = {"widths": 5, "res4_blocks": None, "res5_blocks": None, "pool_heads": None, "embed_dim": None,
              "t_width": None, "t_layers": None, "t_heads": None, "merges": None, "rpn_widths": 4, "rpn_channels": None}


def load_model_preset(name):
    """training/configs/models/<name>.json: the model's sizes (list lengths fixed by the architecture)."""
    path = os.path.join(MODEL_DIR, f"{name}.json")
    raw = read_json(path, "model sizes")
    for key in raw:
        if key not in MODEL_KEYS and key != "description":
            raise expected("a known model-size key", path, json.dumps(key) + _suggest(key, MODEL_KEYS))
    p = {}
    for key, length in MODEL_KEYS.items():
        if key not in raw:
            raise expected(f"every model-size key (missing: {key})", path, "an incomplete file")
        value = raw[key]
        if length is None:
            p[key] = _check("int", lo=1)(value, f"{key} in {path}")
            continue
        _check("ints")(value, f"{key} in {path}")
        if len(value) != length:
            raise expected(f"a list of {length} integers", f"{key} in {path}", json.dumps(value))
        p[key] = tuple(value)
    return p


def clip_runs(opts):
    """Phase 1's runs, each a dict of the values of CONTINUE_KEYS it uses (see the module docstring)."""
    base = {k: getattr(opts, k) for k in CONTINUE_KEYS}
    continue_runs = [] if opts.init or any(k in opts.given for k in RUN_KEYS) else opts.clip_continue
    return [base] + [{**base, **run} for run in continue_runs]


FILE_KEYS = ("teacher", "labels", "concepts", "transfer_from", "ignore_labels")  # compared by content: the same files elsewhere resume


def file_identity(path):
    """"sha256:<hex>" of a file's bytes; None for no path or a missing file (the stage then fails on it)."""
    if not path or not os.path.isfile(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def recipe(opts, phase):
    """The values a phase's state file is made with (compared by --resume); the (B) and (C) stages' input
    files by their contents."""
    def value(k):
        if k == "runs":
            return clip_runs(opts)
        if k == "transfer_ignore_iou" and not opts.ignore_labels:
            return None  # no effect without the labels: a recipe value would only block --resume
        return file_identity(getattr(opts, k)) if k in FILE_KEYS else getattr(opts, k)
    return {k: value(k) for k in PHASE_KEYS[phase]}
