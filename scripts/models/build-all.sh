#!/usr/bin/env bash
# Rebuilds every bundled model in media/models from this machine's Debian packages (npm run models).
# Fixed seeds throughout; training is capped by steps (same batches on any machine) and by minutes.
# Takes ~30-45 minutes on 2 idle cores (longer when they are shared) for headlight-mini and tiny-bert, ~85 for
# headlight-small (`npm run models -- small` alone: 102.9 minutes measured, partly on shared cores), plus ~25 for
# the answer-key fixtures. Scratch output goes to scripts/models/work/ (git-ignored).
# usage: build-all.sh [all|small]   (npm run models -- small: headlight-small alone, from headlight-mini's
# committed tokenizer; it resumes a stopped training run: SMALL_FRESH=1 starts over)
set -euo pipefail
cd "$(dirname "$0")"
TARGET=${1:-all}
PY=/usr/bin/python3                      # Debian's python (the pyenv python3 on PATH lacks torch/onnx)
export OPENBLAS_NUM_THREADS=1 ORT_DISABLE_TELEMETRY=1   # 2 cores are shared: one thread each
# The committed headlight-mini was trained in three legs on a contended machine: 1,948 steps, then continued
# from that checkpoint with a fresh optimizer (seed + 1) to 3,972 steps (repeated rows of ids < 512), then a third
# leg (seed + 2, fresh optimizer warmed up over 100 steps) to MINI_STEPS with repeated rows drawn from the
# tokenizer's ordinary ids (the ids Headlight's repeat probe draws), so the induction heads work on any token.
# Step caps reproduce every leg. MINI_FROM_ONNX=1 skips legs 1-2: their weights are recovered from the ONNX files
# committed before the checkpoints stopped shipping (checkpoint step-03972 at onnx_weights.FLOAT32_COMMIT, read
# from git) by mini_from_onnx.py, which checks them against the cards.
MINI_LEG1=1948
MINI_LEG2=3972
MINI_STEPS=${MINI_STEPS:-4500}
MINI_MINUTES=${MINI_MINUTES:-120}         # safety cap only (total over the legs); the step caps decide
# headlight-small (train_small.py, whose defaults are the recipe): 4 layers x 4 heads, d 128, 4,000 steps of 4,096
# tokens. Repeats are drawn from the ordinary ids below 512 for the first 2,500 steps (128-token windows, half the
# rows repeated), then from every ordinary id (256-token windows, a quarter of the rows): without the frequent-id
# start no induction head formed in 8,000 steps (scripts/models/sweep_small.sh). The GPU run of the same recipe
# (device_small.sh) formed one with seeds 0, 1 and 2.
SMALL_STEPS=${SMALL_STEPS:-4000}
SMALL_MINUTES=${SMALL_MINUTES:-240}       # safety cap only; a run stopped by it resumes when started again
BERT_STEPS=${BERT_STEPS:-461}
BERT_MINUTES=${BERT_MINUTES:-5}
t0=$(date +%s)
lap() { echo "== $1 ($(( $(date +%s) - t0 )) s elapsed)"; }

lap "system packages"
missing=()
for p in python3-torch python3-onnx python3-numpy libopenblas0-pthread; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update && apt-get install -y "${missing[@]}"
fi
node -e "require('onnxruntime-node'); require('tokenizers'); require('onnx-proto')" \
  || { echo "npm dependencies missing: run npm ci first" >&2; exit 1; }

small() {
  lap "headlight-small training"
  [[ -f work/corpus.u16 ]] || node encode.js ../../media/models/headlight-mini/tokenizer.json work/corpus.txt work/corpus.u16
  npx tsx ordinary_ids.ts ../../media/models/headlight-mini/tokenizer.json > work/mini-ordinary-ids.json
  [[ -n "${SMALL_FRESH:-}" ]] && rm -rf work/small-ckpt
  RUN=small THREADS=2 $PY train_small.py "$SMALL_MINUTES" "$SMALL_STEPS" | tee work/train-small.out
  lap "headlight-small export + checkpoints"
  $PY export_small.py
  node onnx_scores.js ../../media/models/headlight-small/model.onnx ../../media/models/headlight-small/card.json
  for d in ../../media/models/headlight-small/checkpoints/step-*/; do
    if [[ -f "$d/model.onnx" ]]; then node onnx_scores.js "$d/model.onnx" "$d/card.json"; fi
  done
}

