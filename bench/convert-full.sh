#!/usr/bin/env bash
# The four converter sources at full size with random weights (training/make_fake_checkpoints.py --size full):
# OpenAI RN50 (split, --rpn-from), RegionCLIP RN50 pretrained (FPN RPN), RegionCLIP RN50 finetuned (C4 RPN + box
# deltas), OpenAI ViT-B/32 in the transformers.js layout composed with the pretrained RPN (crop mode). Generates,
# converts, runs the PyTorch reference (training/reference_zero_shot.py), then bench/convert-full.ts compares and
# times `detect` and prints one table. Writes under WORK (default /tmp/cvfull, ~4 GB); one job at a time on 2 cores
# (about half an hour).
#
#   bash bench/convert-full.sh [WORK]          TOKENIZER_DIR: a 49 408-token vocab.json + merges.txt
#                                              (default ../shared/golden/clip-tokenizer); RUNS: timed detects (3)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-/tmp/cvfull}"
TOK="${TOKENIZER_DIR:-$ROOT/../shared/golden/clip-tokenizer}"
IMAGE="$ROOT/fixtures/images/shapes.png"
PY=/usr/bin/python3
mkdir -p "$WORK"
cd "$ROOT/training"
declare -A GEN CONV REF LABEL
now() { date +%s.%N; }
timed() { local t0; t0=$(now); "$@" > "$WORK/last.log" 2>&1 || { cat "$WORK/last.log"; exit 1; }; echo "$(now) - $t0" | bc; }

echo "generating fakes in $WORK ..." >&2
GEN[oai-rn]=$(timed $PY make_fake_checkpoints.py --kind openai-jit --size full --arch RN50 --out "$WORK/RN50.pt")
GEN[vit-rpn]=$(timed $PY make_fake_checkpoints.py --kind openai-jit --size full --arch ViT-B/32 --out "$WORK/ViT-B-32.pt")
GEN[rc-pre]=$(timed $PY make_fake_checkpoints.py --kind regionclip-pretrained --size full --out "$WORK/pretrained-rn50.pth")
GEN[rc-fine]=$(timed $PY make_fake_checkpoints.py --kind regionclip-finetuned --size full --out "$WORK/finetuned-rn50.pth")

echo "converting ..." >&2
CONV[rc-pre]=$(timed $PY export_regionclip.py --checkpoint "$WORK/pretrained-rn50.pth" --tokenizer-dir "$TOK" --out "$WORK/rc-pre")
CONV[rc-fine]=$(timed $PY export_regionclip.py --checkpoint "$WORK/finetuned-rn50.pth" --text-checkpoint "$WORK/RN50.pt" --tokenizer-dir "$TOK" --out "$WORK/rc-fine")
CONV[oai-rn]=$(timed $PY export_openai_clip.py --checkpoint "$WORK/RN50.pt" --tokenizer-dir "$TOK" --out "$WORK/oai-rn" --split --rpn-from "$WORK/rc-pre")
t_hf=$(timed $PY export_openai_clip.py --checkpoint "$WORK/ViT-B-32.pt" --tokenizer-dir "$TOK" --out "$WORK/hf-vit" --layout transformers.js)
t_compose=$(timed $PY compose_detector.py --clip "$WORK/hf-vit" --rpn-from "$WORK/rc-pre" --out "$WORK/vit-rpn")
CONV[vit-rpn]=$(echo "$t_hf + $t_compose" | bc)

cat > "$WORK/settings.json" <<'JSON'
{"proposals": {"postNmsTopK": 1000, "nmsThreshold": 0.9},
 "text": {"templates": "ensemble", "ensemble": "average-normalize", "articles": false},
 "detect": {"scoreThreshold": 0.001, "iouThreshold": 0.5, "maxDetections": 100, "fusion": "none", "distractors": "none"}}
JSON
LABEL[oai-rn]="OpenAI RN50 split + --rpn-from (features)"
LABEL[rc-pre]="RegionCLIP RN50 pretrained, FPN RPN (features)"
LABEL[rc-fine]="RegionCLIP RN50 finetuned, C4 RPN + box deltas (features)"
LABEL[vit-rpn]="transformers.js ViT-B/32 + RPN (crop)"
declare -A SRC=(
  [oai-rn]="--checkpoint $WORK/RN50.pt --rpn-checkpoint $WORK/pretrained-rn50.pth"
  [rc-pre]="--checkpoint $WORK/pretrained-rn50.pth"
  [rc-fine]="--checkpoint $WORK/finetuned-rn50.pth --text-checkpoint $WORK/RN50.pt"
  [vit-rpn]="--checkpoint $WORK/ViT-B-32.pt --rpn-checkpoint $WORK/pretrained-rn50.pth"
)
echo "PyTorch references ..." >&2
for k in oai-rn rc-pre rc-fine vit-rpn; do
  # shellcheck disable=SC2086
  REF[$k]=$(timed $PY reference_zero_shot.py --model "$WORK/$k" ${SRC[$k]} --image "$IMAGE" --vocab square,circle --settings "$WORK/settings.json" --out "$WORK/$k.ref.json")
  tail -1 "$WORK/last.log" >&2
done
{
  echo "{"
  sep=""
  for k in oai-rn rc-pre rc-fine vit-rpn; do
    printf '%s"%s": {"label": "%s", "generate": %s, "convert": %s, "reference": %s, "bytes": %s}\n' "$sep" "$k" "${LABEL[$k]}" "${GEN[$k]}" "${CONV[$k]}" "${REF[$k]}" "$(du -sbL "$WORK/$k" | cut -f1)"
    sep=","
  done
  echo "}"
} > "$WORK/times.json"
cd "$ROOT"
echo "Node: parity and detect times ..." >&2
npx tsx bench/convert-full.ts "$WORK" "$IMAGE"
