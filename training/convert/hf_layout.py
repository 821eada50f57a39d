"""A converted CLIP in the transformers.js / Hugging Face ONNX layout (export_openai_clip.py --layout transformers.js),
the layout src/models/hf-layout.ts reads and compose_detector.py --clip takes:

  onnx/text_model.onnx       input_ids [B, L] -> text_embeds [B, D]   (L free, <= 77, as Hugging Face exports it)
  onnx/vision_model.onnx     pixel_values [B, 3, S, S] -> image_embeds [B, D]
  config.json                model_type "clip", projection_dim D, text_config / vision_config sizes
  preprocessor_config.json   CLIPImageProcessor: shortest edge S (bicubic, resample 3), centre crop S x S, CLIP mean / std
  vocab.json, merges.txt     (written by tokenizer_files)

No manifest: the files carry no hashes (as downloaded transformers.js folders do).
"""
import os

from . import graphs
from .manifests import CLIP_MEAN, CLIP_STD, write_json


def write_configs(out, name, vconf, text):
    S, D = vconf["input_resolution"], vconf["output_dim"]
    vision = {"image_size": S, "hidden_size": vconf["width"], "num_hidden_layers": vconf.get("layers"), "patch_size": vconf.get("patch_size")}
    width = text.ln_final.weight.shape[0]
    write_json(os.path.join(out, "config.json"), {
        "_name_or_path": name, "model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": D,
        "text_config": {"hidden_size": width, "num_hidden_layers": len(text.transformer.resblocks), "vocab_size": text.token_embedding.weight.shape[0],
                        "max_position_embeddings": text.positional_embedding.shape[0], "projection_dim": D},
        "vision_config": {k: v for k, v in vision.items() if v is not None},
    })
    write_json(os.path.join(out, "preprocessor_config.json"), {
        "image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": S}, "resample": 3,
        "do_center_crop": True, "crop_size": {"height": S, "width": S}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "do_convert_rgb": True,
    })


def export(out, name, visual, vconf, text, dtype):
    """Both towers under onnx/ plus the two configs; returns the written files."""
    onnx_dir = os.path.join(out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    graphs.export_text(text, onnx_dir, dtype)
    graphs.export_vision(visual, onnx_dir, vconf["input_resolution"], vconf["output_dim"], dtype)
    write_configs(out, name, vconf, text)
    return ["onnx/text_model.onnx", "onnx/vision_model.onnx", "config.json", "preprocessor_config.json", "vocab.json", "merges.txt"]
