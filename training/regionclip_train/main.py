"""The command line: a recipe (--config, default world_rn_small), flags that override its values, the stages."""
import argparse
import json
import os
import sys
import time

import torch

from export_tiny_clip import learn_bpe
from detector_common import SimpleTokenizer

from . import __doc__ as PACKAGE_DOC
from .config import (DEFAULT_CONFIG, OPTIONS, ConfigError, check_values, config_path, load_config, load_model_preset,
                     model_presets)
from .data import World, load_templates, log, tokenizer_words
from .export import export
from .loop import Stopped
from .phases import train_align, train_image, train_rpn, train_text
from .region_phases import train_pretrain, train_transfer

STAGES = ["all", "clip", "clip-image", "clip-text", "clip-align", "rpn", "pretrain", "transfer", "export"]
TOKENIZER_READERS = ("export", "clip-text", "clip-align", "pretrain", "transfer")  # read tokenizer.json, never learn it
REGION_STAGES = ("pretrain", "transfer")  # issue 14's (B) and (C): a tokenizer.json in --work is required


def _show(value):
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def build_parser(cfg, config_name):
    """Run flags, then one flag per recipe key whose default (shown in --help) is the recipe's value."""
    ap = argparse.ArgumentParser(prog="train_world.py", description=PACKAGE_DOC,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=DEFAULT_CONFIG,
                    help=f"recipe: a name in training/configs/ or a .json path (default {DEFAULT_CONFIG})")
    ap.add_argument("--world", required=True, help="a generated train world (training/world/generate.ts --split train)")
    ap.add_argument("--work", required=True, help="checkpoints, training states and tokenizer")
    ap.add_argument("--out", help="model folder to export to")
    ap.add_argument("--name", help="manifest name (default: the --out folder's name)")
    ap.add_argument("--stage", default="all", choices=STAGES,
                    help="clip: the CLIP phases (1, 2 and, with --align-steps, 3); all: everything in turn, then export "
                    "(the built-in model's recipe); pretrain: RegionCLIP's (B) region-text pretraining on mined "
                    "pseudo-labels (--labels); transfer: RegionCLIP's (C) transfer on base boxes (then --stage export "
                    "--export-from transfer)")
    region = ap.add_argument_group(
        "RegionCLIP's learning half (issue 14; README \"Built-in model\")",
        "(A) is the CLIP phases with --config world_clip_baseline; (B) --stage pretrain and (C) --stage transfer "
        "train in the same --work (its tokenizer.json, clip.pt and rpn.pt).")
    region.add_argument("--labels", help="(B) the pseudo-labels: the JSONL of `regionclip mine <world>/captions.jsonl "
                        "[--rule regionclip] --concepts POOL --model <(A) exported>` (the default caption rule's labels "
                        "need --pretrain-outside-pool skip)")
    region.add_argument("--concepts", help="(B) the concept pool the labels were mined with, one name a line "
                        "(default: the world's concept names, the exported model's concepts.txt)")
    region.add_argument("--teacher", help="(B) the frozen teacher and the student's start: a checkpoint of both "
                        "towers (default: <work>/clip.pt, (A))")
    region.add_argument("--transfer-from", help="(C) the checkpoint it starts from (default: <work>/pretrain.pt, "
                        "(B); <work>/clip.pt transfers (A) directly)")
    region.add_argument("--ignore-labels", help="(C) pseudo-labels (a `regionclip mine` JSONL of the world's captions, "
                        "as --labels): a RoI that would be background but overlaps one of a concept outside the base "
                        "classes (IoU >= --transfer-ignore-iou) is left out of the RoI sample (other background RoIs take its place), so the scenes' unboxed novel "
                        "objects are not taught as background (default: none, RegionCLIP's recipe)")
    region.add_argument("--export-from", default="clip", choices=["clip", "pretrain", "transfer"],
                        help="the towers --stage export writes: clip.pt (phases 1-3), pretrain.pt ((B)) or "
                        "transfer.pt ((C): adds the head's box deltas and the background embedding) (default clip)")
    region.add_argument("--vision-from", choices=["clip", "pretrain", "transfer"],
                        help="the checkpoint whose image tower the whole-image vision_model graph (classify) is exported "
                        "from (default: --export-from's); e.g. a (C) detector keeping its CLIP image tower for classify")
    ap.add_argument("--extra-singles", nargs="*", default=[], help="more generated worlds whose single-object images join the CLIP training")
    ap.add_argument("--init", help="phase 1 is one run continuing this clip-image.pt (a new schedule over --clip-steps more steps)")
    ap.add_argument("--resume", action="store_true", help="continue each phase from its state file in --work "
                    "(<phase>-state.pt: optimizer, scheduler, random streams), skipping finished phases")
    ap.add_argument("--device", default="cpu",
                    help="where (C) --stage transfer trains: cpu, or cuda / cuda:N (its files are saved as on the CPU, "
                    "so export and --resume read them anywhere; a GPU's results are not bit-identical to the CPU's, "
                    "and a stopped and resumed GPU run is not bit-identical to an uninterrupted one)")
    ap.add_argument("--stop-after", type=int, help="stop the process once a phase has done this many steps (its "
                    "files saved; --resume continues)")
    group = ap.add_argument_group(
        f"recipe values (defaults from {config_name})",
        "Phase 1 runs the recipe's runs in turn (clip_continue); --clip-steps, --lr, --region-from or --init make it "
        "one run.")
    for key, opt in OPTIONS.items():
        flag = "--" + key.replace("_", "-")
        kw = dict(default=argparse.SUPPRESS, help=f"{opt.help} (recipe: {_show(cfg[key])})".replace("%", "%%"))
        if opt.kind == "ints":
            kw.update(type=int, nargs="+")
        else:
            kw["type"] = {"int": int, "float": float, "str": str}[opt.kind]
        if key == "preset":
            kw["choices"] = model_presets()
        elif opt.choices is not None:
            kw["choices"] = list(opt.choices)
        group.add_argument(flag, **kw)
    return ap