lap "corpus"
$PY corpus.py
if [[ "$TARGET" == small ]]; then
  small
  du -sh ../../media/models
  lap "done"
  exit 0
fi

lap "planted (by construction)"
$PY planted.py
node onnx_scores.js ../../media/models/planted/model.onnx ../../media/models/planted/card.json \
  --reference ../../media/models/planted/reference.json
$PY planted_effects.py                   # PyTorch answer key for head-ablation effects

lap "headlight-mini tokenizer + corpus encoding"
$PY bpe_train.py work/corpus.txt 2048 ../../media/models/headlight-mini/tokenizer.json
node encode.js ../../media/models/headlight-mini/tokenizer.json work/corpus.txt work/corpus.u16

lap "headlight-mini training"
rm -rf work/mini-ckpt
npx tsx ordinary_ids.ts ../../media/models/headlight-mini/tokenizer.json > work/mini-ordinary-ids.json
if [[ -n "${MINI_FROM_ONNX:-}" ]]; then
  $PY mini_from_onnx.py | tee work/train-mini.out
else
  $PY train_mini.py "$MINI_MINUTES" "$MINI_LEG1" | tee work/train-mini.out
  CONTINUE=1 $PY train_mini.py "$MINI_MINUTES" "$MINI_LEG2" | tee -a work/train-mini.out
fi
CONTINUE=1 LEG_SEED=2 LEG_WARMUP=1 SYN_IDS=work/mini-ordinary-ids.json \
  $PY train_mini.py "$MINI_MINUTES" "$MINI_STEPS" | tee -a work/train-mini.out

lap "headlight-mini export (+ checkpoints, not shipped: work/headlight-mini-checkpoints/)"
ORDINARY_IDS=work/mini-ordinary-ids.json $PY export_mini.py
node onnx_scores.js ../../media/models/headlight-mini/model.onnx ../../media/models/headlight-mini/card.json
for d in work/headlight-mini-checkpoints/step-*/; do
  node onnx_scores.js "$d/model.onnx" "$d/card.json"
done
# float16 weights behind a Cast (half the download), each file checked against its float32 PyTorch reference
$PY fp16.py headlight-mini

small

lap "tiny-bert tokenizer + training"
$PY wordpiece_train.py work/corpus.txt 2048 ../../media/models/tiny-bert/tokenizer.json
node encode.js ../../media/models/tiny-bert/tokenizer.json work/corpus.txt work/corpus-wp.u16
$PY bert.py "$BERT_MINUTES" "$BERT_STEPS"
node onnx_scores.js ../../media/models/tiny-bert/model.onnx ../../media/models/tiny-bert/card.json
$PY fp16.py tiny-bert

lap "answer-key fixtures (test/fixtures/answer-key: trained byte models + their PyTorch answer key)"
# Not bundled: test fixtures for test/unit/analysis/answerKey.test.ts. Each model trains from scratch up to
# its step cap (the steps the committed fixture was trained for; the minute cap is a safety net only), then
# train_bytes.py exports it, measures the answer key in PyTorch and writes card.json; check_bytes.js checks
# tokenizer, logits and attention with onnxruntime-node. Took 25 minutes here (12.0 + 12.0 min of training on 2 shared cores, under a minute to export, key and check).
rm -rf work/bytes
STEPS_P128=${BYTES_P128_STEPS:-1609} STEPS_P64=${BYTES_P64_STEPS:-2615} $PY train_bytes.py all "${BYTES_MINUTES:-60}" | tee work/train-bytes.out
for d in ../../test/fixtures/answer-key/*/; do
  node check_bytes.js "$d" "work/bytes/$(basename "$d")/reference.json"
done

du -sh ../../media/models
lap "done"
