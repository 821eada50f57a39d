#!/usr/bin/env bash
# Captures the outputs of detect, classify, mine, eval on fixtures into $1 (timings stripped).
# Usage: tools/capture-outputs.sh OUTDIR (after npm run build), then diff -r two such folders: a refactor leaves them
# identical. Timings, rates and progress bars are stripped; everything else (JSON, COCO, PNG, JSONL, eval tables) is kept.
set -u
OUTDIR=$(realpath -m "$1"); rm -rf "$OUTDIR"; mkdir -p "$OUTDIR"
cd "$(dirname "$0")/.."
R="node dist/cli/main.js"
strip() { node -e 'const fs=require("fs");const t=fs.readFileSync(0,"utf8");try{const j=JSON.parse(t);const s=(o)=>{if(Array.isArray(o))return o.map(s);if(o&&typeof o==="object"){const r={};for(const[k,v]of Object.entries(o)){if(k==="timings"||k==="elapsedMs"||k==="ms")continue;r[k]=s(v)}return r}return o};process.stdout.write(JSON.stringify(s(j),null,1))}catch(e){process.stdout.write(t)}'; }
W=fixtures/world
M=fixtures/models
i=0
run() { i=$((i+1)); local name=$1; shift; "$@" > "$OUTDIR/$name.out" 2> "$OUTDIR/$name.err"; echo "rc=$?" >> "$OUTDIR/$name.out"; sed -i -E 's/[0-9]+\.[0-9]+ s\b/X s/g; s/[0-9.]+ ?(ms|img\/s|images\/s)/X \1/g; /[█░]/d' "$OUTDIR/$name.err"; }
run d1 $R detect $W/images/000020.jpg --vocab "bicycle,sled" --json $OUTDIR/d1.json --coco $OUTDIR/d1.coco.json --save $OUTDIR/d1.png --no-cache
run d1p $R detect $W/images/000020.jpg --vocab "bicycle,sled" --no-cache
run d2 $R detect $W/images --vocab "bicycle,dog,knife,couch,monkey,fuel pump,sled" --json $OUTDIR/d2.json --coco $OUTDIR/d2.coco.json --coco-gt $W/gt.json --no-cache --pipeline regionclip-zero-shot
run d3 $R detect fixtures/images/shapes.png --vocab "red square,blue circle" --model $M/tiny-detector-features --json $OUTDIR/d3.json --no-cache --conf 0.01 --templates single
run d4 $R detect fixtures/images/shapes.png --vocab "red square,blue circle" --model $M/tiny-detector-crop --json $OUTDIR/d4.json --no-cache --conf 0.01 --set detect.contextScale=1.2
echo '[[10,10,60,60],[0,0,100,80]]' > $OUTDIR/boxes.json
run d5 $R detect $W/images/000020.jpg --vocab "bicycle,sled,dog" --boxes $OUTDIR/boxes.json --json $OUTDIR/d5.json --no-cache
run d6 $R detect $W/images/000020.jpg --vocab "bicycle" --conf 2 --no-cache
run d7 $R detect $W/images/000020.jpg --vocab "bicycle" --set detect.scoreTreshold=0.3 --no-cache
run d8 $R detect $W/images/000020.jpg --vocab "bicycle" --iou 0.4 --max-det 3 --proposals 50 --no-cache --json -
run c1 $R classify $W/singles --labels "sloth,dog,locked,cat,bicycle" --json $OUTDIR/c1.json --no-cache
run c2 $R classify $W/singles/000000.jpg $W/singles/000001.jpg --labels "sloth,dog,locked" --templates ensemble --no-cache
run c3 $R classify fixtures/images/shapes.png --labels "red,blue" --model $M/tiny-clip --no-cache --json -
run m1 $R mine $W/captions.jsonl --out $OUTDIR/m1.jsonl --coco $OUTDIR/m1.coco.json --no-cache
run m2 $R mine $W/captions.jsonl --out $OUTDIR/m2.jsonl --concepts $W/labels.txt --no-cache --proposals 50
run m3 $R mine $W/captions.jsonl --out $OUTDIR/m3.jsonl --thresh 5 --no-cache
run e1 $R eval --gt $W/gt.json --results $OUTDIR/d2.coco.json
echo '{"novel": ["bicycle", "dog"], "base": ["knife", "couch", "monkey", "fuel pump", "sled"]}' > $OUTDIR/split.json
run e2 $R eval --gt $W/gt.json --results $OUTDIR/d2.coco.json --split $OUTDIR/split.json --json
run e3 $R eval --gt $W/gt.json --results $OUTDIR/d2.coco.json --per-category
for f in $OUTDIR/*.json; do strip < $f > $f.s && mv $f.s $f; done
for f in $OUTDIR/*.out; do head -c 0 $f; done
# strip timings in --json - outputs embedded in .out
for f in $OUTDIR/d8.out $OUTDIR/c3.out; do sed -i -E 's/"timings":\{[^}]*\}//g' $f; done
sed -i -E 's/"(elapsed|seconds|ms)":[0-9.]+//g' $OUTDIR/m*.jsonl 2>/dev/null
echo ok