def parse_args(argv=None):
    """The options: the recipe's values, overridden by the flags given (opts.given names them), checked."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=DEFAULT_CONFIG)
    name = pre.parse_known_args(argv)[0].config
    try:
        cfg = load_config(name)
    except ConfigError as e:
        sys.exit(f"train_world.py: error: {e}")
    ap = build_parser(cfg, name)
    args = ap.parse_args(argv)
    given = {k for k in OPTIONS if hasattr(args, k)}
    values = {**cfg, **{k: getattr(args, k) for k in given}}
    try:
        check_values(values, f"{config_path(name)} and the command line")
    except ConfigError as e:
        ap.error(str(e))
    if args.init and args.stage not in ("all", "clip", "clip-image"):
        ap.error("--init continues phase 1: use it with --stage clip-image, clip or all")
    if args.stage in ("all", "export") and not args.out:
        ap.error("--out is needed to export")
    if args.stop_after is not None and args.stop_after < 1:
        ap.error(f"Expected a positive integer for --stop-after but received {args.stop_after}.")
    if args.stage == "pretrain" and not args.labels:
        ap.error("--labels is needed by --stage pretrain (the JSONL of `regionclip mine --rule regionclip`)")
    for flag, stages in (("labels", ("pretrain",)), ("concepts", ("pretrain",)), ("teacher", ("pretrain",)),
                         ("transfer_from", ("transfer",)), ("ignore_labels", ("transfer",)), ("vision_from", ("export",))):
        if getattr(args, flag) and args.stage not in stages:
            ap.error(f"--{flag.replace('_', '-')} is used by --stage {' and '.join(stages)} only")
    if "transfer_ignore_iou" in given and not args.ignore_labels:
        ap.error("--transfer-ignore-iou is used with --ignore-labels only")
    if args.device != "cpu":
        if args.stage != "transfer":
            ap.error(f"--device {args.device} is used by --stage transfer only (the other stages train on the CPU)")
        try:
            dev = torch.device(args.device)
        except RuntimeError:
            dev = None
        if dev is None or dev.type != "cuda":
            ap.error(f"Expected cpu, cuda or cuda:N for --device but received {args.device!r}.")
        if not torch.cuda.is_available():
            ap.error(f"Expected a CUDA device for --device {args.device} but received a PyTorch ({torch.__version__}) "
                     "that sees none.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            ap.error(f"Expected a CUDA device for --device {args.device} but received a PyTorch that sees "
                     f"{torch.cuda.device_count()} (cuda:0 to cuda:{torch.cuda.device_count() - 1}).")
    if args.export_from != "clip" and args.stage != "export":
        ap.error("--export-from is used by --stage export only")
    run = {k: v for k, v in vars(args).items() if k not in OPTIONS}
    run["world"] = os.path.abspath(args.world)
    run["extra_singles"] = [os.path.abspath(r) for r in args.extra_singles]
    run["init"] = args.init and os.path.abspath(args.init)
    for flag in ("labels", "concepts", "ignore_labels"):
        run[flag] = getattr(args, flag) and os.path.abspath(getattr(args, flag))
    run["teacher"] = os.path.abspath(args.teacher or os.path.join(args.work, "clip.pt"))
    run["transfer_from"] = os.path.abspath(args.transfer_from or os.path.join(args.work, "pretrain.pt"))
    return argparse.Namespace(**values, **run, given=given)


def tokenizer(opts, p, world, templates):
    """(tokenizer, vocab, merges): learned from the world (tokenizer.json in --work), or read from there by later
    stages, by phase 1 continuing a checkpoint (--init) and by --resume."""
    tok_path = os.path.join(opts.work, "tokenizer.json")
    if opts.stage in REGION_STAGES and not os.path.exists(tok_path):
        raise ConfigError(f"Expected the tokenizer of the CLIP phases ((A)) for --stage {opts.stage} but received "
                          f"--work {opts.work} without tokenizer.json (train (A) in this --work first).")
    if (opts.stage in TOKENIZER_READERS or opts.init or opts.resume) and os.path.exists(tok_path):
        with open(tok_path, encoding="utf-8") as f:
            t = json.load(f)
        vocab, merges = t["vocab"], [tuple(m) for m in t["merges"]]
    else:
        t0 = time.time()
        vocab, merges = learn_bpe(tokenizer_words(world, templates.ensemble), p["merges"])
        with open(tok_path, "w", encoding="utf-8") as f:
            json.dump({"vocab": vocab, "merges": merges}, f)
        log(f"BPE: {len(vocab)} tokens ({len(merges)} merges) in {time.time() - t0:.0f}s")
    return SimpleTokenizer(encoder=vocab, merges=merges), vocab, merges


def run_stages(opts):
    """The stages of --stage in turn (each phase seeds itself, so a stage run alone gives the same result)."""
    torch.set_num_threads(opts.threads)
    os.makedirs(opts.work, exist_ok=True)
    p = load_model_preset(opts.preset)
    world = World(opts.world, opts.limit_scenes, opts.limit_singles, opts.extra_singles)
    opts.world_desc = world.describe()
    templates = load_templates()
    tok = vocab = merges = None
    if opts.stage != "rpn":
        tok, vocab, merges = tokenizer(opts, p, world, templates)
    stage = opts.stage
    if stage in ("all", "clip", "clip-image"):
        train_image(opts, p, world)
    if stage in ("all", "clip", "clip-text"):
        train_text(opts, p, world, tok, templates)
    if stage == "clip-align" or (stage in ("all", "clip") and opts.align_steps > 0):
        train_align(opts, p, world, tok, templates)
    if stage in ("all", "rpn"):
        train_rpn(opts, p, world)
    if stage == "pretrain":
        train_pretrain(opts, p, world, tok, templates)
    if stage == "transfer":
        train_transfer(opts, p, world, tok, templates)
    if stage in ("all", "export"):
        export(opts, p, tok, vocab, merges)


def main(argv=None):
    opts = parse_args(argv)
    try:
        run_stages(opts)
    except Stopped as e:
        log(str(e))
    except ConfigError as e:
        sys.exit(f"train_world.py: error: {e}")
