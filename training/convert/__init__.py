"""Converters from real checkpoints (OpenAI CLIP `.pt`, RegionCLIP / detectron2 `.pth`) to our ONNX model
folders, and the project's own re-implementations of the upstream modules they need (offline tooling:
Debian's python3-torch 1.13 on CPU; never imported at run time).

Modules:
  clip_modules.py   CLIP ModifiedResNet (RN50, RN50x4, ...), VisionTransformer (ViT-B/32, B/16) and the
                    text transformer, with OpenAI's parameter names and shapes (openai/CLIP clip/model.py);
                    the same visual module under RegionCLIP's `backbone.` prefix, with FrozenBN.
  d2_modules.py     detectron2's MSRA ResNet-50 (FrozenBN, stride in the 1x1 conv), FPN (P6 = max-pool k1 s2)
                    and StandardRPNHead, FPN and C4 variants (detectron2 modeling/backbone/{resnet,fpn}.py,
                    proposal_generator/rpn.py).
  checkpoints.py    reading the containers (TorchScript archive, {"model": state_dict}), prefixes, inferring
                    the architecture from tensor shapes (as CLIP's build_model does), strict loading whose
                    errors name the key.
  graphs.py         ONNX export of each graph and its manifest entry.
  manifests.py      the manifest blocks (preprocessing of each branch, RPN settings, files and hashes).
  fakes.py          random checkpoints of identical structure, for tests and benchmarks.
  reference.py      torch-eager reference outputs of a converted folder's graphs, for parity checks.
  zero_shot.py      RegionCLIP's whole zero-shot inference on the torch modules (reference_zero_shot.py), for the
                    pipeline parity of a converted folder.
  hf_layout.py      the transformers.js / Hugging Face ONNX folder layout (export_openai_clip.py --layout transformers.js).

No upstream code is copied: the modules are written here with the upstream parameter names, and the
fixtures/real-weights-keys/*.tsv key lists (facts about the upstream checkpoints) pin those names.
"""
