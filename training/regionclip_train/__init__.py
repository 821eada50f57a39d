"""regionclip_train: trains regionclip's built-in model on the synthetic world and exports it (offline tooling:
Debian's python3-torch 1.13 / torchvision 0.14 / Pillow; never imported at run time).

    /usr/bin/python3 training/train_world.py --world W --work RUN [--config world_rn_small] [--stage ...] [flags]
    /usr/bin/python3 -m training.regionclip_train ...      # the same, from the repository root

  config.py      recipes (training/configs/*.json) and model sizes (training/configs/models/*.json); flags override
  data.py        the world, image loading, augmentation, batches, prompt templates (src/text/prompt-templates.json)
  models.py      the image tower (backbone, head, vision), the text tower, the RPN
  losses.py      each phase's loss
  loop.py        the training loop, update and schedule every phase shares
  phases.py      phase 1 (image tower), phase 2 (text tower), phase 3 (optional align), RPN
  region_phases.py  RegionCLIP's learning half (issue 14): (B) pretrain on mined pseudo-labels, (C) transfer
  pseudo_labels.py  (B)'s inputs: the concept pool and `regionclip mine`'s JSONL, read once into tensors
  checkpoint.py  model files and training states (optimizer, scheduler, random streams) for an exact --resume
  export.py      ONNX graphs, tokenizer files and manifest.json (training/export_tiny_detector.py's graph exporters)
  main.py        the command line

The export scripts beside this package (export_tiny_clip.py, export_tiny_detector.py, detector_common.py) import
one another by plain module name; their folder goes on sys.path here so this package imports them the same way.
"""
import os
import sys

_TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TRAINING not in sys.path:
    sys.path.insert(0, _TRAINING)
