#!/usr/bin/env bash
# The GPU run behind the bundled headlight-small: the CPU recipe (train_small.py's defaults) with seed 0, and with
# seeds 1 and 2 to check that the phase change is not luck, trained side by side; each run's picked checkpoints (float32) and its log come back.
# usage: OUT=folder bash device_small.sh   (needs work/corpus.u16 and work/mini-ordinary-ids.json)
set -uo pipefail
cd "$(dirname "$0")"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1
RUNS=("s0:SEED=0" "s1:SEED=1" "s2:SEED=2")   # train_small.py's defaults are the recipe
for r in "${RUNS[@]}"; do
  n=${r%%:*}; rm -rf "work/cand-$n-ckpt"
  env RUN="cand-$n" ${r#*:} $PY train_small.py 8 "${STEPS:-4000}" > "work/cand-$n.out" 2>&1 &
done
wait
for r in "${RUNS[@]}"; do
  n=${r%%:*}
  $PY - "$n" <<'PY'
import json, sys, torch
from pick_small import pick
n = sys.argv[1]; meta = json.load(open(f"work/cand-{n}-log.json"))
picks, cross, top = pick(meta["log"])
print(n, picks, cross, top, "textLoss", meta["log"][-1]["textLoss"])
out = __import__("os").environ["OUT"]
json.dump({"meta": meta, "picks": picks}, open(f"{out}/cand-{n}.json", "w"))
for st in set(picks.values()) if n == "s0" else []:   # seed 0's weights, float32, a file per checkpoint (export_small.py PACK=.../cand-s0)
    torch.save(torch.load(f"work/cand-{n}-ckpt/step-{st:05d}.pt"), f"{out}/cand-{n}-step-{st}.pt")
PY
done
