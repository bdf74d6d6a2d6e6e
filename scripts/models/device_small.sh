#!/usr/bin/env bash
# The GPU run behind the bundled headlight-small: the CPU recipe's settings (build-all.sh) with seed 0, and with
# seeds 1 and 2 to check that the phase change is not luck, trained side by side; each run's picked checkpoints (float32) and its log come back.
# usage: OUT=folder bash device_small.sh   (needs work/corpus.u16 and work/mini-ordinary-ids.json)
set -uo pipefail
cd "$(dirname "$0")"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1
BASE="AUG=0.5 LOW_IDS=512 PMAX=63"
RECIPE="$BASE LOW_UNTIL=2500 SHORT_UNTIL=2500 AUG_LONG=0.25"   # build-all.sh's settings
RUNS=("s0:$RECIPE SEED=0" "s1:$RECIPE SEED=1" "s2:$RECIPE SEED=2")
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
